package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// env is a local stack with a Loader on it.
type env struct {
	lc     ingest.Config
	cfg    stack.Config
	bq     *bigquery.Client
	gcs    *storage.Client
	loader *ingest.Loader
}

// newEnv starts a stack. When middleware is set, the Loader's BigQuery
// requests go through it, so that a test can fail them.
func newEnv(t *testing.T, middleware func(http.Handler) http.Handler) *env {
	t.Helper()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	lookup := config.FromMap(cfg.Env)
	lc, err := config.Load[ingest.Config](ctx, lookup)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	lc.RejectLogLimit = 5
	endpoint := cfg.BigQueryEndpoint
	if middleware != nil {
		target, _ := url.Parse(cfg.URL)
		proxy := httptest.NewServer(middleware(newProxy(target)))
		t.Cleanup(proxy.Close)
		endpoint = proxy.URL + "/bigquery/v2/"
	}
	loaderBQ, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(endpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery: %v", err)
	}
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery: %v", err)
	}
	gcs, err := st.Storage(ctx)
	if err != nil {
		t.Fatalf("storage: %v", err)
	}
	t.Cleanup(func() { bq.Close(); loaderBQ.Close(); gcs.Close() })
	loader, err := ingest.NewLoader(lc, dictionary.Default(), loaderBQ, gcs, nil)
	if err != nil {
		t.Fatalf("NewLoader: %v", err)
	}
	return &env{lc: lc, cfg: cfg, bq: bq, gcs: gcs, loader: loader}
}

func newProxy(target *url.URL) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI = target.Scheme, target.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}

// upload writes an object to the landing bucket and returns it as its
// finalized event describes it.
func (e *env) upload(t *testing.T, name string, data []byte) ingest.Object {
	t.Helper()
	ctx := context.Background()
	obj := e.gcs.Bucket(e.cfg.Buckets.Landing).Object(name)
	w := obj.NewWriter(ctx)
	if _, err := w.Write(data); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	a := w.Attrs()
	return ingest.Object{Bucket: a.Bucket, Name: a.Name, Generation: a.Generation, Size: a.Size,
		ContentType: a.ContentType, ContentEncoding: a.ContentEncoding, Created: a.Created}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// query runs a query and returns its rows.
func (e *env) query(t *testing.T, sql string, params ...bigquery.QueryParameter) [][]bigquery.Value {
	t.Helper()
	q := e.bq.Query(sql)
	q.DefaultDatasetID = e.cfg.Dataset
	q.Parameters = params
	return testutil.Query(t, q)
}

// count runs a COUNT query.
func (e *env) count(t *testing.T, sql string, params ...bigquery.QueryParameter) int64 {
	t.Helper()
	rows := e.query(t, sql, params...)
	return rows[0][0].(int64)
}

func param(name string, v any) bigquery.QueryParameter {
	return bigquery.QueryParameter{Name: name, Value: v}
}

func newJSONLogger(w io.Writer) *slog.Logger { return logging.New(w, slog.LevelDebug) }
