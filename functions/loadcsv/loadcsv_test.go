package loadcsv_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		payload string
		want    ingest.Object
		wantErr bool
	}{
		{
			name:    "Eventarc strings",
			payload: `{"kind":"storage#object","bucket":"b","name":"jobs.csv","generation":"1700000000000001","metageneration":"1","size":"4419","contentType":"text/csv","timeCreated":"2026-11-26T10:00:00Z","unknown":{"x":1}}`,
			want:    ingest.Object{Bucket: "b", Name: "jobs.csv", Generation: 1700000000000001, Size: 4419, ContentType: "text/csv", Created: created},
		},
		{
			name:    "numbers",
			payload: `{"bucket":"b","name":"a/b.csv.gz","generation":7,"size":0,"contentEncoding":"gzip"}`,
			want:    ingest.Object{Bucket: "b", Name: "a/b.csv.gz", Generation: 7, ContentEncoding: "gzip"},
		},
		{name: "no generation", payload: `{"bucket":"b","name":"x.csv"}`, wantErr: true},
		{name: "bad generation", payload: `{"bucket":"b","name":"x.csv","generation":"12a"}`, wantErr: true},
		{name: "not JSON", payload: `garbage`, wantErr: true},
		{name: "no name", payload: `{"bucket":"b","generation":"1"}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := loadcsv.Decode([]byte(tc.payload))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Decode = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadCSV_ThroughTheBridge is the local deployment end to end: files
// uploaded to the landing bucket reach load-csv as Eventarc CloudEvents.
func TestLoadCSV_ThroughTheBridge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Functions: []function.Definition{loadcsv.Definition}})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	defer st.Close(ctx)
	cfg := st.Config()
	gcs, err := st.Storage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	for _, name := range []string{"departments.csv", "jobs.csv", "hired_employees.csv"} {
		data := testutil.ChallengeFile(t, name)
		w := gcs.Bucket(cfg.Buckets.Landing).Object(name).NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows := read(t, bq, "SELECT table_name, outcome, rows_loaded, rows_rejected FROM hiring.ingest_log ORDER BY table_name")
		if len(rows) == 3 {
			want := [][]bigquery.Value{
				{"departments", "LOADED", int64(12), int64(0)},
				{"hired_employees", "LOADED", int64(1929), int64(70)},
				{"jobs", "LOADED", int64(183), int64(0)},
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("ingest_log (-want +got):\n%s", diff)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest_log has %d rows after 60 s, want 3: %v", len(rows), rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows := read(t, bq, "SELECT (SELECT COUNT(*) FROM hiring.departments), (SELECT COUNT(*) FROM hiring.jobs), (SELECT COUNT(*) FROM hiring.hired_employees), (SELECT COUNT(*) FROM hiring.rejected_rows)")
	if diff := cmp.Diff([][]bigquery.Value{{int64(12), int64(183), int64(1929), int64(70)}}, rows); diff != "" {
		t.Errorf("readers see (-want +got):\n%s", diff)
	}
}

func read(t *testing.T, bq *bigquery.Client, sql string) [][]bigquery.Value {
	t.Helper()
	return testutil.Query(t, bq.Query(sql))
}
