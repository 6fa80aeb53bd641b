package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

func start(t *testing.T, opts stack.Options) *stack.Stack {
	t.Helper()
	st, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
}

// TestStack_ClientFromDevConfig is what a program does with a running stack:
// read /dev/config, build a BigQuery client from it, and use it.
func TestStack_ClientFromDevConfig(t *testing.T) {
	t.Parallel()
	st := start(t, stack.Options{})
	var health map[string]string
	getJSON(t, st.Config().URL+"/healthz", &health)
	if health["status"] != "ok" {
		t.Errorf("healthz = %v", health)
	}
	var cfg stack.Config
	getJSON(t, st.Config().URL+"/dev/config", &cfg)
	for name, v := range map[string]string{
		"project": cfg.Project, "dataset": cfg.Dataset, "landing": cfg.Buckets.Landing,
		"staging": cfg.Buckets.Staging, "backups": cfg.Buckets.Backups,
		"bigquery_endpoint": cfg.BigQueryEndpoint, "storage_emulator_host": cfg.StorageEmulatorHost,
	} {
		if v == "" {
			t.Errorf("/dev/config has no %s", name)
		}
	}
	if _, err := config.Load[config.Buckets](t.Context(), config.FromMap(cfg.Env)); err != nil {
		t.Errorf("/dev/config env does not configure the buckets: %v", err)
	}
	if _, err := config.Load[config.Google](t.Context(), config.FromMap(cfg.Env)); err != nil {
		t.Errorf("/dev/config env does not configure the Google clients: %v", err)
	}
	if cfg.Env["HIRING_BIGQUERY_ENDPOINT"] != cfg.BigQueryEndpoint || cfg.Env["STORAGE_EMULATOR_HOST"] != cfg.StorageEmulatorHost {
		t.Errorf("env %v does not match the endpoints", cfg.Env)
	}

	ctx := t.Context()
	client, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()

	for _, table := range dictionary.Default().Tables() {
		raw, err := client.Dataset(cfg.Dataset).Table(warehouse.RawTable(table.Name)).Metadata(ctx)
		if err != nil {
			t.Fatalf("raw table of %s was not provisioned: %v", table.Name, err)
		}
		if diff := cmp.Diff(warehouse.RawSchema(table), raw.Schema); diff != "" {
			t.Errorf("schema of %s (-dictionary +provisioned):\n%s", raw.Name, diff)
		}
		view, err := client.Dataset(cfg.Dataset).Table(table.Name).Metadata(ctx)
		if err != nil {
			t.Fatalf("view %s was not provisioned: %v", table.Name, err)
		}
		var cols []string
		for _, f := range view.Schema {
			cols = append(cols, f.Name)
		}
		if view.Type != bigquery.ViewTable || !slices.Equal(cols, table.ColumnNames()) {
			t.Errorf("view %s: type %s, columns %v, want a view of %v", table.Name, view.Type, cols, table.ColumnNames())
		}
	}
	for _, name := range []string{warehouse.RejectedRows, warehouse.IngestLog} {
		md, err := client.Dataset(cfg.Dataset).Table(name).Metadata(ctx)
		if err != nil {
			t.Fatalf("%s was not provisioned: %v", name, err)
		}
		if diff := cmp.Diff(warehouse.SystemSchema(name), md.Schema); diff != "" {
			t.Errorf("schema of %s (-schemas/system +provisioned):\n%s", name, diff)
		}
	}

	tbl := client.Dataset(cfg.Dataset).Table("scratch")
	schema := bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "name", Type: bigquery.StringFieldType},
		{Name: "hired", Type: bigquery.TimestampFieldType},
		{Name: "day", Type: bigquery.DateFieldType},
		{Name: "score", Type: bigquery.FloatFieldType},
		{Name: "active", Type: bigquery.BooleanFieldType},
	}
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	hired := time.Date(2021, 7, 27, 16, 2, 8, 654321000, time.UTC)
	q := client.Query("INSERT " + cfg.Dataset + ".scratch (id, name, hired, day, score, active) VALUES (@id, @name, @hired, DATE '2021-07-27', 0.25, TRUE), (2, 'other', NULL, NULL, NULL, FALSE)")
	q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: 1}, {Name: "name", Value: "Harold Vogt"}, {Name: "hired", Value: hired}}
	job, err := q.Run(ctx)
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	status, err := job.Wait(ctx)
	if err != nil || status.Err() != nil {
		t.Fatalf("insert job: %v %v", err, status.Err())
	}
	if n := status.Statistics.Details.(*bigquery.QueryStatistics).NumDMLAffectedRows; n != 2 {
		t.Errorf("inserted %d rows, want 2", n)
	}

	q = client.Query("SELECT id, name, hired, day, score, active FROM " + cfg.Dataset + ".scratch WHERE hired >= @since OR id = @other ORDER BY id")
	q.Parameters = []bigquery.QueryParameter{{Name: "since", Value: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}, {Name: "other", Value: 2}}
	it, err := q.Read(ctx)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var got [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, row)
	}
	want := [][]bigquery.Value{
		{int64(1), "Harold Vogt", hired, civil.Date{Year: 2021, Month: 7, Day: 27}, 0.25, true},
		{int64(2), "other", nil, nil, nil, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}

	// A load from a local file goes through the stack's media upload route.
	src := bigquery.NewReaderSource(strings.NewReader("3,Ada,2021-01-05 10:00:00 UTC,2021-01-05,1.5,true\n"))
	src.SourceFormat = bigquery.CSV
	load := tbl.LoaderFrom(src)
	if job, err = load.Run(ctx); err != nil {
		t.Fatalf("load from a local file: %v", err)
	}
	if status, err = job.Wait(ctx); err != nil || status.Err() != nil {
		t.Fatalf("load job: %v %v", err, status.Err())
	}
	md, err := tbl.Metadata(ctx)
	if err != nil || md.NumRows != 3 {
		t.Errorf("after the load: %d rows, %v; want 3", md.NumRows, err)
	}
}

// TestStack_DataDir checks that a stack with a data folder keeps buckets,
// objects, tables and rows across restarts.
func TestStack_DataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	ctx := t.Context()
	first, err := stack.Start(ctx, stack.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cfg := first.Config()
	client, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	job, err := client.Query("INSERT " + cfg.Dataset + ".departments_raw (id, department, _ingestion_id, _ingested_at, _ordinal) VALUES (1, 'Sales', 'test', CURRENT_TIMESTAMP(), 1)").Run(ctx)
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if _, err := job.Wait(ctx); err != nil {
		t.Fatalf("insert: %v", err)
	}
	sc, err := first.Storage(ctx)
	if err != nil {
		t.Fatalf("Storage: %v", err)
	}
	w := sc.Bucket(cfg.Buckets.Landing).Object("departments.csv").NewWriter(ctx)
	if _, err := io.WriteString(w, "1,Sales\r\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload: %v", err)
	}
	sc.Close()
	client.Close()
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := start(t, stack.Options{DataDir: dir})
	cfg = second.Config()
	client, err = bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	it, err := client.Query("SELECT id, department FROM " + cfg.Dataset + ".departments").Read(ctx)
	if err != nil {
		t.Fatalf("query the view after restart: %v", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		t.Fatalf("no row after restart: %v", err)
	}
	if diff := cmp.Diff([]bigquery.Value{int64(1), "Sales"}, row); diff != "" {
		t.Errorf("row after restart (-want +got):\n%s", diff)
	}
	sc, err = second.Storage(ctx)
	if err != nil {
		t.Fatalf("Storage: %v", err)
	}
	defer sc.Close()
	attrs, err := sc.Bucket(cfg.Buckets.Landing).Object("departments.csv").Attrs(ctx)
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	if attrs.Size != 9 {
		t.Errorf("object size = %d, want 9", attrs.Size)
	}
}
