package bigquery

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"cloud.google.com/go/storage"
	"github.com/duckdb/duckdb-go/v2"
)

// Options configure a Server.
type Options struct {
	// Path is the DuckDB database file; empty keeps everything in memory.
	Path string
	// Location is reported for datasets and jobs that do not name one.
	// Default "US".
	Location string
	// Logger receives one DEBUG line per request and the errors the server
	// answers with a 5xx. Default: discard.
	Logger *slog.Logger
	// Storage reads the source files of load jobs and receives the files of
	// extract jobs; nil refuses both. The caller keeps ownership and closes
	// it after the Server.
	Storage *storage.Client
	// ExtractFileBytes is the most bytes an extract job writes to one file:
	// with a * in its destination URI the job starts a new file before a
	// block of rows would take the current one past it; without one, a
	// table that needs more fails the job, as BigQuery does. Default 1 GiB,
	// BigQuery's limit; tests set less to get several files.
	ExtractFileBytes int64
}

// defaultExtractFileBytes is BigQuery's limit on the size of one extracted
// file.
const defaultExtractFileBytes = 1 << 30

// Server is the emulator. It is an http.Handler that accepts paths with or
// without the /bigquery/v2 prefix.
type Server struct {
	db        *sql.DB
	log       *slog.Logger
	location  string
	mux       *http.ServeMux
	storage   *storage.Client
	fileBytes int64 // Options.ExtractFileBytes

	cat     *catalog
	jobs    *jobStore
	locks   sync.Map // table key -> *sync.Mutex; see lockTable
	uploads sync.Map // upload id -> *uploadSession; see upload.go
	faults  faultState
}

// New opens (or creates) the database and loads the emulator's metadata.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Location == "" {
		opts.Location = "US"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ExtractFileBytes <= 0 {
		opts.ExtractFileBytes = defaultExtractFileBytes
	}
	connector, err := duckdb.NewConnector(opts.Path, initConn)
	if err != nil {
		return nil, fmt.Errorf("bigquery emulator: open %q: %w", opts.Path, err)
	}
	db := sql.OpenDB(connector)
	s := &Server{db: db, log: opts.Logger, location: opts.Location, storage: opts.Storage, fileBytes: opts.ExtractFileBytes}
	if err := s.initMetadata(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bigquery emulator: %w", err)
	}
	s.routes()
	return s, nil
}

// initConn gives every DuckDB connection BigQuery's semantics where a setting
// can: UTC for TIMESTAMP arithmetic and NULLs first in ascending order.
func initConn(execer driver.ExecerContext) error {
	for _, stmt := range []string{
		"SET TimeZone = 'UTC'",
		"SET default_null_order = 'nulls_first_on_asc_last_on_desc'",
	} {
		if _, err := execer.ExecContext(context.Background(), stmt, nil); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// Close closes the database and removes the files of unfinished uploads.
func (s *Server) Close() error {
	s.closeUploads()
	return s.db.Close()
}

func (s *Server) routes() {
	m := http.NewServeMux()
	const p = "/projects/{projectId}"
	m.Handle("POST "+p+"/datasets", s.handle(s.insertDataset))
	m.Handle("GET "+p+"/datasets", s.handle(s.listDatasets))
	m.Handle("GET "+p+"/datasets/{datasetId}", s.handle(s.getDataset))
	m.Handle("PATCH "+p+"/datasets/{datasetId}", s.handle(s.patchDataset))
	m.Handle("DELETE "+p+"/datasets/{datasetId}", s.handle(s.deleteDataset))
	m.Handle("POST "+p+"/datasets/{datasetId}/tables", s.handle(s.insertTable))
	m.Handle("GET "+p+"/datasets/{datasetId}/tables", s.handle(s.listTables))
	m.Handle("GET "+p+"/datasets/{datasetId}/tables/{tableId}", s.handle(s.getTable))
	m.Handle("PATCH "+p+"/datasets/{datasetId}/tables/{tableId}", s.handle(s.patchTable))
	m.Handle("PUT "+p+"/datasets/{datasetId}/tables/{tableId}", s.handle(s.patchTable))
	m.Handle("DELETE "+p+"/datasets/{datasetId}/tables/{tableId}", s.handle(s.deleteTable))
	m.Handle("GET "+p+"/datasets/{datasetId}/tables/{tableId}/data", s.handle(s.listTableData))
	m.Handle("POST "+p+"/jobs", s.handle(s.insertJob))
	m.Handle("GET "+p+"/jobs", s.handle(s.listJobs))
	m.Handle("GET "+p+"/jobs/{jobId}", s.handle(s.getJob))
	m.Handle("POST "+p+"/jobs/{jobId}/cancel", s.handle(s.cancelJob))
	m.Handle("POST "+p+"/queries", s.handle(s.query))
	m.Handle("GET "+p+"/queries/{jobId}", s.handle(s.getQueryResults))
	m.HandleFunc("/upload/bigquery/v2/projects/{projectId}/jobs", s.uploadHandler)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errInvalid("%s %s is not a BigQuery API call the emulator supports", r.Method, r.URL.Path))
	})
	s.mux = m
}

// ServeHTTP serves the REST API, with or without the /bigquery/v2 prefix.
// A call that the fault setting fails (see SetFaults) is failed before
// anything else happens, after the setting's latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/bigquery/v2"); ok && (rest == "" || rest[0] == '/') {
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		r = r2
	}
	if s.holding() {
		// The server notices that a caller went away only once the body
		// is read.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.hold(r.Context()) != nil {
			return // the caller went away
		}
	}
	if mode, ok := s.fault(r.Method + " " + r.URL.Path); ok {
		failREST(w, r, mode)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// handler is an API method: it returns the resource to answer with (nil for
// an empty 204 answer) or an error.
type handler func(r *http.Request) (any, error)

func (s *Server) handle(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := h(r)
		if err == nil && res == nil {
			s.log.Debug("bigquery emulator request", "method", r.Method, "path", r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.answer(w, r, res, err)
	})
}

// maxBody bounds request bodies; BigQuery's own limit for a request is 10 MB.
const maxBody = 10 << 20

// readBody reads the request body, bounded.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errInvalid("reading the request body: %v", err)
	}
	if len(data) > maxBody {
		return nil, errInvalid("the request body is larger than %d bytes", maxBody)
	}
	return data, nil
}

// decodeBody decodes the JSON request body into v, with BigQuery's
// leniency (see lenientJSON), and returns the body as decoded.
func decodeBody(r *http.Request, v any) ([]byte, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data, v)
}

// decodeJSON decodes a JSON request body into v, with BigQuery's leniency
// (see lenientJSON), and returns the body as decoded.
func decodeJSON(data []byte, v any) ([]byte, error) {
	data = lenientJSON(data, reflect.TypeOf(v))
	if err := json.Unmarshal(data, v); err != nil {
		return nil, errInvalid("Invalid JSON payload received. %v", err)
	}
	return data, nil
}

// lockTable serializes writes to one table and returns the unlock function.
func (s *Server) lockTable(project, dataset, table string) func() {
	key := project + ":" + dataset + "." + table
	v, _ := s.locks.LoadOrStore(key, new(sync.Mutex))
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
