package testutil

import (
	"fmt"
	"net/http"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestValidateResponse(t *testing.T) {
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "validate-response-test", "version": "1"},
		"paths": map[string]any{"/count": map[string]any{"get": map[string]any{"responses": map[string]any{
			"200": map[string]any{"description": "a count", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
				"type": "object", "required": []string{"n"}, "properties": map[string]any{"n": map[string]any{"type": "integer"}},
			}}}},
		}}}},
	}
	header := http.Header{"Content-Type": {"application/json"}, "X-Content-Type-Options": {"nosniff"}}
	for _, tc := range []struct {
		name, path string
		status     int
		header     http.Header
		body       string
		fails      bool
	}{
		{"matches", "/fn/count", 200, header, `{"n": 3}`, false},
		{"wrong type", "/fn/count", 200, header, `{"n": "3"}`, true},
		{"missing field", "/fn/count", 200, header, `{}`, true},
		{"undocumented status", "/fn/count", 500, header, `{"n": 3}`, true},
		{"no nosniff", "/fn/count", 200, http.Header{"Content-Type": {"application/json"}}, `{"n": 3}`, true},
		{"undocumented path answers 404", "/fn/other", 404, header, `{}`, false},
		{"undocumented path answers 200", "/fn/other", 200, header, `{}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1"+tc.path, nil)
			ValidateResponse(rec, doc, req, tc.status, tc.header, []byte(tc.body))
			if failed := len(rec.errors) > 0; failed != tc.fails {
				t.Errorf("failed %v, want %v: %v", failed, tc.fails, rec.errors)
			}
		})
	}
}
