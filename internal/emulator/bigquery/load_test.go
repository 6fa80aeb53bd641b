package bigquery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
	"github.com/linkedin/goavro/v2"
	"google.golang.org/api/option"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

const bucket = "sources"

// hiredAvro is the Avro schema of hired_employees as the pipeline writes it:
// REQUIRED columns are plain types, NULLABLE ones unions with null.
const hiredAvro = `{"type": "record", "name": "hired_employees", "fields": [
	{"name": "id", "type": "long"},
	{"name": "name", "type": "string"},
	{"name": "datetime", "type": {"type": "long", "logicalType": "timestamp-micros"}},
	{"name": "department_id", "type": ["null", "long"]},
	{"name": "job_id", "type": ["null", "long"]}
]}`

// loadEnv is an emulator whose load jobs read a local Cloud Storage, with
// the bucket "sources" and the dataset "d".
type loadEnv struct {
	*env
	storage *storage.Client
}

func newLoadEnv(t testing.TB) *loadEnv {
	t.Helper()
	return newLoadEnvVia(t, nil)
}

// newLoadEnvVia is newLoadEnv with the emulator reading Cloud Storage
// through rt, or through the default transport when rt is nil.
func newLoadEnvVia(t testing.TB, rt http.RoundTripper) *loadEnv {
	t.Helper()
	ctx := context.Background()
	gs, err := gcs.Start(ctx, gcs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("gcs.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := gs.Close(context.Background()); err != nil {
			t.Errorf("gcs Close: %v", err)
		}
	})
	if err := gs.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	sc, err := gs.Client(ctx)
	if rt != nil {
		sc, err = storage.NewClient(ctx, option.WithEndpoint(gs.URL()+"/storage/v1/"), option.WithoutAuthentication(),
			option.WithHTTPClient(&http.Client{Transport: rt}))
	}
	if err != nil {
		t.Fatalf("gcs Client: %v", err)
	}
	t.Cleanup(func() { sc.Close() })
	srv, err := emulator.New(ctx, emulator.Options{Storage: sc})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := &loadEnv{env: newEnvFor(t, srv), storage: sc}
	e.dataset(t, "d")
	return e
}

// put writes data to gs://sources/object and returns its URI.
func (e *loadEnv) put(t testing.TB, object string, data []byte) string {
	t.Helper()
	w := e.storage.Bucket(bucket).Object(object).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", object, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", object, err)
	}
	return "gs://" + bucket + "/" + object
}

// putAvro writes rows as an Avro file of the given schema to
// gs://sources/object and returns its URI.
func (e *loadEnv) putAvro(t testing.TB, object, schema string, rows ...map[string]any) string {
	t.Helper()
	return e.put(t, object, avroFile(t, schema, rows))
}

func avroFile(t testing.TB, schema string, rows []map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: schema})
	if err != nil {
		t.Fatalf("NewOCFWriter: %v", err)
	}
	if err := w.Append(rows); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return buf.Bytes()
}

// hired is a row of hiredAvro; a zero department or job is NULL.
func hired(id int64, name string, ts time.Time, department, job int64) map[string]any {
	nullable := func(v int64) any {
		if v == 0 {
			return nil
		}
		return goavro.Union("long", v)
	}
	return map[string]any{"id": id, "name": name, "datetime": ts, "department_id": nullable(department), "job_id": nullable(job)}
}

// loadOpts configure a load job beyond its defaults (AVRO with logical
// types, the Loader's default dispositions).
type loadOpts struct {
	write        bigquery.TableWriteDisposition
	create       bigquery.TableCreateDisposition
	schema       bigquery.Schema
	noLogical    bool
	sourceFormat bigquery.DataFormat
	jobID        string
	labels       map[string]string
}

// load runs a load job into d.table and returns its final status; err is
// the job's error or the API's.
func (e *loadEnv) load(t testing.TB, table string, o loadOpts, uris ...string) (*bigquery.Job, *bigquery.JobStatus, error) {
	t.Helper()
	ctx := context.Background()
	ref := bigquery.NewGCSReference(uris...)
	ref.SourceFormat = bigquery.Avro
	if o.sourceFormat != "" {
		ref.SourceFormat = o.sourceFormat
	}
	ref.AvroOptions = &bigquery.AvroOptions{UseAvroLogicalTypes: !o.noLogical}
	ref.Schema = o.schema
	l := e.client.Dataset("d").Table(table).LoaderFrom(ref)
	l.WriteDisposition = o.write
	l.CreateDisposition = o.create
	l.JobID = o.jobID
	l.Labels = o.labels
	job, err := l.Run(ctx)
	if err != nil {
		return nil, nil, err
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return job, nil, err
	}
	return job, status, status.Err()
}

// mustLoad runs a load job that must succeed and returns its statistics.
func (e *loadEnv) mustLoad(t testing.TB, table string, o loadOpts, uris ...string) *bigquery.LoadStatistics {
	t.Helper()
	_, status, err := e.load(t, table, o, uris...)
	if err != nil {
		t.Fatalf("load %v into d.%s: %v", uris, table, err)
	}
	return status.Statistics.Details.(*bigquery.LoadStatistics)
}

// failLoad runs a load job that must fail with reason and a message that
// contains each of parts.
func (e *loadEnv) failLoad(t testing.TB, table string, o loadOpts, reason string, parts []string, uris ...string) {
	t.Helper()
	_, _, err := e.load(t, table, o, uris...)
	if err == nil {
		t.Fatalf("load %v into d.%s succeeded, want reason %s", uris, table, reason)
	}
	if got := reasonOf(err); got != reason {
		t.Errorf("load %v: reason %q, want %q (%v)", uris, got, reason, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("load %v: error %v does not contain %q", uris, err, p)
		}
	}
}

// createTable creates d.name with md.
func (e *loadEnv) createTable(t testing.TB, name string, md *bigquery.TableMetadata) {
	t.Helper()
	if err := e.client.Dataset("d").Table(name).Create(context.Background(), md); err != nil {
		t.Fatalf("Create d.%s: %v", name, err)
	}
}

// metadata returns the metadata of d.name.
func (e *loadEnv) metadata(t testing.TB, name string) *bigquery.TableMetadata {
	t.Helper()
	md, err := e.client.Dataset("d").Table(name).Metadata(context.Background())
	if err != nil {
		t.Fatalf("Metadata d.%s: %v", name, err)
	}
	return md
}

var (
	t1 = time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
	t2 = time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)
	t3 = time.Date(2021, 1, 1, 0, 0, 0, 1000, time.UTC)
)

func TestLoad_AppendTwice(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	ctx := context.Background()
	e.createTable(t, "hired", &bigquery.TableMetadata{Schema: hiredSchema})
	before := e.metadata(t, "hired")
	first := e.putAvro(t, "batch/1.avro", hiredAvro,
		hired(1, "Harold Vogt", t1, 2, 96),
		hired(2, "Ty Hofer", t2, 0, 0))
	second := e.putAvro(t, "batch/2.avro", hiredAvro, hired(3, "Lyman Hadye", t3, 5, 0))

	job, status, err := e.load(t, "hired", loadOpts{jobID: "load-batch-1", labels: map[string]string{"source": "test"}}, first)
	if err != nil {
		t.Fatalf("first load: %v", err)
	}
	attrs, err := e.storage.Bucket(bucket).Object("batch/1.avro").Attrs(ctx)
	if err != nil {
		t.Fatalf("Attrs: %v", err)
	}
	stats := status.Statistics.Details.(*bigquery.LoadStatistics)
	if stats.OutputRows != 2 || stats.InputFiles != 1 || stats.InputFileBytes != attrs.Size || stats.OutputBytes <= 0 {
		t.Errorf("first load statistics = %+v, want 2 rows from 1 file of %d bytes and some output bytes", stats, attrs.Size)
	}
	if job.ID() != "load-batch-1" {
		t.Errorf("job id = %q", job.ID())
	}
	cfg, err := job.Config()
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	lc, ok := cfg.(*bigquery.LoadConfig)
	if !ok {
		t.Fatalf("echoed config is %T, want *bigquery.LoadConfig", cfg)
	}
	src, ok := lc.Src.(*bigquery.GCSReference)
	if !ok || src.SourceFormat != bigquery.Avro || !lc.UseAvroLogicalTypes || lc.WriteDisposition != bigquery.WriteAppend ||
		lc.CreateDisposition != bigquery.CreateIfNeeded || lc.Labels["source"] != "test" || lc.Dst.TableID != "hired" {
		t.Errorf("echoed config = %+v, source %+v", lc, lc.Src)
	}
	_, _, err = e.load(t, "hired", loadOpts{jobID: "load-batch-1"}, first)
	apiError(t, err, 409, "duplicate")

	stats = e.mustLoad(t, "hired", loadOpts{write: bigquery.WriteAppend}, second)
	if stats.OutputRows != 1 || stats.InputFiles != 1 {
		t.Errorf("second load statistics = %+v, want 1 row from 1 file", stats)
	}
	rows := e.read(t, "SELECT id, name, datetime, UNIX_MICROS(datetime), department_id, job_id FROM d.hired ORDER BY id")
	want := [][]bigquery.Value{
		{int64(1), "Harold Vogt", t1, t1.UnixMicro(), int64(2), int64(96)},
		{int64(2), "Ty Hofer", t2, t2.UnixMicro(), nil, nil},
		{int64(3), "Lyman Hadye", t3, t3.UnixMicro(), int64(5), nil},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows after two loads (-want +got):\n%s", diff)
	}
	after := e.metadata(t, "hired")
	if after.ETag == before.ETag || after.LastModifiedTime.Before(before.LastModifiedTime) || after.NumRows != 3 {
		t.Errorf("after loads: etag %q (was %q), modified %v (was %v), %d rows", after.ETag, before.ETag, after.LastModifiedTime, before.LastModifiedTime, after.NumRows)
	}
	if diff := cmp.Diff(hiredSchema, after.Schema); diff != "" {
		t.Errorf("schema changed by appends (-want +got):\n%s", diff)
	}
}

func TestLoad_Sources(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	for i := range 3 {
		e.putAvro(t, fmt.Sprintf("export/part-%d.avro", i), hiredAvro, hired(int64(i+1), "n", t1, 1, 1), hired(int64(i+10), "m", t1, 1, 1))
	}
	e.putAvro(t, "export/part-9.json", hiredAvro, hired(99, "other suffix", t1, 1, 1))
	e.putAvro(t, "exports/part-0.avro", hiredAvro, hired(98, "other prefix", t1, 1, 1))
	cases := []struct {
		name   string
		uris   []string
		rows   int64
		files  int64
		reason string
	}{
		{name: "wildcard", uris: []string{"gs://sources/export/part-*.avro"}, rows: 6, files: 3},
		{name: "wildcard at the end", uris: []string{"gs://sources/export/*"}, rows: 7, files: 4},
		{name: "several URIs", uris: []string{"gs://sources/export/part-0.avro", "gs://sources/exports/part-0.avro"}, rows: 3, files: 2},
		{name: "missing object", uris: []string{"gs://sources/export/part-0.avro", "gs://sources/export/nope.avro"}, reason: "notFound"},
		{name: "wildcard without match", uris: []string{"gs://sources/none/*.avro"}, reason: "notFound"},
		{name: "missing bucket", uris: []string{"gs://no-such-bucket/x.avro"}, reason: "notFound"},
		{name: "two wildcards", uris: []string{"gs://sources/*/part-*.avro"}, reason: "invalid"},
		{name: "not a gs URI", uris: []string{"https://example.com/x.avro"}, reason: "invalid"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := fmt.Sprintf("t%d", i)
			if tc.reason != "" {
				e.failLoad(t, table, loadOpts{}, tc.reason, []string{tc.uris[len(tc.uris)-1]}, tc.uris...)
				if _, err := e.client.Dataset("d").Table(table).Metadata(context.Background()); err == nil {
					t.Errorf("a failed load created d.%s", table)
				}
				return
			}
			stats := e.mustLoad(t, table, loadOpts{}, tc.uris...)
			if stats.OutputRows != tc.rows || stats.InputFiles != tc.files {
				t.Errorf("statistics = %+v, want %d rows from %d files", stats, tc.rows, tc.files)
			}
			got := e.read(t, fmt.Sprintf("SELECT COUNT(*), COUNT(DISTINCT id) FROM d.%s", table))
			if diff := cmp.Diff([][]bigquery.Value{{tc.rows, tc.rows}}, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoad_WriteDispositions(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	md := &bigquery.TableMetadata{
		Description:      "hires",
		Schema:           hiredSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "datetime"},
		Clustering:       &bigquery.Clustering{Fields: []string{"department_id"}},
	}
	old := e.putAvro(t, "old.avro", hiredAvro, hired(1, "old one", t1, 1, 1), hired(2, "old two", t1, 1, 1))
	restore := e.putAvro(t, "restore.avro", hiredAvro, hired(7, "restored", t2, 3, 0))
	const otherAvro = `{"type": "record", "name": "r", "fields": [
		{"name": "datetime", "type": {"type": "long", "logicalType": "timestamp-micros"}},
		{"name": "department_id", "type": "long"},
		{"name": "note", "type": ["null", "string"]}
	]}`
	other := e.putAvro(t, "other.avro", otherAvro, map[string]any{"datetime": t3, "department_id": int64(4), "note": goavro.Union("string", "x")})

	t.Run("WRITE_TRUNCATE_DATA keeps the schema", func(t *testing.T) {
		t.Parallel()
		e.createTable(t, "data", md)
		e.mustLoad(t, "data", loadOpts{}, old)
		e.mustLoad(t, "data", loadOpts{write: bigquery.WriteTruncateData}, restore)
		got := e.metadata(t, "data")
		if diff := cmp.Diff(hiredSchema, got.Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(md.TimePartitioning, got.TimePartitioning); diff != "" || got.Description != "hires" || got.Clustering == nil {
			t.Errorf("partitioning (-want +got):\n%s\ndescription %q, clustering %v", diff, got.Description, got.Clustering)
		}
		rows := e.read(t, "SELECT id, name, datetime FROM d.data")
		if diff := cmp.Diff([][]bigquery.Value{{int64(7), "restored", t2}}, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		long := strings.Repeat("é", 256)
		e.exec(t, "DELETE d.data WHERE TRUE")
		_, err := e.tryRead("INSERT d.data (id, name, datetime) VALUES (1, @n, CURRENT_TIMESTAMP())", bigquery.QueryParameter{Name: "n", Value: long})
		if err == nil {
			t.Error("maxLength not enforced after WRITE_TRUNCATE_DATA")
		}
	})
	t.Run("WRITE_TRUNCATE replaces the schema", func(t *testing.T) {
		t.Parallel()
		e.createTable(t, "trunc", md)
		e.mustLoad(t, "trunc", loadOpts{}, old)
		e.mustLoad(t, "trunc", loadOpts{write: bigquery.WriteTruncate}, other)
		got := e.metadata(t, "trunc")
		want := bigquery.Schema{
			{Name: "datetime", Type: bigquery.TimestampFieldType, Required: true},
			{Name: "department_id", Type: bigquery.IntegerFieldType, Required: true},
			{Name: "note", Type: bigquery.StringFieldType},
		}
		if diff := cmp.Diff(want, got.Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(md.TimePartitioning, got.TimePartitioning); diff != "" || got.Description != "hires" || got.Clustering == nil {
			t.Errorf("partitioning (-want +got):\n%s\ndescription %q, clustering %v: want them kept", diff, got.Description, got.Clustering)
		}
		rows := e.read(t, "SELECT * FROM d.trunc")
		if diff := cmp.Diff([][]bigquery.Value{{t3, int64(4), "x"}}, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("WRITE_TRUNCATE cannot drop the partitioning column", func(t *testing.T) {
		t.Parallel()
		e.createTable(t, "part", md)
		noDatetime := e.putAvro(t, "nodatetime.avro", `{"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"}]}`, map[string]any{"id": int64(1)})
		e.failLoad(t, "part", loadOpts{write: bigquery.WriteTruncate}, "invalid", []string{"partitioning"}, noDatetime)
		if got := e.metadata(t, "part"); len(got.Schema) != len(hiredSchema) {
			t.Errorf("schema after a failed WRITE_TRUNCATE = %v", got.Schema)
		}
	})
	t.Run("WRITE_EMPTY", func(t *testing.T) {
		t.Parallel()
		e.createTable(t, "empty", md)
		e.mustLoad(t, "empty", loadOpts{write: bigquery.WriteEmpty}, old)
		e.failLoad(t, "empty", loadOpts{write: bigquery.WriteEmpty}, "duplicate", []string{"d.empty"}, restore)
		if got := e.read(t, "SELECT COUNT(*) FROM d.empty"); got[0][0] != int64(2) {
			t.Errorf("rows after a refused WRITE_EMPTY = %v, want 2", got[0][0])
		}
	})
	t.Run("CREATE_NEVER", func(t *testing.T) {
		t.Parallel()
		e.failLoad(t, "never", loadOpts{create: bigquery.CreateNever}, "notFound", []string{"d.never"}, old)
	})
}

func TestLoad_Atomic(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	good := e.putAvro(t, "good.avro", hiredAvro, hired(10, "new", t3, 1, 1), hired(11, "new", t3, 1, 1))
	nullableAvro := strings.Replace(hiredAvro, `{"name": "id", "type": "long"}`, `{"name": "id", "type": ["null", "long"]}`, 1)
	someID := hired(12, "ok", t3, 1, 1)
	someID["id"] = goavro.Union("long", int64(12))
	nullID := hired(13, "no id", t3, 1, 1)
	nullID["id"] = nil
	valid := avroFile(t, hiredAvro, []map[string]any{hired(13, "cut", t3, 1, 1), hired(14, "cut", t3, 1, 1)})
	cases := []struct {
		name  string
		write bigquery.TableWriteDisposition
		bad   func(t *testing.T) string
		parts []string
	}{
		{"NULL in a REQUIRED column", bigquery.WriteAppend, func(t *testing.T) string {
			return e.putAvro(t, "null.avro", nullableAvro, someID, nullID)
		}, []string{"Field id", "gs://sources/null.avro"}},
		{"truncated file", bigquery.WriteAppend, func(t *testing.T) string {
			return e.put(t, "truncated.avro", valid[:len(valid)-20])
		}, []string{"gs://sources/truncated.avro"}},
		{"not Avro", bigquery.WriteTruncate, func(t *testing.T) string {
			return e.put(t, "garbage.avro", []byte("id,name\n1,x\n"))
		}, []string{"gs://sources/garbage.avro"}},
		{"too long for maxLength", bigquery.WriteTruncateData, func(t *testing.T) string {
			return e.putAvro(t, "long.avro", hiredAvro, hired(15, "ok", t3, 1, 1), hired(16, strings.Repeat("x", 256), t3, 1, 1))
		}, []string{"name", "STRING(255)", "row 2", "gs://sources/long.avro"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := fmt.Sprintf("t%d", i)
			e.createTable(t, table, &bigquery.TableMetadata{Schema: hiredSchema, Description: "kept"})
			e.exec(t, fmt.Sprintf("INSERT d.%s (id, name, datetime, department_id) VALUES (1, 'old', TIMESTAMP '2021-01-01 00:00:00+00', 4), (2, 'older', TIMESTAMP '2020-01-01 00:00:00+00', NULL)", table))
			before := e.metadata(t, table)
			query := fmt.Sprintf("SELECT id, name, datetime, department_id, job_id FROM d.%s ORDER BY id", table)
			rowsBefore := e.read(t, query)
			e.failLoad(t, table, loadOpts{write: tc.write}, "invalid", tc.parts, good, tc.bad(t))
			after := e.metadata(t, table)
			if diff := cmp.Diff(rowsBefore, e.read(t, query)); diff != "" {
				t.Errorf("rows changed by a failed load (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before.Schema, after.Schema); diff != "" {
				t.Errorf("schema changed by a failed load (-before +after):\n%s", diff)
			}
			if after.ETag != before.ETag || !after.LastModifiedTime.Equal(before.LastModifiedTime) || after.Description != "kept" {
				t.Errorf("metadata changed by a failed load: etag %q → %q, modified %v → %v", before.ETag, after.ETag, before.LastModifiedTime, after.LastModifiedTime)
			}
		})
	}
}

func TestLoad_SchemaErrors(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	field := func(name, typ string) string { return fmt.Sprintf(`{"name": %q, "type": %s}`, name, typ) }
	record := func(fields ...string) string {
		return `{"type": "record", "name": "r", "fields": [` + strings.Join(fields, ", ") + `]}`
	}
	base := []string{field("id", `"long"`), field("name", `"string"`), field("datetime", `{"type": "long", "logicalType": "timestamp-micros"}`)}
	row := map[string]any{"id": int64(1), "name": "n", "datetime": t1}
	cases := []struct {
		name   string
		schema string
		row    map[string]any
		opts   loadOpts
		reason string // empty: the load succeeds
		parts  []string
	}{
		{name: "type differs", schema: record(field("id", `"long"`), field("name", `"long"`), base[2]),
			row: map[string]any{"id": int64(1), "name": int64(2), "datetime": t1}, reason: "invalid",
			parts: []string{"Provided Schema does not match Table test-project:d.t0. Field name has changed type from STRING to INTEGER"}},
		{name: "REQUIRED column missing", schema: record(base[0], base[1]), row: map[string]any{"id": int64(1), "name": "n"}, reason: "invalid",
			parts: []string{"Field datetime is missing in new schema"}},
		{name: "extra field", schema: record(append(base, field("extra", `"string"`))...), row: map[string]any{"id": int64(1), "name": "n", "datetime": t1, "extra": "e"},
			reason: "invalid", parts: []string{"Cannot add fields (field: extra)"}},
		{name: "REQUIRED column from a nullable field", schema: record(field("id", `["null", "long"]`), base[1], base[2]),
			row: map[string]any{"id": goavro.Union("long", int64(1)), "name": "n", "datetime": t1}, reason: "invalid",
			parts: []string{"Field id has changed mode from REQUIRED to NULLABLE"}},
		{name: "array", schema: record(append(base, field("tags", `{"type": "array", "items": "string"}`))...),
			row: map[string]any{"id": int64(1), "name": "n", "datetime": t1, "tags": []any{"a"}}, reason: "invalid",
			parts: []string{"Unsupported Avro type for field tags", "not supported by the emulator"}},
		{name: "record", schema: record(append(base, field("sub", `{"type": "record", "name": "s", "fields": [{"name": "a", "type": "long"}]}`))...),
			row: map[string]any{"id": int64(1), "name": "n", "datetime": t1, "sub": map[string]any{"a": int64(1)}}, reason: "invalid",
			parts: []string{"field sub", "not supported by the emulator"}},
		{name: "union of two types", schema: record(base[0], field("name", `["null", "string", "long"]`), base[2]),
			row: map[string]any{"id": int64(1), "name": goavro.Union("string", "n"), "datetime": t1}, reason: "invalid",
			parts: []string{"field name", "not supported by the emulator"}},
		{name: "timestamp without logical types", schema: record(base...), row: row, opts: loadOpts{noLogical: true}, reason: "invalid",
			parts: []string{"Field datetime has changed type from TIMESTAMP to INTEGER"}},
		{name: "JSON", schema: record(base...), row: row, opts: loadOpts{sourceFormat: bigquery.JSON}, reason: "invalid",
			parts: []string{"NEWLINE_DELIMITED_JSON", "not supported by the emulator"}},
		{name: "an Avro file read as CSV", schema: record(base...), row: row, opts: loadOpts{sourceFormat: bigquery.CSV}, reason: "invalid",
			parts: []string{"Error while reading data", "File: gs://sources/t"}},
		{name: "explicit schema that the table refuses", schema: record(base...), row: row, reason: "invalid",
			opts:  loadOpts{schema: bigquery.Schema{{Name: "id", Type: bigquery.StringFieldType}}},
			parts: []string{"Field id has changed type from INTEGER to STRING"}},
		{name: "names ignore case, NULLABLE columns may be missing", schema: record(field("ID", `"long"`), field("Name", `"string"`), base[2]),
			row: map[string]any{"ID": int64(1), "Name": "n", "datetime": t1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := fmt.Sprintf("t%d", i)
			e.createTable(t, table, &bigquery.TableMetadata{Schema: hiredSchema})
			uri := e.putAvro(t, table+".avro", tc.schema, tc.row)
			if tc.reason == "" {
				e.mustLoad(t, table, tc.opts, uri)
				rows := e.read(t, fmt.Sprintf("SELECT id, name, datetime, department_id, job_id FROM d.%s", table))
				if diff := cmp.Diff([][]bigquery.Value{{int64(1), "n", t1, nil, nil}}, rows); diff != "" {
					t.Errorf("rows (-want +got):\n%s", diff)
				}
				return
			}
			e.failLoad(t, table, tc.opts, tc.reason, tc.parts, uri)
			if n := e.read(t, "SELECT COUNT(*) FROM d."+table)[0][0]; n != int64(0) {
				t.Errorf("a failed load left %v rows", n)
			}
		})
	}
	t.Run("no Cloud Storage client", func(t *testing.T) {
		t.Parallel()
		bare := &loadEnv{env: newEnv(t, "")}
		bare.dataset(t, "d")
		bare.failLoad(t, "t", loadOpts{}, "invalid", []string{"Cloud Storage"}, "gs://sources/t0.avro")
	})
}

func TestLoad_CreateTable(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	const allAvro = `{"type": "record", "name": "all", "fields": [
		{"name": "id", "type": "int"},
		{"name": "score", "type": ["double", "null"]},
		{"name": "ratio", "type": "float"},
		{"name": "active", "type": "boolean"},
		{"name": "label", "type": ["null", "string"]},
		{"name": "blob", "type": "bytes"},
		{"name": "hired_at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
		{"name": "hire_date", "type": {"type": "int", "logicalType": "date"}}
	]}`
	day := time.Date(2021, 2, 28, 0, 0, 0, 0, time.UTC)
	ms := time.Date(2021, 7, 27, 16, 2, 8, 123000000, time.UTC)
	uri := e.putAvro(t, "all.avro", allAvro,
		map[string]any{"id": int32(1), "score": goavro.Union("double", 2.5), "ratio": float32(0.5), "active": true,
			"label": goavro.Union("string", "x"), "blob": []byte{0, 1, 2}, "hired_at": goavro.Union("long.timestamp-millis", ms), "hire_date": day},
		map[string]any{"id": int32(2), "score": nil, "ratio": float32(-1), "active": false, "label": nil, "blob": []byte{}, "hired_at": nil, "hire_date": day.AddDate(-60, 0, 0)})

	t.Run("from the Avro schema", func(t *testing.T) {
		t.Parallel()
		e.mustLoad(t, "created", loadOpts{}, uri)
		want := bigquery.Schema{
			{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
			{Name: "score", Type: bigquery.FloatFieldType},
			{Name: "ratio", Type: bigquery.FloatFieldType, Required: true},
			{Name: "active", Type: bigquery.BooleanFieldType, Required: true},
			{Name: "label", Type: bigquery.StringFieldType},
			{Name: "blob", Type: bigquery.BytesFieldType, Required: true},
			{Name: "hired_at", Type: bigquery.TimestampFieldType},
			{Name: "hire_date", Type: bigquery.DateFieldType, Required: true},
		}
		if diff := cmp.Diff(want, e.metadata(t, "created").Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		rows := e.read(t, "SELECT * FROM d.created ORDER BY id")
		wantRows := [][]bigquery.Value{
			{int64(1), 2.5, 0.5, true, "x", []byte{0, 1, 2}, ms, civil.DateOf(day)},
			{int64(2), nil, -1.0, false, nil, []byte{}, nil, civil.DateOf(day.AddDate(-60, 0, 0))},
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("from the job's schema", func(t *testing.T) {
		t.Parallel()
		schema := bigquery.Schema{
			{Name: "id", Type: bigquery.IntegerFieldType, Required: true, Description: "the key"},
			{Name: "score", Type: bigquery.FloatFieldType},
			{Name: "ratio", Type: bigquery.FloatFieldType},
			{Name: "active", Type: bigquery.BooleanFieldType},
			{Name: "label", Type: bigquery.StringFieldType, MaxLength: 10},
			{Name: "blob", Type: bigquery.BytesFieldType},
			{Name: "hired_at", Type: bigquery.TimestampFieldType},
			{Name: "hire_date", Type: bigquery.DateFieldType},
			{Name: "extra", Type: bigquery.StringFieldType},
		}
		e.mustLoad(t, "explicit", loadOpts{schema: schema}, uri)
		if diff := cmp.Diff(schema, e.metadata(t, "explicit").Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		rows := e.read(t, "SELECT id, label, extra FROM d.explicit ORDER BY id")
		if diff := cmp.Diff([][]bigquery.Value{{int64(1), "x", nil}, {int64(2), nil, nil}}, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("without logical types", func(t *testing.T) {
		t.Parallel()
		e.mustLoad(t, "raw", loadOpts{noLogical: true}, uri)
		got := e.metadata(t, "raw").Schema
		if got[6].Type != bigquery.IntegerFieldType || got[7].Type != bigquery.IntegerFieldType {
			t.Errorf("hired_at and hire_date load as %s and %s, want INTEGER", got[6].Type, got[7].Type)
		}
		rows := e.read(t, "SELECT hired_at, hire_date FROM d.raw ORDER BY id")
		want := [][]bigquery.Value{{ms.UnixMilli(), day.Unix() / 86400}, {nil, day.AddDate(-60, 0, 0).Unix() / 86400}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
}

// BenchmarkLoadAvro loads one Avro file of a million hired_employees rows
// and reports the rows loaded per second.
// TestLoad_ClientGone checks that a load job runs to its end when the
// client that inserted it goes away mid-job (killed, or timed out), as a
// BigQuery job does: asked for again by its id, it is DONE and loaded.
func TestLoad_ClientGone(t *testing.T) {
	t.Parallel()
	gate := &readGate{object: "slow.avro", reading: make(chan struct{}), release: make(chan struct{})}
	e := newLoadEnvVia(t, gate)
	uri := e.putAvro(t, "slow.avro", hiredAvro, hired(1, "Ada", time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC), 1, 2))

	ctx, cancel := context.WithCancel(context.Background())
	ref := bigquery.NewGCSReference(uri)
	ref.SourceFormat = bigquery.Avro
	ref.AvroOptions = &bigquery.AvroOptions{UseAvroLogicalTypes: true}
	l := e.client.Dataset("d").Table("gone").LoaderFrom(ref)
	l.JobID = "client_gone"
	ran := make(chan error, 1)
	go func() {
		_, err := l.Run(ctx)
		ran <- err
	}()
	<-gate.reading
	cancel()
	if err := <-ran; err == nil {
		t.Fatal("jobs.insert answered after its client was gone")
	}
	// The server notices the closed connection within this time; a job
	// tied to the request fails then, before the read goes on.
	time.Sleep(500 * time.Millisecond)
	close(gate.release)

	job, err := e.client.JobFromID(context.Background(), "client_gone")
	if err != nil {
		t.Fatalf("JobFromID: %v", err)
	}
	status, err := job.Wait(context.Background())
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := status.Err(); err != nil {
		t.Fatalf("the job failed when its client went away: %v", err)
	}
	if got := e.read(t, "SELECT id FROM d.gone"); len(got) != 1 || got[0][0] != int64(1) {
		t.Errorf("d.gone holds %v, want the row of id 1", got)
	}
}

// readGate is a transport that holds the first download of an object until
// release is closed, and says when it starts on reading; the download fails
// if its request is cancelled meanwhile.
type readGate struct {
	object  string
	once    sync.Once
	reading chan struct{}
	release chan struct{}
}

func (g *readGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+g.object) {
		g.once.Do(func() { close(g.reading) })
		select {
		case <-g.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func BenchmarkLoadAvro(b *testing.B) {
	const rows = 1_000_000
	e := newLoadEnv(b)
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: hiredAvro, CompressionName: goavro.CompressionSnappyLabel})
	if err != nil {
		b.Fatalf("NewOCFWriter: %v", err)
	}
	batch := make([]map[string]any, 0, 10_000)
	for i := range rows {
		batch = append(batch, hired(int64(i+1), fmt.Sprintf("Employee %d", i), t1.Add(time.Duration(i)*time.Second), int64(i%12+1), int64(i%180+1)))
		if len(batch) == cap(batch) {
			if err := w.Append(batch); err != nil {
				b.Fatalf("Append: %v", err)
			}
			batch = batch[:0]
		}
	}
	uri := e.put(b, "bench.avro", buf.Bytes())
	e.createTable(b, "bench", &bigquery.TableMetadata{Schema: hiredSchema})
	n := 0
	for b.Loop() {
		stats := e.mustLoad(b, "bench", loadOpts{write: bigquery.WriteTruncateData}, uri)
		if stats.OutputRows != rows {
			b.Fatalf("loaded %d rows, want %d", stats.OutputRows, rows)
		}
		n += rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(buf.Len())/1e6, "file-MB")
}
