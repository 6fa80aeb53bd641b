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

// WriteJSON writes v as JSON with status. The body is encoded before
// anything is written, so that a failed encoding never sends half an answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	write(w, status, "application/json", v)
}

// WriteProblem writes a problem detail as application/problem+json.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = ProblemType(p.Code)
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	write(w, p.Status, "application/problem+json", p)
}

func write(w http.ResponseWriter, status int, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		buf.Reset()
		buf.WriteString(`{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Error writes a problem with a status, a code and a detail.
func Error(w http.ResponseWriter, status int, code, detail string) {
	WriteProblem(w, Problem{Status: status, Code: code, Detail: detail})
}
