package testutil

import (
	"context"
	"errors"
	"testing"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

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
