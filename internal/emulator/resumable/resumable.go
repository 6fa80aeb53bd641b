// Package resumable holds what the local BigQuery's and the local Cloud
// Storage's resumable uploads share: the Content-Range of a chunk, and the
// "resume incomplete" answer of Google's upload servers.
package resumable

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Range is a chunk's Content-Range: "bytes first-last/total", with total
// "*" while the upload's size is unknown, or "bytes */total" for a request
// that carries no bytes (a status query, or the end of an upload whose
// last chunk ended exactly at a chunk boundary).
type Range struct {
	// First and Last are the chunk's first and last bytes in the upload;
	// -1 when the request carries no bytes.
	First, Last int64
	// Total is the upload's size; -1 while unknown.
	Total int64
}

// ParseRange parses a Content-Range header, which must not be empty.
func ParseRange(h string) (Range, error) {
	invalid := fmt.Errorf("invalid Content-Range %q: want bytes first-last/total, bytes first-last/* or bytes */total", h)
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return Range{}, invalid
	}
	rng, total, ok := strings.Cut(spec, "/")
	if !ok {
		return Range{}, invalid
	}
	c := Range{First: -1, Last: -1, Total: -1}
	if total != "*" {
		t, err := strconv.ParseInt(total, 10, 64)
		if err != nil || t < 0 {
			return Range{}, invalid
		}
		c.Total = t
	}
	if rng == "*" {
		return c, nil
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return Range{}, invalid
	}
	f, err1 := strconv.ParseInt(first, 10, 64)
	l, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || f < 0 || l < f {
		return Range{}, invalid
	}
	c.First, c.Last = f, l
	return c, nil
}

// Incomplete answers "resume incomplete" with the bytes received so far in
// Range: a 308, or, when the client asks for no 308 as Go's does, a 200 with
// the 308 in X-Http-Status-Code-Override, as Google's upload servers answer.
func Incomplete(w http.ResponseWriter, r *http.Request, received int64) {
	if received > 0 {
		w.Header().Set("Range", "bytes=0-"+strconv.FormatInt(received-1, 10))
	}
	w.Header().Set("Content-Length", "0")
	if r.Header.Get("X-GUploader-No-308") == "yes" {
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusPermanentRedirect)
}
