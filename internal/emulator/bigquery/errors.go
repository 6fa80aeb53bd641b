package bigquery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	bq "google.golang.org/api/bigquery/v2"
)

// apiError is an error as BigQuery reports it: an HTTP status, a reason code
// and a message.
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Reason, e.Message) }

// proto returns the error as a job's errorResult.
func (e *apiError) proto() *bq.ErrorProto {
	return &bq.ErrorProto{Reason: e.Reason, Message: e.Message}
}

func newError(code int, reason, format string, args ...any) *apiError {
	return &apiError{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *apiError {
	return newError(http.StatusNotFound, "notFound", "Not found: "+format, args...)
}

func errDuplicate(format string, args ...any) *apiError {
	return newError(http.StatusConflict, "duplicate", "Already Exists: "+format, args...)
}

func errInvalid(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "invalid", format, args...)
}

func errInvalidQuery(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "invalidQuery", format, args...)
}

// errorFromProto turns a failed job's errorResult back into an HTTP error,
// with the status BigQuery uses for its reason.
func errorFromProto(p *bq.ErrorProto) *apiError {
	code := http.StatusBadRequest
	switch p.Reason {
	case "notFound":
		code = http.StatusNotFound
	case "duplicate":
		code = http.StatusConflict
	case "accessDenied":
		code = http.StatusForbidden
	case "internalError", "backendError":
		code = http.StatusInternalServerError
	}
	return &apiError{Code: code, Reason: p.Reason, Message: p.Message}
}

// asAPIError returns err as an *apiError; anything else is an internal error.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return newError(http.StatusInternalServerError, "internalError", "%v", err)
}

// errorEnvelope is Google's JSON error body.
type errorEnvelope struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    int         `json:"code"`
	Message string      `json:"message"`
	Errors  []errorItem `json:"errors"`
	Status  string      `json:"status"`
}

type errorItem struct {
	Message string `json:"message"`
	Domain  string `json:"domain"`
	Reason  string `json:"reason"`
}

// statusNames are the google.rpc.Code names that go with HTTP statuses.
var statusNames = map[int]string{
	http.StatusBadRequest:          "INVALID_ARGUMENT",
	http.StatusForbidden:           "PERMISSION_DENIED",
	http.StatusNotFound:            "NOT_FOUND",
	http.StatusConflict:            "ALREADY_EXISTS",
	http.StatusPreconditionFailed:  "FAILED_PRECONDITION",
	http.StatusInternalServerError: "INTERNAL",
	http.StatusServiceUnavailable:  "UNAVAILABLE",
}

func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	writeJSON(w, ae.Code, errorEnvelope{Error: errorDetail{
		Code:    ae.Code,
		Message: ae.Message,
		Errors:  []errorItem{{Message: ae.Message, Domain: "global", Reason: ae.Reason}},
		Status:  statusNames[ae.Code],
	}})
}

// writeJSON encodes v before writing anything, so that a failed encoding
// never sends half a response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, `{"error":{"code":500,"message":"encoding the response failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
