package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

var routersByTitle sync.Map // document title -> routers.Router

// An HTML page is validated as the string its schema says it is.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

// router loads an OpenAPI document, validates it, and returns its router;
// documents are cached by title.
func router(t testing.TB, doc map[string]any) routers.Router {
	t.Helper()
	info, _ := doc["info"].(map[string]any)
	title, _ := info["title"].(string)
	if r, ok := routersByTitle.Load(title); ok {
		return r.(routers.Router)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("OpenAPI document %q does not load: %v", title, err)
	}
	if err := d.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document %q is not valid: %v", title, err)
	}
	r, err := gorillamux.NewRouter(d)
	if err != nil {
		t.Fatalf("OpenAPI document %q: %v", title, err)
	}
	routersByTitle.Store(title, r)
	return r
}

// ValidateResponse checks an answer of a function against its OpenAPI
// document. req is addressed to the function in the local stack, which
// mounts it at /<name>/: that first path segment is dropped. A path the
// document does not have must answer 404, and a status the operation does
// not document fails. Every answer must also carry
// Content-Type and X-Content-Type-Options: nosniff, and a 5xx answer must
// be generic (see CheckServerError).
func ValidateResponse(t testing.TB, doc map[string]any, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	CheckServerError(t, status, body)
	if header.Get("X-Content-Type-Options") != "nosniff" || header.Get("Content-Type") == "" {
		t.Errorf("%s %s: headers %v lack Content-Type or nosniff", req.Method, req.URL.Path, header)
	}
	path := "/"
	if _, rest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), "/"); ok {
		path += rest
	}
	r, _ := http.NewRequest(req.Method, "http://function.test"+path+"?"+req.URL.RawQuery, nil)
	route, params, err := router(t, doc).FindRoute(r)
	if err != nil {
		if status != http.StatusNotFound {
			t.Errorf("%s %s is not in the OpenAPI document, yet answered %d: %v", req.Method, path, status, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: the %d answer does not match the OpenAPI document: %v\n%.300s", req.Method, path, status, err, body)
	}
}

// internalText are parts of messages that only the server's side writes:
// errors of Google clients and of BigQuery, object and job names, Go
// source positions.
var internalText = []string{"googleapi", "rpc error", "gs://", "job ", "jobs/", ".go:", "manifest.json", "projects/", "panic"}

// CheckServerError fails unless a 5xx answer's body is a problem with an
// error_id and no internal text. Other answers pass.
func CheckServerError(t testing.TB, status int, body []byte) {
	t.Helper()
	if status < 500 {
		return
	}
	var p struct {
		Code    string `json:"code"`
		ErrorID string `json:"error_id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Code == "" || p.ErrorID == "" {
		t.Errorf("the %d answer %.300s is not a problem with a code and an error_id", status, body)
	}
	for _, s := range internalText {
		if strings.Contains(string(body), s) {
			t.Errorf("the %d answer %.300s carries internal text (%q)", status, body, s)
		}
	}
}

// WaitFor polls cond every 100 ms until it holds, fails, or 60 s pass.
func WaitFor(ctx context.Context, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
