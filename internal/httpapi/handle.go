package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// ServerError is a failure on the server's side: the client gets a generic
// problem with Status (500 or 503), Code and Detail, and an error_id; Err,
// with everything it says, goes only to the ERROR log line of that id.
type ServerError struct {
	Status int
	Code   string
	Detail string
	// RetryAfter, in seconds, is sent with a 503.
	RetryAfter int
	Err        error
}

func (e *ServerError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *ServerError) Unwrap() error { return e.Err }

// Internal is a failure that a retry would not fix: a 500.
func Internal(err error) *ServerError {
	return &ServerError{Status: http.StatusInternalServerError, Code: "internal",
		Detail: "the request failed on the server; its logs have the error under error_id", Err: err}
}

// Unavailable is a failure that a retry may fix: a 503 with Retry-After,
// whose detail tells the client what to do.
func Unavailable(detail string, err error) *ServerError {
	return &ServerError{Status: http.StatusServiceUnavailable, Code: "unavailable", Detail: detail, RetryAfter: 1, Err: err}
}

// Fail renders err as an answer: a *Problem as itself; any other error as a
// generic 5xx (a *ServerError's, or a 500) whose error_id is logged at
// ERROR with the error and attrs. No internal text reaches the client.
func Fail(log *slog.Logger, err error, attrs ...any) Answer {
	var p *Problem
	if errors.As(err, &p) {
		return RenderProblem(p)
	}
	var se *ServerError
	if !errors.As(err, &se) {
		se = Internal(err)
	}
	id := uuid.NewString()
	log.Error("request failed", append([]any{"error_id", id, "status", se.Status, "error", err.Error()}, attrs...)...)
	q := &Problem{Status: se.Status, Code: se.Code, Detail: se.Detail, ErrorID: id}
	if se.RetryAfter > 0 {
		q = q.WithHeader("Retry-After", strconv.Itoa(se.RetryAfter))
	}
	return RenderProblem(q)
}

// Func is an HTTP endpoint: it returns the value to answer with, or an
// error. The value is an Answer, a CSV, or anything else, which answers
// 200 as JSON. The error is a *Problem for a client's mistake, a
// *ServerError, or any other error, which answers a generic 500.
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
