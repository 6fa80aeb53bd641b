package bigquery_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
)

// mark returns the time in milliseconds since the epoch and then waits for
// gap: every write done before mark commits at or before that time, and
// every write started after it commits later.
func mark(gap time.Duration) int64 {
	ms := time.Now().UnixMilli()
	time.Sleep(gap)
	return ms
}

const gap = 3 * time.Millisecond

// asOf copies d.table@decorator to d.dst and returns the ids of the copy.
func (e *env) asOf(t testing.TB, table, decorator, dst string) []int64 {
	t.Helper()
	e.mustCopy(t, table+"@"+decorator, dst, copyOpts{})
	return e.ids(t, dst)
}

// appendIDs appends rows with ids from first to last to d.table, one INSERT
// per batch of 500.
func (e *env) appendIDs(t testing.TB, table string, first, last int64) {
	t.Helper()
	for lo := first; lo <= last; lo += 500 {
		var ids []int64
		for id := lo; id <= min(lo+499, last); id++ {
			ids = append(ids, id)
		}
		e.insertHired(t, table, ids...)
	}
}

func span(first, last int64) []int64 {
	var ids []int64
	for id := first; id <= last; id++ {
		ids = append(ids, id)
	}
	return ids
}

func ms(v int64) string { return strconv.FormatInt(v, 10) }

func TestHistory_AsOf(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	e.createTable(t, "h", &bigquery.TableMetadata{Schema: hiredSchema})
	created := mark(gap)
	e.mustLoad(t, "h", loadOpts{}, e.putAvro(t, "h.avro", hiredAvro, hired(1, "one", t1, 1, 1), hired(2, "two", t2, 0, 0)))
	loaded := mark(gap)
	e.insertHired(t, "h", 3, 4)
	inserted := mark(300 * time.Millisecond) // room for the relative decorator below
	q := e.client.Query("SELECT 5 AS id, 'five' AS name, CURRENT_TIMESTAMP() AS datetime")
	q.Dst = e.client.Dataset("d").Table("h")
	q.WriteDisposition = bigquery.WriteAppend
	job, err := q.Run(context.Background())
	if err != nil {
		t.Fatalf("query into d.h: %v", err)
	}
	if status, err := job.Wait(context.Background()); err != nil || status.Err() != nil {
		t.Fatalf("query into d.h: %v %v", err, status.Err())
	}
	queried := mark(gap)
	cases := []struct {
		name      string
		decorator func() string
		want      []int64
	}{
		{"at creation", func() string { return ms(created) }, nil},
		{"after a load", func() string { return ms(loaded) }, []int64{1, 2}},
		{"after an INSERT", func() string { return ms(inserted) }, []int64{1, 2, 3, 4}},
		{"after a query's append", func() string { return ms(queried) }, []int64{1, 2, 3, 4, 5}},
		{"oldest", func() string { return "0" }, nil},
		{"relative", func() string { return "-" + ms(time.Now().UnixMilli()-inserted) }, []int64{1, 2, 3, 4}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := e.asOf(t, "h", tc.decorator(), fmt.Sprintf("h%d", i))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("d.h@%s (-want +got):\n%s", tc.name, diff)
			}
		})
	}
	t.Run("rows as they were", func(t *testing.T) {
		t.Parallel()
		e.mustCopy(t, "h@"+ms(loaded), "h_rows", copyOpts{})
		rows := e.read(t, "SELECT id, name, datetime, department_id, job_id FROM d.h_rows ORDER BY id")
		want := [][]bigquery.Value{{int64(1), "one", t1, int64(1), int64(1)}, {int64(2), "two", t2, nil, nil}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
}

func TestHistory_StorageWrite(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	e.createTable(t, "h", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)
	ms1 := e.open(t, "h", dp)
	mustAppend(t, ms1, hiredRows(t, md, 1, 3))
	first := mark(gap)
	mustAppend(t, ms1, hiredRows(t, md, 4, 2))
	second := mark(gap)
	if got := e.asOf(t, "h", ms(first), "first"); !cmp.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("d.h@first = %v, want [1 2 3]", got)
	}
	if got := e.asOf(t, "h", ms(second), "second"); !cmp.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("d.h@second = %v, want [1 2 3 4 5]", got)
	}
}

func TestHistory_Rewrites(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	restore := e.putAvro(t, "restore.avro", hiredAvro, hired(7, "restored", t1, 1, 1), hired(8, "restored", t1, 1, 1))
	cases := []struct {
		name    string
		rewrite func(t *testing.T, table string)
	}{
		{"DELETE", func(t *testing.T, table string) { e.exec(t, "DELETE d."+table+" WHERE id = 2") }},
		{"UPDATE", func(t *testing.T, table string) { e.exec(t, "UPDATE d."+table+" SET name = 'x' WHERE id = 1") }},
		{"MERGE", func(t *testing.T, table string) {
			e.exec(t, "MERGE d."+table+" T USING (SELECT 1 AS id) S ON T.id = S.id WHEN MATCHED THEN DELETE")
		}},
		{"load WRITE_TRUNCATE_DATA", func(t *testing.T, table string) {
			e.mustLoad(t, table, loadOpts{write: bigquery.WriteTruncateData}, restore)
		}},
		{"load WRITE_TRUNCATE", func(t *testing.T, table string) {
			e.mustLoad(t, table, loadOpts{write: bigquery.WriteTruncate}, restore)
		}},
		{"query WRITE_TRUNCATE", func(t *testing.T, table string) {
			q := e.client.Query("SELECT 40 AS id, 'q' AS name, CURRENT_TIMESTAMP() AS datetime, 1 AS department_id, CAST(NULL AS INT64) AS job_id")
			q.Dst = e.client.Dataset("d").Table(table)
			q.WriteDisposition = bigquery.WriteTruncate
			if _, err := q.Read(context.Background()); err != nil {
				t.Fatalf("query WRITE_TRUNCATE: %v", err)
			}
		}},
		{"copy WRITE_TRUNCATE", func(t *testing.T, table string) {
			e.createTable(t, table+"_src", &bigquery.TableMetadata{Schema: hiredSchema})
			e.insertHired(t, table+"_src", 20, 21)
			e.mustCopy(t, table+"_src", table, copyOpts{write: bigquery.WriteTruncate})
		}},
		{"deleted and created again", func(t *testing.T, table string) {
			if err := e.client.Dataset("d").Table(table).Delete(context.Background()); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			e.createTable(t, table, &bigquery.TableMetadata{Schema: hiredSchema})
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := fmt.Sprintf("r%d", i)
			e.createTable(t, table, &bigquery.TableMetadata{Schema: hiredSchema})
			e.insertHired(t, table, 1, 2, 3)
			before := mark(gap)
			tc.rewrite(t, table)
			rewritten := mark(gap)
			want := e.ids(t, table)
			e.insertHired(t, table, 100)
			appended := mark(gap)
			e.insertHired(t, table, 101, 102)

			e.failCopy(t, table+"@"+ms(before), table+"_before", copyOpts{}, "invalid", "Cannot read before", "its last rewrite")
			if got := e.asOf(t, table, ms(rewritten), table+"_rewritten"); !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
				t.Errorf("@ the rewrite = %v, want %v", got, want)
			}
			if got := e.asOf(t, table, "0", table+"_oldest"); !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
				t.Errorf("@0 = %v, want %v", got, want)
			}
			if got, want := e.asOf(t, table, ms(appended), table+"_appended"), append(want, 100); !cmp.Equal(got, want) {
				t.Errorf("@ the append after the rewrite = %v, want %v", got, want)
			}
		})
	}
}

func TestHistory_Reopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bq.duckdb")
	ctx := context.Background()
	e := newEnv(t, path)
	e.dataset(t, "d")
	for _, table := range []string{"grown", "deleted"} {
		if err := e.client.Dataset("d").Table(table).Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	// grown only grows: 40 appends.
	var marks []int64
	for i := range int64(40) {
		e.appendIDs(t, "grown", i*100+1, i*100+100)
		marks = append(marks, mark(gap))
	}
	// deleted loses rows in the middle, then grows: its rows are no longer
	// numbered from 0 without gaps, and a checkpoint numbers them again.
	e.appendIDs(t, "deleted", 1, 3000)
	e.exec(t, "DELETE d.deleted WHERE department_id = 1 OR (id >= 1000 AND id <= 2000)") // department_id is id % 7 + 1
	e.appendIDs(t, "deleted", 5001, 5500)
	afterDelete := mark(gap)
	e.appendIDs(t, "deleted", 6001, 6200)
	if err := e.server.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	srv, err := emulator.New(ctx, emulator.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	e = newEnvFor(t, srv)
	t.Cleanup(func() { _ = srv.Close() })
	for _, i := range []int{0, 1, 17, 39} {
		if got, want := e.asOf(t, "grown", ms(marks[i]), fmt.Sprintf("grown_%d", i)), span(1, int64(i+1)*100); !cmp.Equal(got, want) {
			t.Errorf("grown@mark %d after reopening: %d rows from %d to %d, want %d rows from 1 to %d", i, len(got), got[0], got[len(got)-1], len(want), want[len(want)-1])
		}
	}
	var want []int64
	for _, id := range span(1, 3000) {
		if id%7 != 0 && (id < 1000 || id > 2000) {
			want = append(want, id)
		}
	}
	want = append(want, span(5001, 5500)...)
	if got := e.asOf(t, "deleted", ms(afterDelete), "deleted_then"); !cmp.Equal(got, want) {
		t.Errorf("deleted@afterDelete after reopening: %d rows, want %d", len(got), len(want))
	}
	e.appendIDs(t, "grown", 10_001, 10_010)
	reopened := mark(gap)
	e.appendIDs(t, "grown", 20_001, 20_010)
	if got, want := e.asOf(t, "grown", ms(reopened), "grown_after"), append(span(1, 4000), span(10_001, 10_010)...); !cmp.Equal(got, want) {
		t.Errorf("grown@reopened: %d rows, want %d", len(got), len(want))
	}
}

func TestHistory_OlderDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bq.duckdb")
	ctx := context.Background()
	e := newEnv(t, path)
	e.dataset(t, "d")
	if err := e.client.Dataset("d").Table("old").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.insertHired(t, "old", 1, 2)
	before := mark(gap)
	if err := e.server.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A database written by an emulator that kept no history has none.
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM _emulator.history"); err != nil {
		t.Fatalf("delete the history: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close the database: %v", err)
	}

	srv, err := emulator.New(ctx, emulator.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	e = newEnvFor(t, srv)
	t.Cleanup(func() { _ = srv.Close() })
	reopened := mark(gap)
	e.insertHired(t, "old", 3)
	e.failCopy(t, "old@"+ms(before), "before", copyOpts{}, "invalid", "Cannot read before", "without an earlier history")
	if got := e.asOf(t, "old", ms(reopened), "reopened"); !cmp.Equal(got, []int64{1, 2}) {
		t.Errorf("old@reopened = %v, want [1 2]", got)
	}
}

func TestHistory_Errors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.dataset(t, "d")
	before := mark(gap)
	if err := e.client.Dataset("d").Table("h").Create(context.Background(), &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.insertHired(t, "h", 1)
	cases := []struct {
		name      string
		decorator string
		parts     []string
	}{
		{"in the future", ms(time.Now().Add(time.Minute).UnixMilli()), []string{"in the future"}},
		{"before the table's creation", ms(before), []string{"Cannot read before", "CREATE TABLE"}},
		{"long ago", "-86400000", []string{"Cannot read before"}},
		{"range decorator", ms(before) + "-" + ms(before+10), []string{"range decorators", "not supported by the emulator"}},
		{"not a number", "yesterday", []string{"Invalid table decorator"}},
		{"plus sign", "+" + ms(before), []string{"Invalid table decorator"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e.failCopy(t, "h@"+tc.decorator, fmt.Sprintf("e%d", i), copyOpts{}, "invalid", tc.parts...)
		})
	}
}
