package testutil

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// Storage starts a Cloud Storage emulator of the test's own with buckets,
// and returns a client of it; both stop when the test ends.
func Storage(tb testing.TB, buckets ...string) *storage.Client {
	tb.Helper()
	ctx := context.Background()
	srv, err := gcsemu.Start(ctx, gcsemu.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close(context.Background()) })
	for _, b := range buckets {
		if err := srv.CreateBucket(ctx, b); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := srv.Client(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// TableIDs lists the tables and views of a dataset.
func TableIDs(tb testing.TB, ds *bigquery.Dataset) []string {
	tb.Helper()
	var ids []string
	it := ds.Tables(context.Background())
	for {
		t, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return ids
		}
		if err != nil {
			tb.Fatalf("listing the tables of %s: %v", ds.DatasetID, err)
		}
		ids = append(ids, t.TableID)
	}
}

// BigQuery starts an in-memory BigQuery emulator with opts behind a test
// HTTP server, and returns it with a client of project test-project; both
// close when the test ends.
func BigQuery(tb testing.TB, opts emulator.Options) (*emulator.Server, *bigquery.Client) {
	tb.Helper()
	srv, err := emulator.New(context.Background(), opts)
	if err != nil {
		tb.Fatalf("emulator.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	bq, err := bigquery.NewClient(context.Background(), "test-project", option.WithEndpoint(hs.URL), option.WithoutAuthentication())
	if err != nil {
		tb.Fatalf("bigquery.NewClient: %v", err)
	}
	tb.Cleanup(func() { bq.Close(); hs.Close(); _ = srv.Close() })
	return srv, bq
}
