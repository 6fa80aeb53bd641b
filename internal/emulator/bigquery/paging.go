package bigquery

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// Page tokens are opaque to clients: an offset, encoded.
const tokenPrefix = "offset:"

func encodeToken(offset int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatInt(offset, 10)))
}

func decodeToken(token string) (int64, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(data), tokenPrefix); ok {
			if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n >= 0 {
				return n, nil
			}
		}
	}
	return 0, errInvalid("Invalid page token: %s", token)
}

// pageRequest is the paging of a list call: maxResults, pageToken and
// startIndex. Size is -1 when maxResults is absent.
type pageRequest struct {
	Offset int64
	Size   int64
}

func parsePageRequest(r *http.Request) (pageRequest, error) {
	q := r.URL.Query()
	p := pageRequest{Size: -1}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, errInvalid("Invalid value for maxResults: %s", v)
		}
		p.Size = n
	}
	if v := q.Get("startIndex"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return p, errInvalid("Invalid value for startIndex: %s", v)
		}
		p.Offset = n
	}
	if v := q.Get("pageToken"); v != "" {
		n, err := decodeToken(v)
		if err != nil {
			return p, err
		}
		p.Offset = n
	}
	return p, nil
}

// pageBounds pages a list of total items held in memory.
func pageBounds(r *http.Request, total, defaultSize int) (start, end int, next string, err error) {
	p, err := parsePageRequest(r)
	if err != nil {
		return 0, 0, "", err
	}
	size := int64(defaultSize)
	if p.Size > 0 {
		size = p.Size
	}
	start = int(min(p.Offset, int64(total)))
	end = int(min(int64(start)+size, int64(total)))
	if end < total {
		next = encodeToken(int64(end))
	}
	return start, end, next, nil
}
