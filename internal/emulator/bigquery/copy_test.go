package bigquery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	bqapi "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
)

// copyOpts configure a copy job beyond the Copier's defaults.
type copyOpts struct {
	write  bigquery.TableWriteDisposition
	create bigquery.TableCreateDisposition
	op     bigquery.TableCopyOperationType
	jobID  string
	extra  []string // more source tables
}

// copyTable copies d.src (whose id may carry a decorator) to d.dst and
// returns the job and its error, the API's or the job's.
func (e *env) copyTable(t testing.TB, src, dst string, o copyOpts) (*bigquery.Job, error) {
	t.Helper()
	ctx := context.Background()
	ds := e.client.Dataset("d")
	srcs := []*bigquery.Table{ds.Table(src)}
	for _, s := range o.extra {
		srcs = append(srcs, ds.Table(s))
	}
	c := ds.Table(dst).CopierFrom(srcs...)
	c.WriteDisposition = o.write
	c.CreateDisposition = o.create
	c.OperationType = o.op
	c.JobID = o.jobID
	job, err := c.Run(ctx)
	if err != nil {
		return nil, err
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return job, err
	}
	return job, status.Err()
}

// mustCopy copies d.src to d.dst and fails the test if the copy fails.
func (e *env) mustCopy(t testing.TB, src, dst string, o copyOpts) *bigquery.Job {
	t.Helper()
	job, err := e.copyTable(t, src, dst, o)
	if err != nil {
		t.Fatalf("copy d.%s to d.%s: %v", src, dst, err)
	}
	return job
}

// failCopy copies d.src to d.dst, which must fail with reason and a message
// that contains each of parts.
func (e *env) failCopy(t testing.TB, src, dst string, o copyOpts, reason string, parts ...string) {
	t.Helper()
	_, err := e.copyTable(t, src, dst, o)
	if err == nil {
		t.Fatalf("copy d.%s to d.%s succeeded, want reason %s", src, dst, reason)
	}
	if got := reasonOf(err); got != reason {
		t.Errorf("copy d.%s to d.%s: reason %q, want %q (%v)", src, dst, got, reason, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("copy d.%s to d.%s: error %v does not contain %q", src, dst, err, p)
		}
	}
}

// rawJob reads a job through the REST API's generated client, which the
// bigquery client wraps, for the statistics that the bigquery client does
// not expose (statistics.copy, statistics.extract.inputBytes).
func (e *env) rawJob(t testing.TB, id string) *bqapi.Job {
	t.Helper()
	ctx := context.Background()
	svc, err := bqapi.NewService(ctx, option.WithEndpoint(e.url+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery/v2 NewService: %v", err)
	}
	job, err := svc.Jobs.Get(project, id).Context(ctx).Do()
	if err != nil {
		t.Fatalf("jobs.get %s: %v", id, err)
	}
	return job
}

// ids returns the ids of d.table, in order.
func (e *env) ids(t testing.TB, table string) []int64 {
	t.Helper()
	var ids []int64
	for _, row := range e.read(t, "SELECT id FROM d."+table+" ORDER BY id") {
		ids = append(ids, row[0].(int64))
	}
	return ids
}

// insertHired inserts rows into d.table, with id and name id (nil for none).
func (e *env) insertHired(t testing.TB, table string, ids ...int64) {
	t.Helper()
	values := make([]string, len(ids))
	for i, id := range ids {
		values[i] = fmt.Sprintf("(%d, 'name %d', TIMESTAMP '2021-07-27 16:02:08.123456+00', %d, NULL)", id, id, id%7+1)
	}
	e.exec(t, fmt.Sprintf("INSERT d.%s (id, name, datetime, department_id, job_id) VALUES %s", table, strings.Join(values, ", ")))
}

func TestCopy_Dispositions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.dataset(t, "d")
	ctx := context.Background()
	src := &bigquery.TableMetadata{
		Description:      "hires",
		Schema:           hiredSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "datetime"},
		Clustering:       &bigquery.Clustering{Fields: []string{"department_id"}},
	}
	create := func(t *testing.T, name string, md *bigquery.TableMetadata) {
		t.Helper()
		if err := e.client.Dataset("d").Table(name).Create(ctx, md); err != nil {
			t.Fatalf("Create d.%s: %v", name, err)
		}
	}
	create(t, "src", src)
	e.insertHired(t, "src", 1, 2, 3)
	other := &bigquery.TableMetadata{Description: "kept", Schema: bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "note", Type: bigquery.StringFieldType},
	}}

	t.Run("creates the destination with the source's schema", func(t *testing.T) {
		t.Parallel()
		job := e.mustCopy(t, "src", "created", copyOpts{jobID: "copy-created"})
		md, err := e.client.Dataset("d").Table("created").Metadata(ctx)
		if err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		if diff := cmp.Diff(hiredSchema, md.Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(src.TimePartitioning, md.TimePartitioning); diff != "" {
			t.Errorf("partitioning (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(src.Clustering, md.Clustering); diff != "" {
			t.Errorf("clustering (-want +got):\n%s", diff)
		}
		if md.NumRows != 3 || md.Type != bigquery.RegularTable {
			t.Errorf("destination has %d rows and type %q, want 3 and TABLE", md.NumRows, md.Type)
		}
		if diff := cmp.Diff(e.read(t, "SELECT * FROM d.src ORDER BY id"), e.read(t, "SELECT * FROM d.created ORDER BY id")); diff != "" {
			t.Errorf("rows (-src +copy):\n%s", diff)
		}
		cfg, err := job.Config()
		if err != nil {
			t.Fatalf("Config: %v", err)
		}
		cc, ok := cfg.(*bigquery.CopyConfig)
		if !ok {
			t.Fatalf("echoed config is %T, want *bigquery.CopyConfig", cfg)
		}
		if cc.WriteDisposition != bigquery.WriteEmpty || cc.CreateDisposition != bigquery.CreateIfNeeded ||
			len(cc.Srcs) != 1 || cc.Srcs[0].TableID != "src" || cc.Dst.TableID != "created" || job.ID() != "copy-created" {
			t.Errorf("echoed config = %+v, job id %q", cc, job.ID())
		}
		raw := e.rawJob(t, "copy-created")
		// id 8, name 2+6, datetime 8, department_id 8, job_id NULL.
		if raw.Configuration.JobType != "COPY" || raw.Statistics.Copy == nil ||
			raw.Statistics.Copy.CopiedRows != 3 || raw.Statistics.Copy.CopiedLogicalBytes != 3*32 {
			t.Errorf("job type %q, statistics.copy %+v: want COPY, 3 rows and 96 bytes", raw.Configuration.JobType, raw.Statistics.Copy)
		}
		long := strings.Repeat("é", 256)
		if _, err := e.tryRead("INSERT d.created (id, name, datetime) VALUES (9, @n, CURRENT_TIMESTAMP())", bigquery.QueryParameter{Name: "n", Value: long}); err == nil {
			t.Error("the copy does not enforce maxLength")
		}
		if _, err := e.tryRead("INSERT d.created (id, name) VALUES (9, 'x')"); err == nil {
			t.Error("the copy does not enforce REQUIRED")
		}
	})
	t.Run("WRITE_EMPTY", func(t *testing.T) {
		t.Parallel()
		create(t, "empty", &bigquery.TableMetadata{Schema: hiredSchema})
		e.mustCopy(t, "src", "empty", copyOpts{write: bigquery.WriteEmpty})
		e.failCopy(t, "src", "empty", copyOpts{write: bigquery.WriteEmpty}, "duplicate", "d.empty")
		if diff := cmp.Diff([]int64{1, 2, 3}, e.ids(t, "empty")); diff != "" {
			t.Errorf("rows after a refused WRITE_EMPTY (-want +got):\n%s", diff)
		}
	})
	t.Run("WRITE_APPEND", func(t *testing.T) {
		t.Parallel()
		create(t, "appended", &bigquery.TableMetadata{Schema: hiredSchema})
		e.insertHired(t, "appended", 10)
		e.mustCopy(t, "src", "appended", copyOpts{write: bigquery.WriteAppend})
		e.mustCopy(t, "src", "appended", copyOpts{write: bigquery.WriteAppend})
		if diff := cmp.Diff([]int64{1, 1, 2, 2, 3, 3, 10}, e.ids(t, "appended")); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("WRITE_TRUNCATE replaces rows and schema", func(t *testing.T) {
		t.Parallel()
		create(t, "truncated", other)
		e.exec(t, "INSERT d.truncated (id, note) VALUES (42, 'old')")
		e.mustCopy(t, "src", "truncated", copyOpts{write: bigquery.WriteTruncate})
		md, err := e.client.Dataset("d").Table("truncated").Metadata(ctx)
		if err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		if diff := cmp.Diff(hiredSchema, md.Schema); diff != "" {
			t.Errorf("schema (-want +got):\n%s", diff)
		}
		if md.Description != "kept" {
			t.Errorf("description %q, want the destination's own", md.Description)
		}
		if diff := cmp.Diff([]int64{1, 2, 3}, e.ids(t, "truncated")); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("WRITE_APPEND of another schema changes nothing", func(t *testing.T) {
		t.Parallel()
		create(t, "mismatch", other)
		e.exec(t, "INSERT d.mismatch (id, note) VALUES (42, 'old')")
		before, err := e.client.Dataset("d").Table("mismatch").Metadata(ctx)
		if err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		e.failCopy(t, "src", "mismatch", copyOpts{write: bigquery.WriteAppend}, "invalid", "Provided Schema does not match Table")
		after, err := e.client.Dataset("d").Table("mismatch").Metadata(ctx)
		if err != nil {
			t.Fatalf("Metadata: %v", err)
		}
		if after.ETag != before.ETag || after.NumRows != 1 {
			t.Errorf("a failed copy changed the destination: etag %q → %q, %d rows", before.ETag, after.ETag, after.NumRows)
		}
	})
	t.Run("a value the destination refuses changes nothing", func(t *testing.T) {
		t.Parallel()
		create(t, "long_names", &bigquery.TableMetadata{Schema: bigquery.Schema{
			{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
			{Name: "name", Type: bigquery.StringFieldType, Required: true},
			{Name: "datetime", Type: bigquery.TimestampFieldType, Required: true},
		}})
		e.exec(t, "INSERT d.long_names (id, name, datetime) VALUES (7, 'short', CURRENT_TIMESTAMP())")
		e.exec(t, fmt.Sprintf("INSERT d.long_names (id, name, datetime) VALUES (8, '%s', CURRENT_TIMESTAMP())", strings.Repeat("x", 256)))
		create(t, "strict", &bigquery.TableMetadata{Schema: hiredSchema})
		e.insertHired(t, "strict", 1)
		e.failCopy(t, "long_names", "strict", copyOpts{write: bigquery.WriteAppend}, "invalid", "name")
		if diff := cmp.Diff([]int64{1}, e.ids(t, "strict")); diff != "" {
			t.Errorf("rows after a failed copy (-want +got):\n%s", diff)
		}
	})
	t.Run("CREATE_NEVER", func(t *testing.T) {
		t.Parallel()
		e.failCopy(t, "src", "never", copyOpts{create: bigquery.CreateNever}, "notFound", "d.never")
		if _, err := e.client.Dataset("d").Table("never").Metadata(ctx); err == nil {
			t.Error("CREATE_NEVER created the table")
		}
	})
}

func TestCopy_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.dataset(t, "d")
	ctx := context.Background()
	if err := e.client.Dataset("d").Table("src").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.insertHired(t, "src", 1)
	if err := e.client.Dataset("d").Table("view").Create(ctx, &bigquery.TableMetadata{ViewQuery: "SELECT id FROM d.src"}); err != nil {
		t.Fatalf("Create view: %v", err)
	}
	cases := []struct {
		name     string
		src, dst string
		opts     copyOpts
		reason   string
		parts    []string
	}{
		{name: "missing source", src: "missing", dst: "t0", reason: "notFound", parts: []string{"d.missing"}},
		{name: "view source", src: "view", dst: "t1", reason: "invalid", parts: []string{"d.view", "VIEW"}},
		{name: "view destination", src: "src", dst: "view", opts: copyOpts{write: bigquery.WriteTruncate}, reason: "invalid", parts: []string{"d.view"}},
		{name: "SNAPSHOT", src: "src", dst: "t2", opts: copyOpts{op: bigquery.SnapshotOperation}, reason: "invalid", parts: []string{"SNAPSHOT", "not supported by the emulator"}},
		{name: "CLONE", src: "src", dst: "t3", opts: copyOpts{op: bigquery.CloneOperation}, reason: "invalid", parts: []string{"CLONE", "not supported by the emulator"}},
		{name: "RESTORE", src: "src", dst: "t4", opts: copyOpts{op: bigquery.RestoreOperation}, reason: "invalid", parts: []string{"RESTORE", "not supported by the emulator"}},
		{name: "two sources", src: "src", dst: "t5", opts: copyOpts{extra: []string{"src"}}, reason: "invalid", parts: []string{"one source table"}},
		{name: "onto itself", src: "src", dst: "src", opts: copyOpts{write: bigquery.WriteTruncate}, reason: "invalid", parts: []string{"onto itself"}},
		{name: "bad disposition", src: "src", dst: "t6", opts: copyOpts{write: "WRITE_SOMETIMES"}, reason: "invalid", parts: []string{"writeDisposition"}},
		{name: "bad destination id", src: "src", dst: "t@1", reason: "invalid", parts: []string{"t@1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e.failCopy(t, tc.src, tc.dst, tc.opts, tc.reason, tc.parts...)
		})
	}
	t.Run("duplicate job id", func(t *testing.T) {
		t.Parallel()
		e.mustCopy(t, "src", "dup", copyOpts{jobID: "copy-once"})
		_, err := e.copyTable(t, "src", "dup2", copyOpts{jobID: "copy-once"})
		apiError(t, err, 409, "duplicate")
	})
	t.Run("missing dataset", func(t *testing.T) {
		t.Parallel()
		c := e.client.Dataset("nope").Table("x").CopierFrom(e.client.Dataset("d").Table("src"))
		job, err := c.Run(ctx)
		if err == nil {
			var status *bigquery.JobStatus
			if status, err = job.Wait(ctx); err == nil {
				err = status.Err()
			}
		}
		if reasonOf(err) != "notFound" {
			t.Errorf("copy into a missing dataset: %v, want notFound", err)
		}
	})
}

// BenchmarkCopy copies a table of a million hired_employees rows and
// reports the rows copied per second.
func BenchmarkCopy(b *testing.B) {
	const rows = 1_000_000
	e := newLoadEnv(b)
	benchTable(b, e, "bench", rows)
	n := 0
	for b.Loop() {
		e.mustCopy(b, "bench", "bench_copy", copyOpts{write: bigquery.WriteTruncate})
		n += rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
