// Package testutil holds helpers shared by the tests of several packages:
// the challenge dataset, BigQuery results, and a log buffer.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
)

// ChallengePath returns the path of a file of the challenge dataset, which
// lives beside the repository in ../shared/datasets/globant. Outside CI a
// missing dataset skips the test; in CI (CI=true) it fails it.
func ChallengePath(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: no go.mod above the test's folder")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "datasets", "globant", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the challenge dataset is required in CI: %v", err)
		}
		t.Skipf("challenge dataset not found: %v", err)
	}
	return p
}

// ChallengeFile returns the bytes of a file of the challenge dataset; see
// ChallengePath.
func ChallengeFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(ChallengePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Query runs a query with the client's fast path and returns every row.
func Query(t testing.TB, q *bigquery.Query) [][]bigquery.Value {
	t.Helper()
	rows, err := ReadRows(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// ReadRows runs q and returns its rows, for a caller that waits for them
// and retries on an error.
func ReadRows(ctx context.Context, q *bigquery.Query) ([][]bigquery.Value, error) {
	it, err := q.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q.Q, err)
	}
	var rows [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("query %q: %w", q.Q, err)
		}
		rows = append(rows, row)
	}
}

// SyncBuffer is a bytes.Buffer that several goroutines may write, for logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
