package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ReadBody reads a request body of at most max bytes: a larger one is the
// 413 problem body_too_large.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	body, err := readAll(io.LimitReader(r.Body, max+1), min(max, r.ContentLength, maxPrealloc)+1)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "malformed_body", "the body could not be read to its end")
	}
	if int64(len(body)) > max {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than %d bytes", max)
	}
	return body, nil
}

// maxPrealloc bounds the buffer allocated for a body before its bytes
// arrive: a declared length alone does not cost more memory.
const maxPrealloc = 256 << 10

// readAll is io.ReadAll into a buffer of size bytes at first: the body's
// declared length, so that a body is read without growing its buffer.
func readAll(r io.Reader, size int64) ([]byte, error) {
	b := make([]byte, 0, max(size, 512))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// DecodeJSON decodes data into v strictly: it must be one JSON value with no
// member unknown to v, no member twice in any object at any level, and
// nothing after it. A refusal is the 400 problem malformed_body, whose
// detail says what and where.
func DecodeJSON(data []byte, v any) error { return DecodeJSONLevels(data, v, -1) }

// DecodeJSONLevels is DecodeJSON for a body whose values below the first
// levels of nesting v keeps as json.RawMessage, for a parser of its own
// that refuses their duplicate and unknown members with finer reasons (the
// rows of insert-rows, refused one by one). levels < 0 means every level.
func DecodeJSONLevels(data []byte, v any, levels int) error {
	if err := checkJSON(data, levels); err != nil {
		return Errorf(http.StatusBadRequest, "malformed_body", "%s", err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(http.StatusBadRequest, "malformed_body", "the body is not the expected JSON: %s", jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the body.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if where == "" {
			where = "the top level"
		}
		if strings.HasPrefix(te.Value, "number ") {
			// The decoder names the number itself; the detail never quotes the body.
			return fmt.Sprintf("%s is a number out of range (byte %d)", where, te.Offset)
		}
		return fmt.Sprintf("%s must be %s, not a JSON %s (byte %d)", where, jsonType(te.Type.Kind().String()), te.Value, te.Offset)
	}
	return err.Error()
}

func jsonType(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// MaxJSONDepth is how deep a JSON body may nest arrays and objects; a
// deeper one is refused before it costs memory or stack.
const MaxJSONDepth = 64

// checkJSON checks that data is exactly one JSON value, nested at most
// MaxJSONDepth deep, with no member twice in an object of the first levels
// of nesting (all of them when levels < 0), and nothing after it. Its
// error says where, as a path such as rows[3].name, and never quotes a
// value.
func checkJSON(data []byte, levels int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	c := checker{dec: dec}
	if err := c.value(levels); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body has data after its JSON value")
	}
	return nil
}

// checker walks a JSON value token by token; path holds where it is, one
// segment per level, formatted only for an error.
type checker struct {
	dec  *json.Decoder
	path []string
}

func (c *checker) where() string {
	if len(c.path) == 0 {
		return "the body"
	}
	return strings.TrimPrefix(strings.Join(c.path, ""), ".")
}

func (c *checker) value(levels int) error {
	tok, err := c.dec.Token()
	if err != nil {
		return syntaxProblem(c.dec, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if len(c.path) >= MaxJSONDepth {
		return fmt.Errorf("%s nests deeper than %d levels", c.where(), MaxJSONDepth)
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for c.dec.More() {
			tok, err := c.dec.Token()
			if err != nil {
				return syntaxProblem(c.dec, err)
			}
			name, _ := tok.(string)
			if seen[name] && levels != 0 {
				return fmt.Errorf("%s has the member %s twice", c.where(), strconv.Quote(name))
			}
			seen[name] = true
			c.path = append(c.path, "."+name)
			if err := c.value(deeper(levels)); err != nil {
				return err
			}
			c.path = c.path[:len(c.path)-1]
		}
	case '[':
		for i := 0; c.dec.More(); i++ {
			c.path = append(c.path, "["+strconv.Itoa(i)+"]")
			if err := c.value(deeper(levels)); err != nil {
				return err
			}
			c.path = c.path[:len(c.path)-1]
		}
	}
	if _, err := c.dec.Token(); err != nil {
		return syntaxProblem(c.dec, err)
	}
	return nil
}

// deeper returns the levels left one level down: every level stays every
// level, and none stays none.
func deeper(levels int) int {
	if levels > 0 {
		return levels - 1
	}
	return levels
}

func syntaxProblem(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the body ends before its JSON value does")
	}
	return fmt.Errorf("the body is not valid JSON at byte %d: %w", dec.InputOffset(), err)
}
