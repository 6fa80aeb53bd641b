// Package httpapi is the one HTTP layer of the HTTP functions: handlers
// that return a value or an error, RFC 9457 problem details, the 404 and 405
// answers, the /openapi.json route, the strict JSON decoder and the CSV
// writer. Every answer is rendered before it is written, typed and with
// nosniff; a 5xx answer is always generic and carries an error_id that the
// ERROR log line with the full error carries too.
package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
)

// Problem is an RFC 9457 problem detail with the project's machine-readable
// code. It is also the error a handler returns to answer with it.
type Problem struct {
	// Type is a URI naming the kind of problem.
	Type string `json:"type"`
	// Title is a short summary of the kind of problem.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence.
	Detail string `json:"detail,omitempty"`
	// Code is the machine-readable code of the problem.
	Code string `json:"code"`
	// ErrorID, on a 5xx answer, names the log line that has the error.
	ErrorID string `json:"error_id,omitempty"`
	// Errors lists the refused rows, when the problem is about rows.
	Errors any `json:"errors,omitempty"`
	// header is sent with the answer (Allow, Retry-After).
	header http.Header
	// cause, of a 5xx problem, is the error that only the log shows.
	cause error
}

// Errorf returns a problem with a status, a code and a detail.
func Errorf(status int, code, format string, args ...any) *Problem {
	return &Problem{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Error returns the problem's code and detail, and its cause.
func (p *Problem) Error() string {
	if p.cause != nil {
		return p.Code + ": " + p.Detail + ": " + p.cause.Error()
	}
	return p.Code + ": " + p.Detail
}

// Unwrap returns the cause of a 5xx problem.
func (p *Problem) Unwrap() error { return p.cause }

// WithHeader returns p that also sends the header key: value.
func (p *Problem) WithHeader(key, value string) *Problem {
	q := *p
	q.header = q.header.Clone()
	if q.header == nil {
		q.header = http.Header{}
	}
	q.header.Set(key, value)
	return &q
}

// ProblemType returns the type URI of a problem code.
func ProblemType(code string) string {
	return "https://github.com/hiring-pipeline/hiring-pipeline/blob/main/README.md#" + code
}

// Answer is an answer rendered before it is written: its status, media
// type, body and extra headers. An answer can be written now, or kept and
// written again byte for byte (an idempotent replay).
type Answer struct {
	Status      int         `json:"status"`
	ContentType string      `json:"content_type"`
	Body        []byte      `json:"body"`
	Header      http.Header `json:"header,omitempty"`
}

// Render renders v as a JSON answer with status. A value that does not
// encode renders as a 500 problem, so that no half answer is ever sent.
func Render(status int, v any) Answer {
	return render(status, "application/json", v)
}

// RenderProblem renders a problem detail as application/problem+json.
func RenderProblem(p *Problem) Answer {
	q := *p
	if q.Type == "" {
		q.Type = ProblemType(q.Code)
	}
	if q.Title == "" {
		q.Title = http.StatusText(q.Status)
	}
	a := render(q.Status, "application/problem+json", q)
	a.Header = q.header
	return a
}

func render(status int, contentType string, v any) Answer {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Answer{Status: http.StatusInternalServerError, ContentType: "application/problem+json",
			Body: []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}` + "\n")}
	}
	return Answer{Status: status, ContentType: contentType, Body: buf.Bytes()}
}

// Write writes the answer with its headers, its Content-Type and nosniff,
// after any header the caller has set.
func (a Answer) Write(w http.ResponseWriter) {
	h := w.Header()
	maps.Copy(h, a.Header)
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
