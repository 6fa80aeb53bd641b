package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// Mux routes the endpoints of one function. It answers GET /openapi.json
// with the function's document, 405 with Allow for a known path and
// another method, and 404 for any other path, all as problems.
type Mux struct {
	mux   *http.ServeMux
	allow map[string][]string
}

// NewMux returns a Mux that serves openapi at GET /openapi.json, without
// authentication.
func NewMux(openapi Object) *Mux {
	m := &Mux{mux: http.NewServeMux(), allow: map[string][]string{}}
	doc := Render(http.StatusOK, openapi)
	m.Handle(http.MethodGet, "/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { doc.Write(w) }))
	m.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		RenderProblem(Errorf(http.StatusNotFound, "not_found", "no endpoint %s; see /openapi.json", r.URL.Path)).Write(w)
	})
	return m
}

// Handle routes method and path (a ServeMux path pattern) to h.
func (m *Mux) Handle(method, path string, h http.Handler) {
	m.mux.Handle(method+" "+path, h)
	if _, known := m.allow[path]; !known {
		m.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			var methods []string
			for _, method := range m.allow[path] {
				methods = append(methods, method)
				// A GET route serves HEAD too.
				if method == http.MethodGet {
					methods = append(methods, http.MethodHead)
				}
			}
			allowed := strings.Join(methods, ", ")
			RenderProblem(Errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed here; use %s", r.Method, allowed).
				WithHeader("Allow", allowed)).Write(w)
		})
	}
	if !slices.Contains(m.allow[path], method) {
		m.allow[path] = append(m.allow[path], method)
	}
}

// ServeHTTP routes r.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }
