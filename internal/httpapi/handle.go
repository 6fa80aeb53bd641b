package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/google/uuid"
)

// Internal is a failure that a retry would not fix: a 500 problem whose
// client sees a generic detail, and whose log line has err.
func Internal(err error) *Problem {
	return &Problem{Status: http.StatusInternalServerError, Code: "internal",
		Detail: "the request failed on the server; its logs have the error under error_id", cause: err}
}

// Unavailable is a failure that a retry may fix: a 503 problem with
// Retry-After, whose detail tells the client what to do, and whose log line
// has err.
func Unavailable(detail string, err error) *Problem {
	return (&Problem{Status: http.StatusServiceUnavailable, Code: "unavailable", Detail: detail, cause: err}).WithHeader("Retry-After", "1")
}

// ServerProblem is a 5xx problem with a code and a detail of its own, whose
// log line has err.
func ServerProblem(status int, code, detail string, err error) *Problem {
	return &Problem{Status: status, Code: code, Detail: detail, cause: err}
}

// Fail renders err as an answer. A 4xx *Problem answers as itself. Any
// other error answers a 5xx problem (its own, or a generic 500) with an
// error_id, which is logged at ERROR with the whole error and attrs; no
// internal text reaches the client.
func Fail(log *slog.Logger, err error, attrs ...any) Answer {
	var p *Problem
	if !errors.As(err, &p) {
		p = Internal(err)
	}
	if p.Status < 500 {
		return RenderProblem(p)
	}
	q := *p
	q.ErrorID = uuid.NewString()
	q.Errors = nil
	log.Error("request failed", append([]any{"error_id", q.ErrorID, "status", q.Status, "code", q.Code, "error", err.Error()}, attrs...)...)
	return RenderProblem(&q)
}

// Func is an HTTP endpoint: it returns the value to answer with, or an
// error. The value is an Answer, a CSV, or anything else, which answers
// 200 as JSON. The error is a *Problem, or any other error, which answers
// a generic 500 (see Fail).
type Func func(r *http.Request) (any, error)

// Handle adapts f to an http.Handler that logs its failures to log.
func Handle(log *slog.Logger, f Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			Fail(log, err, "method", r.Method, "path", r.URL.Path).Write(w)
			return
		}
		Reply(v).Write(w)
	})
}

// Reply renders a handler's value: an Answer as itself, a CSV as text/csv,
// anything else as 200 JSON.
func Reply(v any) Answer {
	switch v := v.(type) {
	case Answer:
		return v
	case CSV:
		return v.Render()
	default:
		return Render(http.StatusOK, v)
	}
}
