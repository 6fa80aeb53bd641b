package insert

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// scanner is a streaming JSON tokenizer over a body, kept in a pool. The
// body is read through a bytes.Buffer, which jsontext parses in place.
type scanner struct {
	r   bytes.Buffer
	dec *jsontext.Decoder
}

// scanOptions accept what encoding/json accepts inside rows: a member
// twice and invalid UTF-8, which ParseObjectValues refuses row by row.
var scanOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

var scanners = sync.Pool{New: func() any {
	s := &scanner{}
	s.dec = jsontext.NewDecoder(&s.r, scanOptions...)
	return s
}}

// plainJSON reads a body {"rows": [...]} of 1 to MaxRows rows that are all
// valid plain objects (see dictionary.Table.ScanObject), with nothing else
// in it, without a tokenizer: it answers as scanJSON does. It reports false
// for any other body, which scanJSON then reads. The items and their values
// are r's.
func plainJSON(t *dictionary.Table, body []byte, r *rows) bool {
	// The rows' strings share one copy of the body.
	text := string(body)
	i, ok := expect(text, 0, '{')
	if i = dictionary.SkipSpace(text, i); !ok || !strings.HasPrefix(text[i:], `"rows"`) {
		return false
	}
	if i, ok = expect(text, i+len(`"rows"`), ':'); !ok {
		return false
	}
	if i, ok = expect(text, i, '['); !ok {
		return false
	}
	for {
		if len(r.items) == MaxRows {
			return false
		}
		start := dictionary.SkipSpace(text, i)
		row := r.values()
		end, ok := t.ScanObject(text, start, row)
		if !ok {
			return false
		}
		r.items = append(r.items, item{raw: body[start:end:end], json: true, values: row})
		i = dictionary.SkipSpace(text, end)
		if i < len(text) && text[i] == ',' {
			i++
			continue
		}
		break
	}
	if i, ok = expect(text, i, ']'); !ok {
		return false
	}
	i, ok = expect(text, i, '}')
	return ok && dictionary.SkipSpace(text, i) == len(text)
}

// expect returns the index after c, the first byte at or after i that is not
// JSON white space; it reports false if that byte is not c.
func expect(s string, i int, c byte) (int, bool) {
	i = dictionary.SkipSpace(s, i)
	if i >= len(s) || s[i] != c {
		return 0, false
	}
	return i + 1, true
}

// scanJSON reads a body that is exactly {"rows": [...]} with 1 to MaxRows
// rows, nested at most httpapi.MaxJSONDepth deep, in one pass: it answers
// as parseJSONStrict does. It reports false for any other body, which
// parseJSONStrict then refuses with its precise reasons. The items and
// their values are r's.
func scanJSON(t *dictionary.Table, body []byte, r *rows) bool {
	s := scanners.Get().(*scanner)
	defer func() {
		s.r = bytes.Buffer{}
		s.dec.Reset(&s.r, scanOptions...)
		scanners.Put(s)
	}()
	s.r = *bytes.NewBuffer(body)
	s.dec.Reset(&s.r, scanOptions...)
	dec := s.dec
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '"' || tok.String() != "rows" {
		return false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return false
	}
	// The rows' strings share one copy of the body.
	text := string(body)
	for dec.PeekKind() != ']' {
		if len(r.items) == MaxRows {
			return false
		}
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		end := int(dec.InputOffset())
		start := end - len(v)
		raw := body[start:end]
		row := r.values()
		rerr := t.ParseObjectString(int64(len(r.items)), text[start:end], row)
		if rerr != nil {
			if depth(raw) > httpapi.MaxJSONDepth-2 {
				return false
			}
			row = nil
		}
		r.items = append(r.items, item{raw: raw, json: true, values: row, err: rerr})
	}
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return false
	}
	_, err := dec.ReadToken()
	return errors.Is(err, io.EOF) && len(r.items) > 0
}

// depth returns how deeply a valid JSON value nests arrays and objects.
func depth(raw []byte) int {
	d, deepest := 0, 0
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}
