// Package httpapi writes the answers of the HTTP functions: JSON bodies and
// RFC 9457 problem details, buffered, typed and with nosniff.
package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem detail with the project's machine-readable
// code.
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
	// Errors lists the refused rows, when the problem is about rows.
	Errors any `json:"errors,omitempty"`
}

// ProblemType returns the type URI of a problem code.
func ProblemType(code string) string {
	return "https://github.com/hiring-pipeline/hiring-pipeline/blob/main/README.md#" + code
}

// Answer is an answer rendered before it is written: its status, media
// type and body. An answer can be written now, or kept and written again
// byte for byte (an idempotent replay).
type Answer struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

// Render renders v as a JSON answer with status. A value that does not
// encode renders as a 500 problem, so that no half answer is ever sent.
func Render(status int, v any) Answer {
	return render(status, "application/json", v)
}

// RenderProblem renders a problem detail as application/problem+json.
func RenderProblem(p Problem) Answer {
	if p.Type == "" {
		p.Type = ProblemType(p.Code)
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	return render(p.Status, "application/problem+json", p)
}

func render(status int, contentType string, v any) Answer {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Answer{http.StatusInternalServerError, "application/problem+json",
			[]byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}` + "\n")}
	}
	return Answer{status, contentType, buf.Bytes()}
}

// Write writes the answer with its Content-Type and nosniff, after any
// header the caller has set.
func (a Answer) Write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

// WriteJSON writes v as JSON with status. The body is encoded before
// anything is written, so that a failed encoding never sends half an answer.
func WriteJSON(w http.ResponseWriter, status int, v any) { Render(status, v).Write(w) }

// WriteProblem writes a problem detail as application/problem+json.
func WriteProblem(w http.ResponseWriter, p Problem) { RenderProblem(p).Write(w) }

// Error writes a problem with a status, a code and a detail.
func Error(w http.ResponseWriter, status int, code, detail string) {
	WriteProblem(w, Problem{Status: status, Code: code, Detail: detail})
}
