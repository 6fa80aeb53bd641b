package loadcsv_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/cloudevents/sdk-go/v2/event"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestHandler_HostileEvents sends hostile CloudEvents to the handler: each
// is acknowledged (nil, no retry), and ingest_log records only the objects
// of the landing bucket that route to a table.
func TestHandler_HostileEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	handler, err := loadcsv.New(ctx, config.FromMap(cfg.Env), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("loadcsv.New: %v", err)
	}
	gcs, err := st.Storage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gcs.Close() })
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	landing := cfg.Buckets.Landing
	upload := func(t *testing.T, bucket, name, data string) int64 {
		t.Helper()
		w := gcs.Bucket(bucket).Object(name).NewWriter(ctx)
		if _, err := w.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return w.Attrs().Generation
	}
	const other = "hiring-local-elsewhere"
	if err := gcs.Bucket(other).Create(ctx, cfg.Project, nil); err != nil {
		t.Fatalf("create bucket %s: %v", other, err)
	}
	object := func(bucket, name string, generation int64) string {
		return fmt.Sprintf(`{"bucket":%q,"name":%q,"generation":"%d","size":"4"}`, bucket, name, generation)
	}
	cases := []struct {
		name string
		typ  string
		// data returns the event's payload, after any upload.
		data func(t *testing.T) string
		// ingestion is the ingestion id to look for in ingest_log, and
		// outcome what it must hold there ("" for no row).
		ingestion, outcome string
	}{
		{name: "a valid file", data: func(t *testing.T) string {
			return object(landing, "departments/ok.csv", upload(t, landing, "departments/ok.csv", "1,A\n"))
		}, ingestion: "departments/ok.csv", outcome: "LOADED"},
		{name: "another event type", typ: "google.cloud.storage.object.v1.deleted", data: func(t *testing.T) string {
			return object(landing, "departments/deleted-event.csv", upload(t, landing, "departments/deleted-event.csv", "1,A\n"))
		}, ingestion: "departments/deleted-event.csv"},
		{name: "malformed JSON", data: func(*testing.T) string { return `{"bucket":` }},
		{name: "a JSON array", data: func(*testing.T) string { return `[1,2,3]` }},
		{name: "binary data", data: func(*testing.T) string { return "\x00\xff\xfe" }},
		{name: "no generation", data: func(*testing.T) string { return `{"bucket":"` + landing + `","name":"jobs.csv"}` }},
		{name: "negative generation", data: func(*testing.T) string { return object(landing, "jobs.csv", -1) }},
		{name: "generation overflow", data: func(*testing.T) string {
			return `{"bucket":"` + landing + `","name":"jobs.csv","generation":"99999999999999999999"}`
		}},
		{name: "wrong bucket", data: func(t *testing.T) string {
			return object(other, "departments/other.csv", upload(t, other, "departments/other.csv", "1,A\n"))
		}, ingestion: "departments/other.csv"},
		{name: "name traversal", data: func(t *testing.T) string {
			return object(landing, "../departments.csv", upload(t, landing, "../departments.csv", "1,A\n"))
		}, ingestion: "../departments.csv"},
		{name: "deleted generation", data: func(t *testing.T) string {
			gen := upload(t, landing, "departments/gone.csv", "1,A\n")
			if err := gcs.Bucket(landing).Object("departments/gone.csv").Delete(ctx); err != nil {
				t.Fatal(err)
			}
			return object(landing, "departments/gone.csv", gen)
		}, ingestion: "departments/gone.csv", outcome: "FAILED"},
		{name: "a generation that never existed", data: func(*testing.T) string {
			return object(landing, "departments/never.csv", 12345)
		}, ingestion: "departments/never.csv", outcome: "FAILED"},
		{name: "unknown table folder", data: func(t *testing.T) string {
			return object(landing, "salaries/x.csv", upload(t, landing, "salaries/x.csv", "1,A\n"))
		}, ingestion: "salaries/x.csv", outcome: "SKIPPED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := event.New()
			e.SetID("hostile-" + tc.name)
			e.SetSource("//storage.googleapis.com/projects/_/buckets/" + landing)
			e.SetType(loadcsv.FinalizedType)
			if tc.typ != "" {
				e.SetType(tc.typ)
			}
			e.DataEncoded = []byte(tc.data(t))
			if err := handler(ctx, e); err != nil {
				t.Fatalf("handler = %v, want nil (acknowledged)", err)
			}
			if tc.ingestion == "" {
				return
			}
			q := bq.Query("SELECT outcome FROM hiring.ingest_log WHERE object = @name")
			q.Parameters = []bigquery.QueryParameter{{Name: "name", Value: tc.ingestion}}
			got := ""
			if r := testutil.Query(t, q); len(r) > 0 {
				got = r[0][0].(string)
			}
			if got != tc.outcome {
				t.Errorf("ingest_log outcome %q, want %q", got, tc.outcome)
			}
		})
	}
}
