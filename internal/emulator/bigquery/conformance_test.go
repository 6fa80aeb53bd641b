package bigquery_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
)

var hiredSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true, Description: "employee id"},
	{Name: "name", Type: bigquery.StringFieldType, Required: true, MaxLength: 255},
	{Name: "datetime", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "department_id", Type: bigquery.IntegerFieldType},
	{Name: "job_id", Type: bigquery.IntegerFieldType},
}

func TestDatasetLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	ds := e.dataset(t, "hiring")
	md, err := ds.Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if md.Location != "US" || md.FullID != project+":hiring" {
		t.Errorf("metadata = location %q id %q, want US and %s:hiring", md.Location, md.FullID, project)
	}
	apiError(t, ds.Create(ctx, nil), 409, "duplicate")
	if _, err := e.client.Dataset("missing").Metadata(ctx); err == nil {
		t.Fatal("Metadata of a missing dataset succeeded")
	} else {
		apiError(t, err, 404, "notFound")
	}
	if err := ds.Table("t").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create table: %v", err)
	}
	apiError(t, ds.Delete(ctx), 400, "resourceInUse")
	var names []string
	it := e.client.Datasets(ctx)
	for {
		d, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Datasets: %v", err)
		}
		names = append(names, d.DatasetID)
	}
	if diff := cmp.Diff([]string{"hiring"}, names); diff != "" {
		t.Errorf("Datasets (-want +got):\n%s", diff)
	}
	if err := ds.DeleteWithContents(ctx); err != nil {
		t.Fatalf("DeleteWithContents: %v", err)
	}
	_, err = ds.Metadata(ctx)
	apiError(t, err, 404, "notFound")
	_, err = ds.Table("t").Metadata(ctx)
	apiError(t, err, 404, "notFound")
}

func TestTableSchemaRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	tbl := e.dataset(t, "hiring").Table("hired_employees")
	want := &bigquery.TableMetadata{
		Description:      "hires",
		Schema:           hiredSchema,
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.MonthPartitioningType, Field: "datetime"},
		Clustering:       &bigquery.Clustering{Fields: []string{"department_id", "job_id"}},
		Labels:           map[string]string{"team": "hr"},
	}
	if err := tbl.Create(ctx, want); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := tbl.Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if diff := cmp.Diff(hiredSchema, got.Schema); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.TimePartitioning, got.TimePartitioning); diff != "" {
		t.Errorf("partitioning (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Clustering, got.Clustering); diff != "" {
		t.Errorf("clustering (-want +got):\n%s", diff)
	}
	if got.Description != "hires" || got.Labels["team"] != "hr" || got.Type != bigquery.RegularTable || got.NumRows != 0 {
		t.Errorf("metadata = %+v", got)
	}
	if got.CreationTime.IsZero() || got.ETag == "" || got.Location != "US" {
		t.Errorf("creation time %v, etag %q, location %q", got.CreationTime, got.ETag, got.Location)
	}
	apiError(t, tbl.Create(ctx, want), 409, "duplicate")

	update := bigquery.TableMetadataToUpdate{Description: "all hires"}
	relaxed := append(bigquery.Schema{}, hiredSchema...)
	relaxed[1] = &bigquery.FieldSchema{Name: "name", Type: bigquery.StringFieldType, MaxLength: 255}
	update.Schema = append(relaxed, &bigquery.FieldSchema{Name: "note", Type: bigquery.StringFieldType})
	got, err = tbl.Update(ctx, update, got.ETag)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.Description != "all hires" || len(got.Schema) != 6 || got.Schema[1].Required {
		t.Errorf("after update: description %q, %d fields, name required %v", got.Description, len(got.Schema), got.Schema[1].Required)
	}
	_, err = tbl.Update(ctx, bigquery.TableMetadataToUpdate{Description: "x"}, "stale-etag")
	apiError(t, err, 412, "conditionNotMet")
	e.exec(t, "INSERT hiring.hired_employees (id, name, datetime) VALUES (1, NULL, CURRENT_TIMESTAMP())")

	bad := bigquery.TableMetadataToUpdate{Schema: hiredSchema[:2]}
	_, err = tbl.Update(ctx, bad, "")
	apiError(t, err, 400, "invalid")

	if err := tbl.Delete(ctx); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = tbl.Metadata(ctx)
	apiError(t, err, 404, "notFound")
	apiError(t, tbl.Delete(ctx), 404, "notFound")
}

func TestTablesList_Paged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	ds := e.dataset(t, "d")
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("t%d", i)
		want = append(want, name)
		if err := ds.Table(name).Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:1]}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	it := ds.Tables(ctx)
	it.PageInfo().MaxSize = 3
	var got []string
	for {
		tbl, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Tables: %v", err)
		}
		got = append(got, tbl.TableID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Tables (-want +got):\n%s", diff)
	}
}

func TestQuery_ParameterTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ts := time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
	cases := []struct {
		name  string
		value any
		want  bigquery.Value
	}{
		{"INT64", int64(-42), int64(-42)},
		{"STRING", "Sales & Co's \"team\"", "Sales & Co's \"team\""},
		{"TIMESTAMP", ts, ts},
		{"DATE", civil.Date{Year: 2021, Month: 2, Day: 28}, civil.Date{Year: 2021, Month: 2, Day: 28}},
		{"BOOL", true, true},
		{"FLOAT64", 2.5, 2.5},
		{"NULL INT64", bigquery.NullInt64{}, nil},
		{"NULL STRING", bigquery.NullString{}, nil},
		{"empty STRING", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows := e.read(t, "SELECT @v AS v", bigquery.QueryParameter{Name: "v", Value: tc.value})
			if len(rows) != 1 || len(rows[0]) != 1 {
				t.Fatalf("rows = %v, want one value", rows)
			}
			if diff := cmp.Diff(tc.want, rows[0][0]); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("positional", func(t *testing.T) {
		t.Parallel()
		rows := e.read(t, "SELECT ? + ?", bigquery.QueryParameter{Value: 40}, bigquery.QueryParameter{Value: 2})
		if diff := cmp.Diff([][]bigquery.Value{{int64(42)}}, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("in a predicate", func(t *testing.T) {
		t.Parallel()
		rows := e.read(t, "SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) WHERE x >= @min ORDER BY x",
			bigquery.QueryParameter{Name: "min", Value: 2})
		if diff := cmp.Diff([][]bigquery.Value{{int64(2)}, {int64(3)}}, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
	t.Run("missing parameter", func(t *testing.T) {
		t.Parallel()
		_, err := e.tryRead("SELECT @nope")
		apiError(t, err, 400, "invalidQuery")
	})
}

func TestTimestamp_Microseconds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	tbl := e.dataset(t, "hiring").Table("hired_employees")
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	stamps := []time.Time{
		time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i, ts := range stamps {
		e.exec(t, "INSERT hiring.hired_employees (id, name, datetime) VALUES (@id, 'x', @ts)",
			bigquery.QueryParameter{Name: "id", Value: i + 1}, bigquery.QueryParameter{Name: "ts", Value: ts})
	}
	rows := e.read(t, "SELECT datetime, UNIX_MICROS(datetime) FROM hiring.hired_employees ORDER BY id")
	for i, ts := range stamps {
		if got := rows[i][0].(time.Time); !got.Equal(ts) {
			t.Errorf("query row %d = %v, want %v", i, got, ts)
		}
		if got := rows[i][1].(int64); got != ts.UnixMicro() {
			t.Errorf("UNIX_MICROS row %d = %d, want %d", i, got, ts.UnixMicro())
		}
	}
	it := tbl.Read(ctx)
	got, err := drain(it)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	for i, ts := range stamps {
		if g := got[i][2].(time.Time); !g.Equal(ts) {
			t.Errorf("tabledata row %d = %v, want %v", i, g, ts)
		}
	}
	rows = e.read(t, "SELECT EXTRACT(QUARTER FROM datetime), EXTRACT(YEAR FROM datetime), TIMESTAMP_TRUNC(datetime, MONTH) FROM hiring.hired_employees WHERE id = 1")
	want := []bigquery.Value{int64(3), int64(2021), time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC)}
	if diff := cmp.Diff(want, rows[0]); diff != "" {
		t.Errorf("date parts (-want +got):\n%s", diff)
	}
}

func TestDML_Counts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.dataset(t, "d").Table("t").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	cases := []struct {
		sql  string
		want int64
	}{
		{"INSERT INTO d.t (id, name, datetime, department_id) VALUES (1, 'a', TIMESTAMP '2021-01-01 00:00:00+00', 1), (2, 'b', TIMESTAMP '2021-04-01 00:00:00+00', 1), (3, 'c', TIMESTAMP '2021-07-01 00:00:00+00', 2)", 3},
		{"UPDATE d.t SET department_id = 5 WHERE department_id = 1", 2},
		{"UPDATE d.t SET name = 'zz' WHERE id = 99", 0},
		{"DELETE d.t WHERE id = 3", 1},
	}
	for _, tc := range cases {
		stats := e.exec(t, tc.sql)
		if stats.NumDMLAffectedRows != tc.want {
			t.Errorf("%s: NumDMLAffectedRows = %d, want %d", tc.sql, stats.NumDMLAffectedRows, tc.want)
		}
	}
	rows := e.read(t, "SELECT id, department_id FROM d.t ORDER BY id")
	if diff := cmp.Diff([][]bigquery.Value{{int64(1), int64(5)}, {int64(2), int64(5)}}, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	_, err := e.tryRead("INSERT d.t (id, name, datetime) VALUES (4, NULL, CURRENT_TIMESTAMP())")
	apiError(t, err, 400, "invalidQuery")
	long := fmt.Sprintf("%0256d", 0)
	_, err = e.tryRead("INSERT d.t (id, name, datetime) VALUES (4, @n, CURRENT_TIMESTAMP())", bigquery.QueryParameter{Name: "n", Value: long})
	apiError(t, err, 400, "invalidQuery")
	stats := e.exec(t, "SELECT COUNT(*) FROM d.t")
	if stats.StatementType != "SELECT" {
		t.Errorf("statement type = %q", stats.StatementType)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	ds := e.dataset(t, "d")
	for _, name := range []string{"target", "source"} {
		if err := ds.Table(name).Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:2]}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	e.exec(t, "INSERT d.target (id, name) VALUES (1, 'old one'), (2, 'old two'), (9, 'gone')")
	e.exec(t, "INSERT d.source (id, name) VALUES (2, 'new two'), (3, 'new three')")
	stats := e.exec(t, `MERGE d.target T USING d.source S ON T.id = S.id
		WHEN MATCHED THEN UPDATE SET name = S.name
		WHEN NOT MATCHED THEN INSERT (id, name) VALUES (S.id, S.name)`)
	if stats.NumDMLAffectedRows != 2 || stats.StatementType != "MERGE" {
		t.Errorf("MERGE: affected %d, type %s, want 2 MERGE", stats.NumDMLAffectedRows, stats.StatementType)
	}
	rows := e.read(t, "SELECT id, name FROM d.target ORDER BY id")
	want := [][]bigquery.Value{{int64(1), "old one"}, {int64(2), "new two"}, {int64(3), "new three"}, {int64(9), "gone"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("after MERGE (-want +got):\n%s", diff)
	}
	stats = e.exec(t, "MERGE d.target T USING d.source S ON T.id = S.id WHEN NOT MATCHED BY SOURCE THEN DELETE")
	if stats.NumDMLAffectedRows != 2 {
		t.Errorf("MERGE delete: affected %d, want 2", stats.NumDMLAffectedRows)
	}
}

func TestDestinationTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	ds := e.dataset(t, "d")
	run := func(sql string, write bigquery.TableWriteDisposition, create bigquery.TableCreateDisposition) error {
		q := e.client.Query(sql)
		q.Dst = ds.Table("dst")
		q.WriteDisposition = write
		q.CreateDisposition = create
		job, err := q.Run(ctx)
		if err != nil {
			return err
		}
		status, err := job.Wait(ctx)
		if err != nil {
			return err
		}
		return status.Err()
	}
	if err := run("SELECT 1 AS a", bigquery.WriteAppend, bigquery.CreateNever); err == nil {
		t.Error("CREATE_NEVER on a missing table succeeded")
	} else if reasonOf(err) != "notFound" {
		t.Errorf("CREATE_NEVER error = %v, want notFound", err)
	}
	if err := run("SELECT 1 AS a, 'x' AS b", bigquery.WriteTruncate, bigquery.CreateIfNeeded); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := run("SELECT 2 AS a, 'y' AS b UNION ALL SELECT 3, 'z'", bigquery.WriteAppend, ""); err != nil {
		t.Fatalf("append: %v", err)
	}
	rows := e.read(t, "SELECT a, b FROM d.dst ORDER BY a")
	want := [][]bigquery.Value{{int64(1), "x"}, {int64(2), "y"}, {int64(3), "z"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("after append (-want +got):\n%s", diff)
	}
	if err := run("SELECT 7 AS a", bigquery.WriteEmpty, ""); err == nil {
		t.Error("WRITE_EMPTY on a non-empty table succeeded")
	}
	if err := run("SELECT 'q' AS c", bigquery.WriteAppend, ""); err == nil {
		t.Error("appending a column that the table lacks succeeded")
	}
	if err := run("SELECT 10 AS a", bigquery.WriteTruncate, ""); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	rows = e.read(t, "SELECT * FROM d.dst")
	if diff := cmp.Diff([][]bigquery.Value{{int64(10)}}, rows); diff != "" {
		t.Errorf("after truncate (-want +got):\n%s", diff)
	}
	if err := run("SELECT a + 1 AS a FROM d.dst", bigquery.WriteTruncate, ""); err != nil {
		t.Fatalf("truncate from the table itself: %v", err)
	}
	rows = e.read(t, "SELECT * FROM d.dst")
	if diff := cmp.Diff([][]bigquery.Value{{int64(11)}}, rows); diff != "" {
		t.Errorf("after a truncate that reads the table (-want +got):\n%s", diff)
	}
	md, err := ds.Table("dst").Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if len(md.Schema) != 1 || md.Schema[0].Name != "a" || md.NumRows != 1 {
		t.Errorf("after truncate: schema %v, %d rows", md.Schema, md.NumRows)
	}
}

func TestViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	ds := e.dataset(t, "d")
	if err := ds.Table("t").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:2]}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.exec(t, "INSERT d.t (id, name) VALUES (1, 'a'), (1, 'b'), (2, 'c')")
	view := ds.Table("latest")
	err := view.Create(ctx, &bigquery.TableMetadata{
		ViewQuery: "SELECT id, MAX(name) AS name FROM d.t GROUP BY id",
	})
	if err != nil {
		t.Fatalf("Create view: %v", err)
	}
	md, err := view.Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if md.Type != bigquery.ViewTable || len(md.Schema) != 2 || md.Schema[1].Type != bigquery.StringFieldType {
		t.Errorf("view metadata: type %s, schema %v", md.Type, md.Schema)
	}
	rows := e.read(t, "SELECT * FROM d.latest ORDER BY id")
	if diff := cmp.Diff([][]bigquery.Value{{int64(1), "b"}, {int64(2), "c"}}, rows); diff != "" {
		t.Errorf("view rows (-want +got):\n%s", diff)
	}
	_, err = drain(view.Read(ctx))
	apiError(t, err, 400, "invalid")
	err = ds.Table("broken").Create(ctx, &bigquery.TableMetadata{ViewQuery: "SELECT * FROM d.missing"})
	apiError(t, err, 404, "notFound")
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	tbl := e.dataset(t, "d").Table("t")
	if err := tbl.Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:2]}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	var values []string
	for i := 1; i <= 250; i++ {
		values = append(values, fmt.Sprintf("(%d, 'n%d')", 251-i, 251-i))
	}
	e.exec(t, "INSERT d.t (id, name) VALUES "+joinComma(values))

	before := e.requests.Load()
	q := e.client.Query("SELECT id, name FROM d.t ORDER BY id")
	it, err := q.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	it.PageInfo().MaxSize = 100
	var ids []int64
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		ids = append(ids, row[0].(int64))
	}
	if len(ids) != 250 || it.TotalRows != 250 {
		t.Fatalf("got %d rows (TotalRows %d), want 250", len(ids), it.TotalRows)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("row %d has id %d, want %d (order lost across pages)", i, id, i+1)
		}
	}
	if n := e.requests.Load() - before; n < 2 {
		t.Errorf("query results fetched in %d extra page calls, want at least 2 after the first page", n)
	}

	before = e.requests.Load()
	rit := tbl.Read(ctx)
	rit.PageInfo().MaxSize = 100
	rows, err := drain(rit)
	if err != nil {
		t.Fatalf("table Read: %v", err)
	}
	if len(rows) != 250 {
		t.Errorf("tabledata rows = %d, want 250", len(rows))
	}
	if n := e.requests.Load() - before; n < 3 {
		t.Errorf("tabledata.list called %d times, want 3 pages", n)
	}
}

func joinComma(s []string) string {
	return strings.Join(s, ", ")
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	e.dataset(t, "d")
	cases := []struct {
		name, sql string
		code      int
		reason    string
	}{
		{"missing table", "SELECT * FROM d.nope", 404, "notFound"},
		{"missing dataset", "SELECT * FROM nope.t", 404, "notFound"},
		{"syntax error", "SELEC 1", 400, "invalidQuery"},
		{"bad column", "SELECT nope FROM (SELECT 1 AS a)", 400, "invalidQuery"},
		{"unsupported function", "SELECT FORMAT_TIMESTAMP('%Y', CURRENT_TIMESTAMP())", 400, "invalidQuery"},
		{"unsupported statement", "CREATE TABLE d.x (a INT64)", 400, "invalidQuery"},
		{"IN list", "SELECT * FROM (SELECT 1 AS a) WHERE a IN (1, 2)", 0, ""},
		{"duplicate columns", "SELECT 1 AS a, 2 AS a", 400, "invalidQuery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.tryRead(tc.sql)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("Read(%q): %v", tc.sql, err)
				}
				return
			}
			apiError(t, err, tc.code, tc.reason)
		})
	}
	t.Run("failed job", func(t *testing.T) {
		t.Parallel()
		job, err := e.client.Query("SELEC 1").Run(ctx)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		_, err = job.Wait(ctx)
		apiError(t, err, 400, "invalidQuery")
		status, err := job.Status(ctx)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		var be *bigquery.Error
		if !status.Done() || !errors.As(status.Err(), &be) || be.Reason != "invalidQuery" {
			t.Fatalf("job status = %+v, want DONE with reason invalidQuery", status)
		}
	})
	t.Run("missing table metadata", func(t *testing.T) {
		t.Parallel()
		_, err := e.client.Dataset("d").Table("nope").Metadata(ctx)
		apiError(t, err, 404, "notFound")
	})
}

func TestDuplicateJobID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	q := e.client.Query("SELECT 1")
	q.JobID = "load-gs-landing-jobs-csv-1"
	job, err := q.Run(ctx)
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if job.ID() != "load-gs-landing-jobs-csv-1" {
		t.Errorf("job id = %q", job.ID())
	}
	_, err = q.Run(ctx)
	apiError(t, err, 409, "duplicate")
	again, err := e.client.JobFromID(ctx, "load-gs-landing-jobs-csv-1")
	if err != nil {
		t.Fatalf("JobFromID: %v", err)
	}
	if !again.LastStatus().Done() {
		t.Errorf("job state = %v, want DONE", again.LastStatus().State)
	}
	cfg, err := again.Config()
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	if qc, ok := cfg.(*bigquery.QueryConfig); !ok || qc.Q != "SELECT 1" {
		t.Errorf("echoed config = %#v, want the query", cfg)
	}
	_, err = e.client.JobFromID(ctx, "never-ran")
	apiError(t, err, 404, "notFound")
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	if err := e.dataset(t, "d").Table("t").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:2]}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	const writers, each = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := w*each + i + 1
				sql := "INSERT d.t (id, name) VALUES (@id, 'w')"
				if i%3 == 2 {
					sql = "MERGE d.t T USING (SELECT @id AS id) S ON T.id = S.id WHEN NOT MATCHED THEN INSERT (id, name) VALUES (S.id, 'm')"
				}
				q := e.client.Query(sql)
				q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: id}}
				if _, err := q.Read(ctx); err != nil {
					errs <- fmt.Errorf("writer %d row %d: %w", w, id, err)
				}
				if i%4 == 3 {
					if _, err := e.tryRead("UPDATE d.t SET name = 'u' WHERE id = @id", bigquery.QueryParameter{Name: "id", Value: id}); err != nil {
						errs <- fmt.Errorf("writer %d update %d: %w", w, id, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows := e.read(t, "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM d.t")
	want := []bigquery.Value{int64(writers * each), int64(writers * each), int64(1), int64(writers * each)}
	if diff := cmp.Diff(want, rows[0]); diff != "" {
		t.Errorf("after concurrent writes (-want +got):\n%s", diff)
	}
}

func TestResultNamesAndTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	q := e.client.Query("SELECT COUNT(*), 1 AS one, 2.5 * 2, 'x', TRUE, NULL, SUM(3), AVG(4), NUMERIC '1.25', DATE '2021-01-02' FROM (SELECT 1)")
	it, err := q.Read(context.Background())
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		t.Fatalf("Next: %v", err)
	}
	var names []string
	var types []bigquery.FieldType
	for _, f := range it.Schema {
		names = append(names, f.Name)
		types = append(types, f.Type)
	}
	wantNames := []string{"f0_", "one", "f1_", "f2_", "f3_", "f4_", "f5_", "f6_", "f7_", "f8_"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	wantTypes := []bigquery.FieldType{"INTEGER", "INTEGER", "FLOAT", "STRING", "BOOLEAN", "INTEGER", "INTEGER", "FLOAT", "NUMERIC", "DATE"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	want := []bigquery.Value{int64(1), int64(1), 5.0, "x", true, nil, int64(3), 4.0, big.NewRat(5, 4), civil.Date{Year: 2021, Month: 1, Day: 2}}
	if diff := cmp.Diff(want, row, cmp.Comparer(func(a, b *big.Rat) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestPrefixedEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := context.Background()
	client, err := bigquery.NewClient(ctx, project, option.WithEndpoint(e.url+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	if err := client.Dataset("p").Create(ctx, nil); err != nil {
		t.Fatalf("Create through /bigquery/v2: %v", err)
	}
	if _, err := e.client.Dataset("p").Metadata(ctx); err != nil {
		t.Fatalf("dataset not visible without the prefix: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bq.duckdb")
	ctx := context.Background()
	func() {
		e := newEnv(t, path)
		if err := e.dataset(t, "d").Table("t").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema[:2]}); err != nil {
			t.Fatalf("Create: %v", err)
		}
		q := e.client.Query("INSERT d.t (id, name) VALUES (1, 'kept')")
		q.JobID = "kept-job"
		job, err := q.Run(ctx)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if _, err := job.Wait(ctx); err != nil {
			t.Fatalf("Wait: %v", err)
		}
		e.client.Close()
		if err := e.server.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}()
	srv, err := emulator.New(ctx, emulator.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer srv.Close()
	e := newEnvFor(t, srv)
	md, err := e.client.Dataset("d").Table("t").Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata after reopen: %v", err)
	}
	if md.NumRows != 1 || !md.Schema[0].Required {
		t.Errorf("after reopen: %d rows, schema %v", md.NumRows, md.Schema)
	}
	if _, err := e.client.JobFromID(ctx, "kept-job"); err != nil {
		t.Errorf("job after reopen: %v", err)
	}
	rows := e.read(t, "SELECT name FROM d.t")
	if diff := cmp.Diff([][]bigquery.Value{{"kept"}}, rows, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("rows after reopen (-want +got):\n%s", diff)
	}
	if ids := listIDs(t, e.client.Jobs(ctx)); len(ids) != 2 || ids[1] != "kept-job" {
		t.Errorf("jobs after reopen = %v, want the SELECT's job, then kept-job", ids)
	}
}
