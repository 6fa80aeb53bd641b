package gcs

import (
	"net/http"
	"strings"
)

// conform wraps fake-gcs-server's handler where its answers differ from
// Cloud Storage's in a way that breaks Google's own clients.
//
// A successful delete of the JSON API (an object, a bucket, an ACL entry, a
// notification) answers 204 No Content with an empty body in Cloud Storage;
// fake-gcs-server answers 200 with the JSON body "null", on which
// `gcloud storage rm` fails after deleting ("'NoneType' object has no
// attribute 'items'").
func conform(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/storage/v1/") {
			w = &noContentWriter{ResponseWriter: w}
		}
		h.ServeHTTP(w, r)
	})
}

// noContentWriter turns a 200 answer into 204 No Content and drops its body.
// Other statuses (errors) pass unchanged.
type noContentWriter struct {
	http.ResponseWriter
	wroteHeader bool
	drop        bool
}

func (w *noContentWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code == http.StatusOK {
		w.drop = true
		code = http.StatusNoContent
		w.Header().Del("Content-Type")
		w.Header().Del("Content-Length")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *noContentWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.drop {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}
