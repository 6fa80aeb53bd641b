package bigquery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
)

const project = "test-project"

// env is one emulator behind a real HTTP server and a real client.
type env struct {
	client   *bigquery.Client
	server   *emulator.Server
	url      string
	requests *atomic.Int64 // getQueryResults and tabledata.list calls
}

// newEnv starts an in-memory emulator (or one on path) and a client for it.
func newEnv(t testing.TB, path string) *env {
	t.Helper()
	srv, err := emulator.New(context.Background(), emulator.Options{Path: path})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return newEnvFor(t, srv)
}

// newEnvFor serves srv over HTTP and connects a client to it.
func newEnvFor(t testing.TB, srv *emulator.Server) *env {
	t.Helper()
	var pages atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/data") || strings.Contains(r.URL.Path, "/queries/")) {
			pages.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	client, err := bigquery.NewClient(context.Background(), project, option.WithEndpoint(hs.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery.NewClient: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		hs.Close()
	})
	return &env{client: client, server: srv, url: hs.URL, requests: &pages}
}

// dataset creates a dataset and returns it.
func (e *env) dataset(t testing.TB, name string) *bigquery.Dataset {
	t.Helper()
	ds := e.client.Dataset(name)
	if err := ds.Create(context.Background(), &bigquery.DatasetMetadata{Location: "US"}); err != nil {
		t.Fatalf("Dataset(%s).Create: %v", name, err)
	}
	return ds
}

// exec runs a statement through jobs.insert and returns its statistics.
func (e *env) exec(t testing.TB, sql string, params ...bigquery.QueryParameter) *bigquery.QueryStatistics {
	t.Helper()
	ctx := context.Background()
	q := e.client.Query(sql)
	q.Parameters = params
	job, err := q.Run(ctx)
	if err != nil {
		t.Fatalf("Run(%q): %v", sql, err)
	}
	status, err := job.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait(%q): %v", sql, err)
	}
	if status.Err() != nil {
		t.Fatalf("job of %q failed: %v", sql, status.Err())
	}
	return status.Statistics.Details.(*bigquery.QueryStatistics)
}

// read runs a query through the client's fast path and returns every row.
func (e *env) read(t testing.TB, sql string, params ...bigquery.QueryParameter) [][]bigquery.Value {
	t.Helper()
	rows, err := e.tryRead(sql, params...)
	if err != nil {
		t.Fatalf("Read(%q): %v", sql, err)
	}
	return rows
}

func (e *env) tryRead(sql string, params ...bigquery.QueryParameter) ([][]bigquery.Value, error) {
	q := e.client.Query(sql)
	q.Parameters = params
	it, err := q.Read(context.Background())
	if err != nil {
		return nil, err
	}
	return drain(it)
}

func drain(it *bigquery.RowIterator) ([][]bigquery.Value, error) {
	var rows [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
}

// apiError asserts that err is a Google API error with the code and reason.
func apiError(t testing.TB, err error, code int, reason string) {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *googleapi.Error", err, err)
	}
	if ge.Code != code {
		t.Errorf("HTTP code = %d, want %d (%v)", ge.Code, code, err)
	}
	if len(ge.Errors) == 0 || ge.Errors[0].Reason != reason {
		t.Errorf("reason = %v, want %s", ge.Errors, reason)
	}
}

// reasonOf returns the reason of an API error or of a failed job's error.
func reasonOf(err error) string {
	var ge *googleapi.Error
	if errors.As(err, &ge) && len(ge.Errors) > 0 {
		return ge.Errors[0].Reason
	}
	var be *bigquery.Error
	if errors.As(err, &be) {
		return be.Reason
	}
	return ""
}
