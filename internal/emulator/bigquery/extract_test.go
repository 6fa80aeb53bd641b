package bigquery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
	"github.com/hamba/avro/v2/ocf"
	"github.com/linkedin/goavro/v2"
	"google.golang.org/api/iterator"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// newExtractEnv is an emulator with opts and a local Cloud Storage in
// opts.Storage, with the bucket "sources" and the dataset "d", as
// newLoadEnv makes.
func newExtractEnv(t testing.TB, opts emulator.Options) *loadEnv {
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
	if err != nil {
		t.Fatalf("gcs Client: %v", err)
	}
	t.Cleanup(func() { sc.Close() })
	opts.Storage = sc
	srv, err := emulator.New(ctx, opts)
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

// extractOpts configure an extract job beyond AVRO with logical types.
type extractOpts struct {
	format      bigquery.DataFormat
	compression bigquery.Compression
	noLogical   bool
	jobID       string
}

// extract extracts d.table (whose id may carry a decorator) to uris and
// returns the job, its final status, and its error, the API's or the job's.
func (e *loadEnv) extract(t testing.TB, table string, o extractOpts, uris ...string) (*bigquery.Job, *bigquery.JobStatus, error) {
	t.Helper()
	ctx := context.Background()
	ref := bigquery.NewGCSReference(uris...)
	ref.DestinationFormat = bigquery.Avro
	if o.format != "" {
		ref.DestinationFormat = o.format
	}
	ref.Compression = o.compression
	x := e.client.Dataset("d").Table(table).ExtractorTo(ref)
	x.UseAvroLogicalTypes = !o.noLogical
	x.JobID = o.jobID
	job, err := x.Run(ctx)
	if err != nil {
		return nil, nil, err
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return job, nil, err
	}
	return job, status, status.Err()
}

// mustExtract extracts d.table to uri and returns the job's statistics.
func (e *loadEnv) mustExtract(t testing.TB, table string, o extractOpts, uri string) *bigquery.ExtractStatistics {
	t.Helper()
	_, status, err := e.extract(t, table, o, uri)
	if err != nil {
		t.Fatalf("extract d.%s to %s: %v", table, uri, err)
	}
	return status.Statistics.Details.(*bigquery.ExtractStatistics)
}

// failExtract extracts d.table to uris, which must fail with reason and a
// message that contains each of parts.
func (e *loadEnv) failExtract(t testing.TB, table string, o extractOpts, reason string, parts []string, uris ...string) {
	t.Helper()
	_, _, err := e.extract(t, table, o, uris...)
	if err == nil {
		t.Fatalf("extract d.%s to %v succeeded, want reason %s", table, uris, reason)
	}
	if got := reasonOf(err); got != reason {
		t.Errorf("extract d.%s: reason %q, want %q (%v)", table, got, reason, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("extract d.%s: error %v does not contain %q", table, err, p)
		}
	}
}

// objects returns the names and contents of the objects of the bucket whose
// names start with prefix, in name order.
func (e *loadEnv) objects(t testing.TB, prefix string) ([]string, [][]byte) {
	t.Helper()
	ctx := context.Background()
	var names []string
	var data [][]byte
	it := e.storage.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list %s: %v", prefix, err)
		}
		r, err := e.storage.Bucket(bucket).Object(attrs.Name).NewReader(ctx)
		if err != nil {
			t.Fatalf("open %s: %v", attrs.Name, err)
		}
		b, err := io.ReadAll(r)
		_ = r.Close()
		if err != nil {
			t.Fatalf("read %s: %v", attrs.Name, err)
		}
		names = append(names, attrs.Name)
		data = append(data, b)
	}
	return names, data
}

// rtSchema is the schema of the round-trip table: every type that a load
// job reads back from Avro, REQUIRED and NULLABLE.
var rtSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true, Description: "the key"},
	{Name: "name", Type: bigquery.StringFieldType, Required: true, MaxLength: 255},
	{Name: "hired_at", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "department_id", Type: bigquery.IntegerFieldType},
	{Name: "score", Type: bigquery.FloatFieldType},
	{Name: "active", Type: bigquery.BooleanFieldType},
	{Name: "raw", Type: bigquery.BytesFieldType},
	{Name: "day", Type: bigquery.DateFieldType},
	{Name: "seen", Type: bigquery.TimestampFieldType},
}

// rtAvroSchema is the Avro schema that an extract of rtSchema must have.
const rtAvroSchema = `{"type": "record", "name": "Root", "fields": [
	{"name": "id", "type": "long"},
	{"name": "name", "type": "string"},
	{"name": "hired_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
	{"name": "department_id", "type": ["null", "long"]},
	{"name": "score", "type": ["null", "double"]},
	{"name": "active", "type": ["null", "boolean"]},
	{"name": "raw", "type": ["null", "bytes"]},
	{"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
	{"name": "seen", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]}
]}`

// rtRecord is a row of rtSchema, as the hamba/avro reader decodes it.
type rtRecord struct {
	ID           int64      `avro:"id"`
	Name         string     `avro:"name"`
	At           time.Time  `avro:"hired_at"`
	DepartmentID *int64     `avro:"department_id"`
	Score        *float64   `avro:"score"`
	Active       *bool      `avro:"active"`
	Raw          []byte     `avro:"raw"`
	Day          *time.Time `avro:"day"`
	Seen         *time.Time `avro:"seen"`
}

// size is the row's logical size as BigQuery counts it: 8 bytes a number,
// timestamp or date, 1 a boolean, 2 plus the length a string or bytes.
func (r rtRecord) size() int64 {
	n := 8 + 2 + int64(len(r.Name)) + 8
	if r.DepartmentID != nil {
		n += 8
	}
	if r.Score != nil {
		n += 8
	}
	if r.Active != nil {
		n++
	}
	if r.Raw != nil {
		n += 2 + int64(len(r.Raw))
	}
	if r.Day != nil {
		n += 8
	}
	if r.Seen != nil {
		n += 8
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// rtRows are the rows of the round-trip table, in insertion order.
var rtRows = []rtRecord{
	{ID: 3, Name: "", At: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), DepartmentID: ptr(int64(-5)), Score: ptr(-0.25), Active: ptr(false),
		Raw: []byte{0xff}, Day: ptr(time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)), Seen: ptr(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))},
	{ID: 1, Name: "Harold Vogt", At: t1, DepartmentID: ptr(int64(2)), Score: ptr(1.5), Active: ptr(true),
		Raw: []byte{0, 1, 2}, Day: ptr(time.Date(2021, 2, 28, 0, 0, 0, 0, time.UTC)), Seen: ptr(t3)},
	{ID: 2, Name: "Ty Hofer ü 日本", At: t2},
}

// createRT creates d.rt with rtRows.
func (e *loadEnv) createRT(t testing.TB) {
	t.Helper()
	e.createTable(t, "rt", &bigquery.TableMetadata{Schema: rtSchema})
	for _, r := range rtRows {
		if r.DepartmentID == nil {
			e.exec(t, "INSERT d.rt (id, name, hired_at) VALUES (@id, @name, @at)",
				bigquery.QueryParameter{Name: "id", Value: r.ID},
				bigquery.QueryParameter{Name: "name", Value: r.Name},
				bigquery.QueryParameter{Name: "at", Value: r.At})
			continue
		}
		e.exec(t, "INSERT d.rt (id, name, hired_at, department_id, score, active, raw, day, seen) VALUES (@id, @name, @at, @dept, @score, @active, @raw, @day, @seen)",
			bigquery.QueryParameter{Name: "id", Value: r.ID},
			bigquery.QueryParameter{Name: "name", Value: r.Name},
			bigquery.QueryParameter{Name: "at", Value: r.At},
			bigquery.QueryParameter{Name: "dept", Value: *r.DepartmentID},
			bigquery.QueryParameter{Name: "score", Value: *r.Score},
			bigquery.QueryParameter{Name: "active", Value: *r.Active},
			bigquery.QueryParameter{Name: "raw", Value: r.Raw},
			bigquery.QueryParameter{Name: "day", Value: civil.DateOf(*r.Day)},
			bigquery.QueryParameter{Name: "seen", Value: *r.Seen})
	}
}

// readGoavro decodes an OCF file with goavro into its schema (as JSON
// values), its codec and its records.
func readGoavro(t testing.TB, data []byte) (any, string, []map[string]any) {
	t.Helper()
	r, err := goavro.NewOCFReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("goavro NewOCFReader: %v", err)
	}
	var schema any
	if err := json.Unmarshal(r.MetaData()["avro.schema"], &schema); err != nil {
		t.Fatalf("the file's schema is not JSON: %v", err)
	}
	var records []map[string]any
	for r.Scan() {
		v, err := r.Read()
		if err != nil {
			t.Fatalf("goavro Read: %v", err)
		}
		records = append(records, v.(map[string]any))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("goavro: %v", err)
	}
	return schema, string(r.MetaData()["avro.codec"]), records
}

// unwrap returns the value of a goavro union, or v itself.
func unwrap(v any) any {
	if u, ok := v.(map[string]any); ok && len(u) == 1 {
		for _, inner := range u {
			return inner
		}
	}
	return v
}

// rtFromGoavro converts a record that goavro decoded to an rtRecord.
func rtFromGoavro(t testing.TB, m map[string]any) rtRecord {
	t.Helper()
	r := rtRecord{ID: m["id"].(int64), Name: m["name"].(string), At: m["hired_at"].(time.Time)}
	if v := unwrap(m["department_id"]); v != nil {
		r.DepartmentID = ptr(v.(int64))
	}
	if v := unwrap(m["score"]); v != nil {
		r.Score = ptr(v.(float64))
	}
	if v := unwrap(m["active"]); v != nil {
		r.Active = ptr(v.(bool))
	}
	if v := unwrap(m["raw"]); v != nil {
		r.Raw = v.([]byte)
	}
	if v := unwrap(m["day"]); v != nil {
		r.Day = ptr(v.(time.Time))
	}
	if v := unwrap(m["seen"]); v != nil {
		r.Seen = ptr(v.(time.Time))
	}
	return r
}

// readHamba decodes an OCF file with hamba/avro into records of type T.
func readHamba[T any](t testing.TB, data []byte) []T {
	t.Helper()
	dec, err := ocf.NewDecoder(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("hamba NewDecoder: %v", err)
	}
	var out []T
	for dec.HasNext() {
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("hamba Decode: %v", err)
		}
		out = append(out, v)
	}
	if err := dec.Error(); err != nil {
		t.Fatalf("hamba: %v", err)
	}
	return out
}

func jsonValue(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

func TestExtract_RoundTrip(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	e.createRT(t)
	var size int64
	for _, r := range rtRows {
		size += r.size()
	}
	cases := []struct {
		compression bigquery.Compression
		codec       string
	}{
		{"", "null"},
		{bigquery.None, "null"},
		{bigquery.Deflate, "deflate"},
		{bigquery.Snappy, "snappy"},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("compression %q", tc.compression), func(t *testing.T) {
			t.Parallel()
			prefix := fmt.Sprintf("rt%d/", i)
			jobID := fmt.Sprintf("extract-rt-%d", i)
			job, status, err := e.extract(t, "rt", extractOpts{compression: tc.compression, jobID: jobID}, "gs://sources/"+prefix+"part-*.avro")
			if err != nil {
				t.Fatalf("extract: %v", err)
			}
			stats := status.Statistics.Details.(*bigquery.ExtractStatistics)
			if diff := cmp.Diff([]int64{1}, stats.DestinationURIFileCounts); diff != "" {
				t.Errorf("destinationUriFileCounts (-want +got):\n%s", diff)
			}
			if raw := e.rawJob(t, jobID); raw.Configuration.JobType != "EXTRACT" || raw.Statistics.Extract.InputBytes != size {
				t.Errorf("job type %q, inputBytes %d: want EXTRACT and %d", raw.Configuration.JobType, raw.Statistics.Extract.InputBytes, size)
			}
			cfg, err := job.Config()
			if err != nil {
				t.Fatalf("Config: %v", err)
			}
			if ec, ok := cfg.(*bigquery.ExtractConfig); !ok || ec.Dst.DestinationFormat != bigquery.Avro || !ec.UseAvroLogicalTypes || ec.Src.TableID != "rt" {
				t.Errorf("echoed config = %#v", cfg)
			}
			names, files := e.objects(t, prefix)
			if diff := cmp.Diff([]string{prefix + "part-000000000000.avro"}, names); diff != "" {
				t.Fatalf("files (-want +got):\n%s", diff)
			}
			schema, codec, records := readGoavro(t, files[0])
			if codec != tc.codec {
				t.Errorf("avro.codec = %q, want %q", codec, tc.codec)
			}
			if diff := cmp.Diff(jsonValue(t, rtAvroSchema), schema); diff != "" {
				t.Errorf("Avro schema (-want +got):\n%s", diff)
			}
			var fromGoavro []rtRecord
			for _, m := range records {
				fromGoavro = append(fromGoavro, rtFromGoavro(t, m))
			}
			if diff := cmp.Diff(rtRows, fromGoavro); diff != "" {
				t.Errorf("rows read with goavro (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(rtRows, readHamba[rtRecord](t, files[0])); diff != "" {
				t.Errorf("rows read with hamba/avro (-want +got):\n%s", diff)
			}

			back := fmt.Sprintf("rt_back%d", i)
			e.mustCopy(t, "rt", back, copyOpts{})
			stats3 := e.mustLoad(t, back, loadOpts{write: bigquery.WriteTruncateData}, "gs://sources/"+prefix+"*")
			if stats3.OutputRows != int64(len(rtRows)) {
				t.Errorf("loaded %d rows back, want %d", stats3.OutputRows, len(rtRows))
			}
			const query = "SELECT *, UNIX_MICROS(hired_at), UNIX_MICROS(seen) FROM d.%s ORDER BY id"
			if diff := cmp.Diff(e.read(t, fmt.Sprintf(query, "rt")), e.read(t, fmt.Sprintf(query, back))); diff != "" {
				t.Errorf("rows loaded back (-extracted +loaded):\n%s", diff)
			}
			if diff := cmp.Diff(rtSchema, e.metadata(t, back).Schema); diff != "" {
				t.Errorf("schema after loading back (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtract_Types(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	e.createTable(t, "types", &bigquery.TableMetadata{Schema: bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "n", Type: bigquery.NumericFieldType},
		{Name: "tm", Type: bigquery.TimeFieldType},
		{Name: "dt", Type: bigquery.DateTimeFieldType},
		{Name: "d", Type: bigquery.DateFieldType},
		{Name: "ts", Type: bigquery.TimestampFieldType},
	}})
	tm := civil.Time{Hour: 12, Minute: 34, Second: 56, Nanosecond: 789000}
	dt := civil.DateTime{Date: civil.Date{Year: 2021, Month: 2, Day: 28}, Time: tm}
	e.exec(t, "INSERT d.types (id, n, tm, dt, d, ts) VALUES (1, @n, @tm, @dt, @d, @ts)",
		bigquery.QueryParameter{Name: "n", Value: big.NewRat(-5, 4)},
		bigquery.QueryParameter{Name: "tm", Value: tm},
		bigquery.QueryParameter{Name: "dt", Value: dt},
		bigquery.QueryParameter{Name: "d", Value: dt.Date},
		bigquery.QueryParameter{Name: "ts", Value: t2})
	e.exec(t, "INSERT d.types (id) VALUES (2)")
	day := time.Date(2021, 2, 28, 0, 0, 0, 0, time.UTC)
	micros := (12*3600+34*60+56)*time.Second + 789*time.Microsecond
	numeric := map[string]any{"type": "bytes", "logicalType": "decimal", "precision": 38.0, "scale": 9.0}
	timestamp := map[string]any{"type": "long", "logicalType": "timestamp-micros"}
	cases := []struct {
		name      string
		noLogical bool
		types     []any // of n, tm, dt, d, ts
		values    []any // goavro's, of n, tm, dt, d, ts
	}{
		{"with logical types", false,
			[]any{numeric, map[string]any{"type": "long", "logicalType": "time-micros"}, map[string]any{"type": "string", "logicalType": "datetime"},
				map[string]any{"type": "int", "logicalType": "date"}, timestamp},
			[]any{big.NewRat(-5, 4), micros, "2021-02-28T12:34:56.000789", day, t2}},
		{"without logical types", true,
			[]any{numeric, "string", "string", "string", timestamp},
			[]any{big.NewRat(-5, 4), "12:34:56.000789", "2021-02-28T12:34:56.000789", "2021-02-28", t2}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := fmt.Sprintf("types%d/", i)
			e.mustExtract(t, "types", extractOpts{noLogical: tc.noLogical}, "gs://sources/"+prefix+"types.avro")
			_, files := e.objects(t, prefix)
			if len(files) != 1 {
				t.Fatalf("%d files, want 1", len(files))
			}
			schema, _, records := readGoavro(t, files[0])
			fields := []any{map[string]any{"name": "id", "type": "long"}}
			for j, name := range []string{"n", "tm", "dt", "d", "ts"} {
				fields = append(fields, map[string]any{"name": name, "type": []any{"null", tc.types[j]}})
			}
			want := map[string]any{"type": "record", "name": "Root", "fields": fields}
			if diff := cmp.Diff(want, schema); diff != "" {
				t.Errorf("Avro schema (-want +got):\n%s", diff)
			}
			if len(records) != 2 {
				t.Fatalf("%d records, want 2", len(records))
			}
			ratEqual := cmp.Comparer(func(a, b *big.Rat) bool { return a.Cmp(b) == 0 })
			got := []any{unwrap(records[0]["n"]), unwrap(records[0]["tm"]), unwrap(records[0]["dt"]), unwrap(records[0]["d"]), unwrap(records[0]["ts"])}
			if diff := cmp.Diff(tc.values, got, ratEqual); diff != "" {
				t.Errorf("values read with goavro (-want +got):\n%s", diff)
			}
			nulls := map[string]any{"id": int64(2), "n": nil, "tm": nil, "dt": nil, "d": nil, "ts": nil}
			if diff := cmp.Diff(nulls, records[1]); diff != "" {
				t.Errorf("NULLs read with goavro (-want +got):\n%s", diff)
			}
			byHamba := readHamba[map[string]any](t, files[0])
			if len(byHamba) != 2 {
				t.Fatalf("hamba read %d records, want 2", len(byHamba))
			}
			got = []any{unwrap(byHamba[0]["n"]), unwrap(byHamba[0]["tm"]), unwrap(byHamba[0]["dt"]), unwrap(byHamba[0]["d"]), unwrap(byHamba[0]["ts"])}
			if diff := cmp.Diff(tc.values, got, ratEqual); diff != "" {
				t.Errorf("values read with hamba/avro (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtract_Files(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	e := newExtractEnv(t, emulator.Options{ExtractFileBytes: limit})
	// 3000 rows in an order that is not the ids'; an extract keeps the
	// order of insertion.
	var rows []map[string]any
	var order []int64
	for i := range int64(3000) {
		id := (i*7919)%3000 + 1
		order = append(order, id)
		rows = append(rows, hired(id, fmt.Sprintf("Employee number %d", id), t1.Add(time.Duration(id)*time.Microsecond), id%12+1, 0))
	}
	e.createTable(t, "big", &bigquery.TableMetadata{Schema: hiredSchema})
	e.mustLoad(t, "big", loadOpts{}, e.putAvro(t, "big.avro", hiredAvro, rows...))
	e.createTable(t, "small", &bigquery.TableMetadata{Schema: hiredSchema})
	e.insertHired(t, "small", 1, 2)
	e.createTable(t, "empty", &bigquery.TableMetadata{Schema: hiredSchema})

	t.Run("a wildcard splits", func(t *testing.T) {
		t.Parallel()
		stats := e.mustExtract(t, "big", extractOpts{}, "gs://sources/split/part-*.avro")
		names, files := e.objects(t, "split/")
		if len(names) < 2 || !cmp.Equal(stats.DestinationURIFileCounts, []int64{int64(len(names))}) {
			t.Fatalf("%d files, destinationUriFileCounts %v: want several, counted", len(names), stats.DestinationURIFileCounts)
		}
		var ids []int64
		for i, name := range names {
			if want := fmt.Sprintf("split/part-%012d.avro", i); name != want {
				t.Errorf("file %d is %s, want %s", i, name, want)
			}
			if len(files[i]) > limit {
				t.Errorf("%s has %d bytes, more than the limit %d", name, len(files[i]), limit)
			}
			_, _, records := readGoavro(t, files[i])
			if len(records) == 0 {
				t.Errorf("%s has no rows", name)
			}
			for _, r := range records {
				ids = append(ids, r["id"].(int64))
			}
		}
		if diff := cmp.Diff(order, ids); diff != "" {
			t.Errorf("ids in the files, in order (-inserted +extracted):\n%s", diff)
		}
	})
	t.Run("one file over the limit", func(t *testing.T) {
		t.Parallel()
		e.failExtract(t, "big", extractOpts{}, "invalid", []string{"too large to be exported to a single file", "Specify a uri including a *"}, "gs://sources/single.avro")
		_, err := e.storage.Bucket(bucket).Object("single.avro").Attrs(context.Background())
		if !errors.Is(err, storage.ErrObjectNotExist) {
			t.Errorf("a failed extract left single.avro: %v", err)
		}
	})
	t.Run("one file under the limit", func(t *testing.T) {
		t.Parallel()
		stats := e.mustExtract(t, "small", extractOpts{compression: bigquery.Snappy}, "gs://sources/small.avro")
		_, files := e.objects(t, "small.avro")
		if len(files) != 1 || !cmp.Equal(stats.DestinationURIFileCounts, []int64{1}) {
			t.Fatalf("%d files, counted %v: want 1", len(files), stats.DestinationURIFileCounts)
		}
		if _, _, records := readGoavro(t, files[0]); len(records) != 2 {
			t.Errorf("%d rows, want 2", len(records))
		}
	})
	t.Run("an empty table", func(t *testing.T) {
		t.Parallel()
		stats := e.mustExtract(t, "empty", extractOpts{}, "gs://sources/empty/part-*.avro")
		names, files := e.objects(t, "empty/")
		if !cmp.Equal(names, []string{"empty/part-000000000000.avro"}) || !cmp.Equal(stats.DestinationURIFileCounts, []int64{1}) {
			t.Fatalf("files %v, counted %v: want one", names, stats.DestinationURIFileCounts)
		}
		schema, _, records := readGoavro(t, files[0])
		if len(records) != 0 || schema.(map[string]any)["name"] != "Root" {
			t.Errorf("%d rows and schema %v, want none and the table's", len(records), schema)
		}
	})
	t.Run("as of a time", func(t *testing.T) {
		t.Parallel()
		e.createTable(t, "grows", &bigquery.TableMetadata{Schema: hiredSchema})
		e.insertHired(t, "grows", 1, 2)
		then := mark(gap)
		e.insertHired(t, "grows", 3)
		e.mustExtract(t, "grows@"+ms(then), extractOpts{}, "gs://sources/grows.avro")
		_, files := e.objects(t, "grows.avro")
		_, _, records := readGoavro(t, files[0])
		var ids []int64
		for _, r := range records {
			ids = append(ids, r["id"].(int64))
		}
		if !cmp.Equal(ids, []int64{1, 2}) {
			t.Errorf("grows@then holds %v, want [1 2]", ids)
		}
	})
}

func TestExtract_Errors(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	ctx := context.Background()
	e.createTable(t, "t", &bigquery.TableMetadata{Schema: hiredSchema})
	e.insertHired(t, "t", 1)
	if err := e.client.Dataset("d").Table("view").Create(ctx, &bigquery.TableMetadata{ViewQuery: "SELECT id FROM d.t"}); err != nil {
		t.Fatalf("Create view: %v", err)
	}
	const uri = "gs://sources/out/*.avro"
	cases := []struct {
		name   string
		table  string
		opts   extractOpts
		uris   []string
		reason string
		parts  []string
	}{
		{name: "CSV with GZIP", table: "t", opts: extractOpts{format: bigquery.CSV, compression: bigquery.Gzip}, uris: []string{uri}, reason: "invalid", parts: []string{"Compression GZIP of CSV files", "not supported by the emulator"}},
		{name: "JSON", table: "t", opts: extractOpts{format: bigquery.JSON}, uris: []string{uri}, reason: "invalid", parts: []string{"NEWLINE_DELIMITED_JSON", "not supported by the emulator"}},
		{name: "GZIP", table: "t", opts: extractOpts{compression: bigquery.Gzip}, uris: []string{uri}, reason: "invalid", parts: []string{"GZIP"}},
		{name: "missing table", table: "missing", uris: []string{uri}, reason: "notFound", parts: []string{"d.missing"}},
		{name: "view", table: "view", uris: []string{uri}, reason: "invalid", parts: []string{"d.view", "VIEW"}},
		{name: "missing bucket", table: "t", uris: []string{"gs://no-such-bucket/x-*.avro"}, reason: "notFound", parts: []string{"no-such-bucket"}},
		{name: "two wildcards", table: "t", uris: []string{"gs://sources/*/x-*.avro"}, reason: "invalid", parts: []string{"one * wildcard"}},
		{name: "two URIs", table: "t", uris: []string{uri, "gs://sources/other/*.avro"}, reason: "invalid", parts: []string{"one destination URI"}},
		{name: "not a gs URI", table: "t", uris: []string{"https://example.com/x.avro"}, reason: "invalid", parts: []string{"gs://bucket/object"}},
		{name: "range decorator", table: "t@-1000-", uris: []string{uri}, reason: "invalid", parts: []string{"range decorators"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e.failExtract(t, tc.table, tc.opts, tc.reason, tc.parts, tc.uris...)
		})
	}
	t.Run("no Cloud Storage client", func(t *testing.T) {
		t.Parallel()
		bare := &loadEnv{env: newEnv(t, "")}
		bare.dataset(t, "d")
		bare.failExtract(t, "t", extractOpts{}, "invalid", []string{"Cloud Storage"}, uri)
	})
	t.Cleanup(func() {
		if names, _ := e.objects(t, "out/"); len(names) != 0 {
			t.Errorf("failed extracts wrote %v", names)
		}
	})
}

// benchTable creates d.name with rows hired_employees rows, loaded from one
// Avro file.
func benchTable(b *testing.B, e *loadEnv, name string, rows int) {
	b.Helper()
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: hiredAvro, CompressionName: goavro.CompressionSnappyLabel})
	if err != nil {
		b.Fatalf("NewOCFWriter: %v", err)
	}
	batch := make([]map[string]any, 0, 10_000)
	for i := range rows {
		batch = append(batch, hired(int64(i+1), fmt.Sprintf("Employee %d", i), t1.Add(time.Duration(i)*time.Second), int64(i%12+1), int64(i%180+1)))
		if len(batch) == cap(batch) || i == rows-1 {
			if err := w.Append(batch); err != nil {
				b.Fatalf("Append: %v", err)
			}
			batch = batch[:0]
		}
	}
	e.createTable(b, name, &bigquery.TableMetadata{Schema: hiredSchema})
	e.mustLoad(b, name, loadOpts{}, e.put(b, name+".avro", buf.Bytes()))
}

// BenchmarkExtract extracts a table of a million hired_employees rows to
// snappy Avro files and reports the rows extracted per second.
func BenchmarkExtract(b *testing.B) {
	const rows = 1_000_000
	e := newLoadEnv(b)
	benchTable(b, e, "bench", rows)
	n, i := 0, 0
	var files int64
	for b.Loop() {
		stats := e.mustExtract(b, "bench", extractOpts{compression: bigquery.Snappy}, fmt.Sprintf("gs://sources/bench/%d/part-*.avro", i))
		files += stats.DestinationURIFileCounts[0]
		n += rows
		i++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(files)/float64(i), "files/op")
}
