// Package googlesql translates the GoogleSQL that hiring-pipeline writes into
// DuckDB SQL with the same meaning. It understands a deliberate subset: what
// it does not understand it refuses with an error naming the construct, so
// that the emulator never answers a query differently from BigQuery.
package googlesql

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokenKind int

const (
	tokIdent      tokenKind = iota // unquoted identifier or keyword
	tokQuoted                      // `backquoted` identifier; text is unescaped
	tokString                      // string literal; text is the decoded value
	tokNumber                      // numeric literal, as written
	tokParam                       // @name; text is the name
	tokPositional                  // ?
	tokPunct                       // operator or punctuation
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the source, for messages
}

// upper returns the identifier in upper case, for keyword comparisons.
func (t token) upper() string {
	if t.kind != tokIdent {
		return ""
	}
	return strings.ToUpper(t.text)
}

func (t token) is(keyword string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, keyword)
}

func (t token) isPunct(p string) bool { return t.kind == tokPunct && t.text == p }

// Error is a query the translator refuses: a syntax error, or a construct the
// emulator does not support (Unsupported).
type Error struct {
	Message     string
	Unsupported bool
}

func (e *Error) Error() string { return e.Message }

func syntaxError(pos int, format string, args ...any) error {
	return &Error{Message: fmt.Sprintf("Syntax error: "+format+" at [offset %d]", append(args, pos)...)}
}

func unsupported(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...) + " is not supported by the emulator", Unsupported: true}
}

// multi-character operators, longest first.
var operators = []string{"<>", "!=", "<=", ">=", "||", "<<", ">>", "=>"}

const singlePunct = "(),.;*=<>+-/%&|^~[]{}:"

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(src[i:], "--")):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				i = len(src)
			} else {
				i += end + 1
			}
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, syntaxError(i, "unclosed comment")
			}
			i += 2 + end + 2
		case c == '`':
			text, n, err := lexQuoted(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokQuoted, text: text, pos: i})
			i += n
		case c == '\'' || c == '"':
			text, n, err := lexString(src, i, false)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, text: text, pos: i})
			i += n
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			word := src[i:j]
			if j < len(src) && (src[j] == '\'' || src[j] == '"') && isStringPrefix(word) {
				lw := strings.ToLower(word)
				if strings.Contains(lw, "b") {
					return nil, unsupported("BYTES literal %s", word)
				}
				text, n, err := lexString(src, j, true)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tokString, text: text, pos: i})
				i = j + n
				continue
			}
			toks = append(toks, token{kind: tokIdent, text: word, pos: i})
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9'):
			n := lexNumber(src[i:])
			toks = append(toks, token{kind: tokNumber, text: src[i : i+n], pos: i})
			i += n
		case c == '@':
			if strings.HasPrefix(src[i:], "@@") {
				return nil, unsupported("system variable %s", identAt(src, i+2))
			}
			j := i + 1
			if j < len(src) && src[j] == '`' {
				text, n, err := lexQuoted(src, j)
				if err != nil {
					return nil, err
				}
				toks = append(toks, token{kind: tokParam, text: text, pos: i})
				i = j + n
				continue
			}
			name := identAt(src, j)
			if name == "" {
				return nil, syntaxError(i, "expected a parameter name after @")
			}
			toks = append(toks, token{kind: tokParam, text: name, pos: i})
			i = j + len(name)
		case c == '?':
			toks = append(toks, token{kind: tokPositional, text: "?", pos: i})
			i++
		default:
			op := ""
			for _, o := range operators {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" && strings.IndexByte(singlePunct, c) >= 0 {
				op = string(c)
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, syntaxError(i, "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tokPunct, text: op, pos: i})
			i += len(op)
		}
	}
	return toks, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func identAt(src string, i int) string {
	j := i
	for j < len(src) && isIdentPart(src[j]) {
		j++
	}
	if j == i || !isIdentStart(src[i]) {
		return ""
	}
	return src[i:j]
}

func isStringPrefix(word string) bool {
	switch strings.ToLower(word) {
	case "r", "b", "rb", "br":
		return true
	}
	return false
}

func lexNumber(s string) int {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n := 2
		for n < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[n]) >= 0 {
			n++
		}
		return n
	}
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.') {
		n++
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && s[m] >= '0' && s[m] <= '9' {
			for m < len(s) && s[m] >= '0' && s[m] <= '9' {
				m++
			}
			n = m
		}
	}
	return n
}

// lexQuoted reads a `backquoted` identifier at src[i] and returns its
// unescaped text and length in the source.
func lexQuoted(src string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		switch src[j] {
		case '`':
			if b.Len() == 0 {
				return "", 0, syntaxError(i, "empty quoted identifier")
			}
			return b.String(), j + 1 - i, nil
		case '\\':
			r, n, err := unescape(src, j)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(r)
			j += n
		default:
			b.WriteByte(src[j])
			j++
		}
	}
	return "", 0, syntaxError(i, "unclosed quoted identifier")
}

// lexString reads a string literal at src[i] (after any r/b prefix), single,
// double or triple quoted, and returns its value and length in the source.
func lexString(src string, i int, raw bool) (string, int, error) {
	q := src[i : i+1]
	if strings.HasPrefix(src[i:], q+q+q) {
		q = q + q + q
	}
	var b strings.Builder
	j := i + len(q)
	for j < len(src) {
		if strings.HasPrefix(src[j:], q) {
			return b.String(), j + len(q) - i, nil
		}
		c := src[j]
		if len(q) == 1 && (c == '\n' || c == '\r') {
			return "", 0, syntaxError(i, "unclosed string literal")
		}
		if c == '\\' {
			if raw {
				if j+1 < len(src) {
					b.WriteString(src[j : j+2])
					j += 2
					continue
				}
				return "", 0, syntaxError(i, "unclosed string literal")
			}
			r, n, err := unescape(src, j)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(r)
			j += n
			continue
		}
		b.WriteByte(c)
		j++
	}
	return "", 0, syntaxError(i, "unclosed string literal")
}

// unescape decodes the escape sequence at src[i] (a backslash).
func unescape(src string, i int) (string, int, error) {
	if i+1 >= len(src) {
		return "", 0, syntaxError(i, "incomplete escape sequence")
	}
	switch c := src[i+1]; c {
	case 'a':
		return "\a", 2, nil
	case 'b':
		return "\b", 2, nil
	case 'f':
		return "\f", 2, nil
	case 'n':
		return "\n", 2, nil
	case 'r':
		return "\r", 2, nil
	case 't':
		return "\t", 2, nil
	case 'v':
		return "\v", 2, nil
	case '\\', '?', '"', '\'', '`':
		return string(c), 2, nil
	case 'x', 'X':
		return hexEscape(src, i, 2, 2)
	case 'u':
		return hexEscape(src, i, 2, 4)
	case 'U':
		return hexEscape(src, i, 2, 8)
	default:
		if c >= '0' && c <= '7' && i+4 <= len(src) {
			v, err := strconv.ParseUint(src[i+1:i+4], 8, 8)
			if err == nil {
				return string(rune(v)), 4, nil
			}
		}
		return "", 0, syntaxError(i, "illegal escape sequence \\%c", c)
	}
}

func hexEscape(src string, i, skip, digits int) (string, int, error) {
	start := i + skip
	if start+digits > len(src) {
		return "", 0, syntaxError(i, "incomplete escape sequence")
	}
	v, err := strconv.ParseUint(src[start:start+digits], 16, 32)
	if err != nil || !utf8.ValidRune(rune(v)) {
		return "", 0, syntaxError(i, "illegal escape sequence %s", src[i:start+digits])
	}
	return string(rune(v)), skip + digits, nil
}
