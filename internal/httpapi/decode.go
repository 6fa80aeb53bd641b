package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ReadBody reads a request body of at most max bytes: a larger one is the
// 413 problem body_too_large.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "malformed_body", "the body could not be read to its end")
	}
	if int64(len(body)) > max {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than %d bytes", max)
	}
	return body, nil
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

// CheckJSON checks that data is exactly one JSON value, with no member twice
// in any object at any level, and nothing after it. Its error says where,
// as a path such as rows[3].name, and never quotes a value.
func CheckJSON(data []byte) error { return checkJSON(data, -1) }

// checkJSON is CheckJSON with duplicate members looked for in the objects
// of the first levels of nesting only (all of them when levels < 0).
func checkJSON(data []byte, levels int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := checkValue(dec, "the body", levels); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body has data after its JSON value")
	}
	return nil
}

func checkValue(dec *json.Decoder, path string, levels int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxProblem(dec, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return syntaxProblem(dec, err)
			}
			name, _ := tok.(string)
			if seen[name] && levels != 0 {
				return fmt.Errorf("%s has the member %s twice", path, strconv.Quote(name))
			}
			seen[name] = true
			if err := checkValue(dec, member(path, name), deeper(levels)); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, fmt.Sprintf("%s[%d]", path, i), deeper(levels)); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxProblem(dec, err)
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

func member(path, name string) string {
	if path == "the body" {
		return name
	}
	return path + "." + name
}

func syntaxProblem(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("the body ends before its JSON value does")
	}
	return fmt.Errorf("the body is not valid JSON at byte %d: %w", dec.InputOffset(), err)
}
