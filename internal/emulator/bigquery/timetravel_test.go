package bigquery_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// msParam is the query parameter @ms.
func msParam(ms int64) bigquery.QueryParameter { return bigquery.QueryParameter{Name: "ms", Value: ms} }

// utc formats a time in milliseconds as a timestamp literal with its zone.
func utc(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000+00") }

// travelEnv is an emulator with the table d.h, created and then written in
// three commits: ids 1-2, 3-5 and 6. marks[i] is a time after commit i
// (marks[0]: after the creation) and before the next one.
type travelEnv struct {
	*env
	marks []int64
}

func newTravelEnv(t testing.TB) *travelEnv {
	t.Helper()
	e := &travelEnv{env: newEnv(t, "")}
	e.dataset(t, "d")
	if err := e.client.Dataset("d").Table("h").Create(context.Background(), &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create d.h: %v", err)
	}
	e.marks = append(e.marks, mark(gap))
	for _, ids := range [][]int64{{1, 2}, {3, 4, 5}, {6}} {
		e.insertHired(t, "h", ids...)
		e.marks = append(e.marks, mark(gap))
	}
	return e
}

func TestQuery_AsOf(t *testing.T) {
	t.Parallel()
	e := newTravelEnv(t)
	const count = "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF "
	cases := []struct {
		name   string
		sql    string
		params []bigquery.QueryParameter
		want   [][]bigquery.Value
	}{
		{"at the creation", count + "TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[0])}, [][]bigquery.Value{{int64(0)}}},
		{"after the first commit", count + "TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[1])}, [][]bigquery.Value{{int64(2)}}},
		{"after the second commit", count + "TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[2])}, [][]bigquery.Value{{int64(5)}}},
		{"after the last commit", count + "TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[3])}, [][]bigquery.Value{{int64(6)}}},
		{"TIMESTAMP literal", count + "TIMESTAMP '" + utc(e.marks[2]) + "'", nil, [][]bigquery.Value{{int64(5)}}},
		{"string literal", count + "'" + time.UnixMilli(e.marks[1]).UTC().Format(time.RFC3339Nano) + "'", nil, [][]bigquery.Value{{int64(2)}}},
		{"TIMESTAMP parameter", count + "@ts", []bigquery.QueryParameter{{Name: "ts", Value: time.UnixMilli(e.marks[1])}}, [][]bigquery.Value{{int64(2)}}},
		{"positional parameter", count + "TIMESTAMP_ADD(?, INTERVAL 1 MILLISECOND)", []bigquery.QueryParameter{{Value: time.UnixMilli(e.marks[2] - 1)}}, [][]bigquery.Value{{int64(5)}}},
		{"now", count + "CURRENT_TIMESTAMP()", nil, [][]bigquery.Value{{int64(6)}}},
		{"relative to now", count + "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @ago MILLISECOND)",
			[]bigquery.QueryParameter{{Name: "ago", Value: time.Now().UnixMilli() - e.marks[3]}}, [][]bigquery.Value{{int64(6)}}},
		{"the rows as they were", "SELECT id FROM d.h AS e FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms) WHERE e.id > 1 ORDER BY e.id",
			[]bigquery.QueryParameter{msParam(e.marks[2])}, [][]bigquery.Value{{int64(2)}, {int64(3)}, {int64(4)}, {int64(5)}}},
		{"twice at one time", "SELECT COUNT(*) FROM d.h a FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms) JOIN d.h b FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms) USING (id)",
			[]bigquery.QueryParameter{msParam(e.marks[1])}, [][]bigquery.Value{{int64(2)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, e.read(t, tc.sql, tc.params...), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.sql, diff)
			}
		})
	}
}

func TestQuery_AsOfWrites(t *testing.T) {
	t.Parallel()
	e := newTravelEnv(t)
	ctx := context.Background()
	create := func(t *testing.T, name string) {
		t.Helper()
		if err := e.client.Dataset("d").Table(name).Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
			t.Fatalf("Create d.%s: %v", name, err)
		}
	}
	t.Run("INSERT reading another table", func(t *testing.T) {
		t.Parallel()
		create(t, "copied")
		e.exec(t, "INSERT d.copied SELECT * FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", msParam(e.marks[2]))
		if got := e.ids(t, "copied"); !cmp.Equal(got, span(1, 5)) {
			t.Errorf("d.copied = %v, want 1 to 5", got)
		}
	})
	t.Run("destination table", func(t *testing.T) {
		t.Parallel()
		q := e.client.Query("SELECT id FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)")
		q.Parameters = []bigquery.QueryParameter{msParam(e.marks[1])}
		q.Dst = e.client.Dataset("d").Table("first")
		if _, err := q.Read(ctx); err != nil {
			t.Fatalf("query into d.first: %v", err)
		}
		if got := e.ids(t, "first"); !cmp.Equal(got, []int64{1, 2}) {
			t.Errorf("d.first = %v, want [1 2]", got)
		}
	})
	t.Run("a table replaced by its past", func(t *testing.T) {
		t.Parallel()
		create(t, "undone")
		e.insertHired(t, "undone", 1, 2)
		before := mark(gap)
		e.insertHired(t, "undone", 3)
		q := e.client.Query("SELECT * FROM d.undone FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)")
		q.Parameters = []bigquery.QueryParameter{msParam(before)}
		q.Dst = e.client.Dataset("d").Table("undone")
		q.WriteDisposition = bigquery.WriteTruncate
		if _, err := q.Read(ctx); err != nil {
			t.Fatalf("query into d.undone: %v", err)
		}
		if got := e.ids(t, "undone"); !cmp.Equal(got, []int64{1, 2}) {
			t.Errorf("d.undone = %v, want [1 2]", got)
		}
		// The replacement rewrote the table: its history starts again.
		_, err := e.tryRead("SELECT COUNT(*) FROM d.undone FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", msParam(before))
		if reasonOf(err) != "invalid" || !strings.Contains(err.Error(), "Cannot read before") {
			t.Errorf("before the replacement: %v, want invalid: Cannot read before", err)
		}
	})
}

func TestQuery_AsOfErrors(t *testing.T) {
	t.Parallel()
	e := newTravelEnv(t)
	ctx := context.Background()
	if err := e.client.Dataset("d").Table("v").Create(ctx, &bigquery.TableMetadata{ViewQuery: "SELECT id FROM d.h"}); err != nil {
		t.Fatalf("Create view d.v: %v", err)
	}
	future := time.Now().Add(time.Hour).UnixMilli()
	cases := []struct {
		name   string
		sql    string
		params []bigquery.QueryParameter
		code   int
		reason string
		parts  []string
	}{
		{"in the future", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(future)},
			http.StatusBadRequest, "invalid", []string{fmt.Sprintf("Invalid snapshot time %d for table %s:d.h@%d", future, project, future), "in the future"}},
		{"before the table", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)", nil,
			http.StatusBadRequest, "invalid", []string{"Invalid snapshot time", "Cannot read before", "CREATE TABLE"}},
		{"not a timestamp", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF @ms", []bigquery.QueryParameter{msParam(e.marks[1])},
			http.StatusBadRequest, "invalidQuery", []string{"needs a TIMESTAMP", "of type INTEGER"}},
		{"NULL", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF @ts", []bigquery.QueryParameter{{Name: "ts", Value: bigquery.NullTimestamp{}}},
			http.StatusBadRequest, "invalidQuery", []string{"is NULL"}},
		{"a column", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF datetime", nil,
			http.StatusBadRequest, "invalidQuery", []string{"constant expression"}},
		{"two times", "SELECT COUNT(*) FROM d.h a FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms) JOIN d.h b FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms - 1) USING (id)",
			[]bigquery.QueryParameter{msParam(e.marks[2])}, http.StatusBadRequest, "invalidQuery", []string{"two points in time"}},
		{"then and now", "SELECT COUNT(*) FROM d.h a FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms) JOIN d.h b USING (id)",
			[]bigquery.QueryParameter{msParam(e.marks[2])}, http.StatusBadRequest, "invalidQuery", []string{"read both as of a time", "as it is now"}},
		{"no time zone", "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP '2021-07-27 16:02:08'", nil,
			http.StatusBadRequest, "invalidQuery", []string{"without a time zone", "America/Los_Angeles"}},
		{"a view", "SELECT COUNT(*) FROM d.v FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[1])},
			http.StatusBadRequest, "invalidQuery", []string{"which is a VIEW, is not supported by the emulator"}},
		{"a missing table", "SELECT COUNT(*) FROM d.missing FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", []bigquery.QueryParameter{msParam(e.marks[1])},
			http.StatusNotFound, "notFound", []string{"d.missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.tryRead(tc.sql, tc.params...)
			if err == nil {
				t.Fatalf("%s succeeded, want %s", tc.sql, tc.reason)
			}
			apiError(t, err, tc.code, tc.reason)
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %v does not contain %q", err, p)
				}
			}
		})
	}
	t.Run("dry run in the future", func(t *testing.T) {
		t.Parallel()
		q := e.client.Query("SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)")
		q.Parameters = []bigquery.QueryParameter{msParam(future)}
		q.DryRun = true
		_, err := q.Run(ctx)
		apiError(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("in a view", func(t *testing.T) {
		t.Parallel()
		err := e.client.Dataset("d").Table("past").Create(ctx, &bigquery.TableMetadata{
			ViewQuery: "SELECT id FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 SECOND)",
		})
		apiError(t, err, http.StatusBadRequest, "invalidQuery")
	})
}

// TestQuery_AsOfWhileWriting checks that a time read while writes go on
// gives the same rows every time, the same as a copy of the table as of
// that time.
func TestQuery_AsOfWhileWriting(t *testing.T) {
	t.Parallel()
	e := newTravelEnv(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		ctx := context.Background()
		for id := 100; ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			q := e.client.Query("INSERT d.h (id, name, datetime) VALUES (@id, 'x', CURRENT_TIMESTAMP())")
			q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: id}}
			if _, err := q.Read(ctx); err != nil {
				t.Errorf("INSERT %d: %v", id, err)
				return
			}
		}
	})
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UnixMilli()
	var counts []int64
	for range 5 {
		row := e.read(t, "SELECT COUNT(*) FROM d.h FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", msParam(at))
		counts = append(counts, row[0][0].(int64))
	}
	close(stop)
	wg.Wait()
	copied := int64(len(e.asOf(t, "h", ms(at), "h_at")))
	for i, n := range counts {
		if n != copied {
			t.Errorf("read %d as of %d: %d rows, want %d as the copy of d.h@%d", i, at, n, copied, at)
		}
	}
}
