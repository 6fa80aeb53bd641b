package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

type want struct {
	outcome                ingest.Outcome
	read, loaded, rejected int64
	byRule                 map[dictionary.Rule]int64
	recorded               bool
	messageContains        string
}

// TestLoad_Corpus loads files of every awkward kind and checks the exact
// numbers of loaded and rejected rows, in the result, the raw table,
// rejected_rows and ingest_log.
func TestLoad_Corpus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	long := "1," + strings.Repeat("x", 2<<20) + "\n2,B\n"
	valid := "1,Sales\r\n2,Ops\r\n"
	cases := []struct {
		name, object string
		data         []byte
		want         want
	}{
		{"empty object", "departments/empty.csv", nil, want{outcome: ingest.Skipped}},
		{"header only", "departments/header-only.csv", []byte("id,department\r\n"),
			want{outcome: ingest.Rejected, recorded: true, messageContains: "no valid row"}},
		{"header and rows", "departments/header.csv", []byte("id,department\n1,Sales\n2,Ops\n"),
			want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{"BOM", "departments/bom.csv", []byte("\ufeff1,Sales\r\n2,Ops"),
			want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{"CRLF without final newline", "departments/crlf.csv", []byte("1,Sales\r\n2,Ops"),
			want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{"mixed line endings and empty lines", "departments/mixed.csv", []byte("1,A\r\n2,B\n\n3,C\r\n\r\n"),
			want{outcome: ingest.Loaded, read: 3, loaded: 3, recorded: true}},
		{"quoted commas, quotes and newlines", "departments/quoted.csv", []byte("1,\"Sales, EMEA\"\n2,\"Multi\nline\"\n3,\"He said \"\"hi\"\"\"\n"),
			want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleControlCharacter: 1}, recorded: true}},
		{"wrong field counts", "departments/fields.csv", []byte("1,A,extra\n2\n3,C\n"),
			want{outcome: ingest.Loaded, read: 3, loaded: 1, rejected: 2, byRule: map[dictionary.Rule]int64{dictionary.RuleFieldCount: 2}, recorded: true}},
		{"invalid UTF-8", "departments/utf8.csv", []byte("1,A\xff\n2,B\n"),
			want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleEncoding: 1}, recorded: true}},
		{"a 2 MiB line", "departments/long.csv", []byte(long),
			want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleRecordTooLong: 1}, recorded: true}},
		{"binary garbage", "departments/garbage.csv", []byte("\x00\x01\x02,\xfe\xff\n\x7fELF\x02\x01\n"),
			want{outcome: ingest.Rejected, read: 2, rejected: 2, byRule: map[dictionary.Rule]int64{dictionary.RuleType: 1, dictionary.RuleFieldCount: 1}, recorded: true}},
		{"truncated gzip", "departments/truncated.csv.gz", gzipTruncated(t),
			want{outcome: ingest.Failed, recorded: true, messageContains: "gzip"}},
		{"not gzip at all", "departments/plain.csv.gz", []byte(valid),
			want{outcome: ingest.Failed, recorded: true, messageContains: "malformed gzip"}},
		{"gzip", "departments/ok.csv.gz", gzipped(t, []byte(valid)),
			want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{"negative and zero ids", "departments/ids.csv", []byte("-1,A\n0,B\n3,C\n"),
			want{outcome: ingest.Loaded, read: 3, loaded: 1, rejected: 2, byRule: map[dictionary.Rule]int64{dictionary.RuleRange: 2}, recorded: true}},
		{"non-UTC offset", "hired_employees/offset.csv", []byte("1,Ann,2021-07-27T18:02:08+02:00,1,1\n"),
			want{outcome: ingest.Loaded, read: 1, loaded: 1, recorded: true}},
		{"far-future dates", "hired_employees/future.csv", []byte("2,Bob,9999-12-31T23:59:59Z,1,1\n3,Cy,10000-01-01T00:00:00Z,1,1\n"),
			want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleFormat: 1}, recorded: true}},
		{"bare quote in the middle", "departments/bare.csv", []byte("1,A\n2,B\"x\n3,C\n"),
			want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleMalformed: 1}, recorded: true}},
		{"unterminated quote at the end", "departments/unterminated.csv", []byte("1,A\n2,\"B"),
			want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleMalformed: 1}, recorded: true}},
		{"no valid row", "departments/invalid.csv", []byte("x,A\n,B\n"),
			want{outcome: ingest.Rejected, read: 2, rejected: 2, byRule: map[dictionary.Rule]int64{dictionary.RuleType: 1, dictionary.RuleRequired: 1}, recorded: true}},
		{"rejects beyond the log limit", "departments/many.csv", []byte(strings.Repeat("0,A\n", 12) + "5,E\n"),
			want{outcome: ingest.Loaded, read: 13, loaded: 1, rejected: 12, byRule: map[dictionary.Rule]int64{dictionary.RuleRange: 12}, recorded: true}},
		{"nested path", "departments/2021/part-1.csv", []byte(valid),
			want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{"unknown table", "salaries.csv", []byte(valid),
			want{outcome: ingest.Skipped, recorded: true, messageContains: `no table "salaries"`}},
		{"temporary object", "_tmp/departments.csv", []byte(valid), want{outcome: ingest.Skipped}},
		{"composite upload part", "departments/x/parallel_composite_uploads/p.csv", []byte(valid), want{outcome: ingest.Skipped}},
		{"not a CSV file", "departments.txt", []byte(valid), want{outcome: ingest.Skipped}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := e.upload(t, tc.object, tc.data)
			res, err := e.loader.Load(context.Background(), o)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			w := checkResult(t, tc.want, res)
			id := o.IngestionID()
			if table, ok := dictionary.Default().Table(strings.Split(strings.TrimSuffix(strings.TrimSuffix(tc.object, ".gz"), ".csv"), "/")[0]); ok {
				if n := e.count(t, "SELECT COUNT(*) FROM "+table.Name+"_raw WHERE _ingestion_id = @id", param("id", id)); n != w.loaded {
					t.Errorf("raw table holds %d rows of the file, want %d", n, w.loaded)
				}
			}
			if n := e.count(t, "SELECT COUNT(*) FROM rejected_rows WHERE ingestion_id = @id", param("id", id)); n != w.rejected {
				t.Errorf("rejected_rows holds %d rows of the file, want %d", n, w.rejected)
			}
			n := e.count(t, "SELECT COUNT(*) FROM ingest_log WHERE ingestion_id = @id", param("id", id))
			if (n == 1) != w.recorded || n > 1 {
				t.Errorf("ingest_log holds %d rows of the file, want recorded=%v", n, w.recorded)
			}
		})
	}
}

func gzipTruncated(t *testing.T) []byte {
	t.Helper()
	full := gzipped(t, bytes.Repeat([]byte("1,Sales\r\n"), 5000))
	return full[:len(full)/2]
}

// TestLoad_Values checks what lands in the table and in rejected_rows, value
// by value.
func TestLoad_Values(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	o := e.upload(t, "hired_employees/values.csv", []byte("41,Ann,2021-07-27T18:02:08.123456+02:00,3,4\n42,,2021-01-01T00:00:00Z,1,1\n43,Bo\xff,bad,0,1\n"))
	res, err := e.loader.Load(context.Background(), o)
	if err != nil || res.Outcome != ingest.Loaded {
		t.Fatalf("Load = %+v, %v", res, err)
	}
	rows := e.query(t, "SELECT id, name, datetime, department_id, job_id, _ingestion_id, _ordinal FROM hired_employees_raw WHERE _ingestion_id = @id", param("id", o.IngestionID()))
	wantRow := []bigquery.Value{int64(41), "Ann", time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC), int64(3), int64(4), o.IngestionID(), int64(1)}
	if diff := cmp.Diff([][]bigquery.Value{wantRow}, rows); diff != "" {
		t.Errorf("loaded rows (-want +got):\n%s", diff)
	}
	rows = e.query(t, "SELECT row_number, raw, raw_bytes, rule, field, error_count, table_name, source_object, source_generation FROM rejected_rows WHERE ingestion_id = @id ORDER BY row_number", param("id", o.IngestionID()))
	want := [][]bigquery.Value{
		{int64(2), "42,,2021-01-01T00:00:00Z,1,1", nil, "required", "name", int64(1), "hired_employees", o.URI(), o.Generation},
		{int64(3), "43,Bo\uFFFD,bad,0,1", []byte("43,Bo\xff,bad,0,1"), "encoding", "name", int64(3), "hired_employees", o.URI(), o.Generation},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rejected rows (-want +got):\n%s", diff)
	}
	errs := e.query(t, "SELECT errors FROM rejected_rows WHERE ingestion_id = @id AND row_number = 3", param("id", o.IngestionID()))
	for _, s := range []string{`"rule":"encoding"`, `"rule":"format"`, `"rule":"range"`, `"field":"department_id"`} {
		if !strings.Contains(errs[0][0].(string), s) {
			t.Errorf("errors %s lacks %s", errs[0][0], s)
		}
	}
}

// TestLoad_Challenge loads the real dataset and checks the counts the
// challenge's data implies.
func TestLoad_Challenge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, name := range []string{"departments", "jobs", "hired_employees"} {
		o := e.upload(t, name+".csv", testutil.ChallengeFile(t, name+".csv"))
		if _, err := e.loader.Load(context.Background(), o); err != nil {
			t.Fatalf("Load %s: %v", name, err)
		}
	}
	assertChallenge(t, e)
}

// assertChallenge checks what readers see after the real dataset is loaded.
func assertChallenge(t *testing.T, e *env) {
	t.Helper()
	for table, want := range map[string]int64{"departments": 12, "jobs": 183, "hired_employees": 1929} {
		if n := e.count(t, "SELECT COUNT(*) FROM "+table); n != want {
			t.Errorf("%s: readers see %d rows, want %d", table, n, want)
		}
	}
	rows := e.query(t, "SELECT field, COUNT(*) FROM rejected_rows WHERE table_name = 'hired_employees' AND rule = 'required' GROUP BY field ORDER BY field")
	want := [][]bigquery.Value{{"datetime", int64(14)}, {"department_id", int64(21)}, {"job_id", int64(16)}, {"name", int64(19)}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rejected rows by field (-want +got):\n%s", diff)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM rejected_rows"); n != 70 {
		t.Errorf("rejected_rows holds %d rows, want 70", n)
	}
}

// TestLoad_ExactlyOnce delivers the same event five times at once, then
// uploads the same file again, and checks that readers see the same rows.
func TestLoad_ExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, name := range []string{"departments", "jobs"} {
		if _, err := e.loader.Load(context.Background(), e.upload(t, name+".csv", testutil.ChallengeFile(t, name+".csv"))); err != nil {
			t.Fatalf("Load %s: %v", name, err)
		}
	}
	data := testutil.ChallengeFile(t, "hired_employees.csv")
	o := e.upload(t, "hired_employees.csv", data)
	var wg sync.WaitGroup
	results := make([]ingest.Result, 5)
	errs := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.loader.Load(context.Background(), o)
		}()
	}
	wg.Wait()
	for i := range 5 {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		if r := results[i]; r.RowsLoaded != 1929 || r.RowsRejected != 70 || (r.Outcome != ingest.Loaded && r.Outcome != ingest.Duplicate) {
			t.Errorf("delivery %d: %+v", i, r)
		}
	}
	if n := e.count(t, "SELECT COUNT(*) FROM hired_employees_raw"); n != 1929 {
		t.Errorf("raw table holds %d rows after 5 deliveries, want 1929 (one load)", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM ingest_log WHERE ingestion_id = @id", param("id", o.IngestionID())); n != 1 {
		t.Errorf("ingest_log holds %d rows for the file, want 1", n)
	}
	assertChallenge(t, e)

	again := e.upload(t, "hired_employees.csv", data)
	if again.Generation == o.Generation {
		t.Fatalf("re-upload kept generation %d", o.Generation)
	}
	if _, err := e.loader.Load(context.Background(), again); err != nil {
		t.Fatalf("Load re-upload: %v", err)
	}
	for table, want := range map[string]int64{"hired_employees": 1929, "hired_employees_raw": 2 * 1929} {
		if n := e.count(t, "SELECT COUNT(*) FROM "+table); n != want {
			t.Errorf("after re-upload %s has %d rows, want %d", table, n, want)
		}
	}
	before := e.query(t, "SELECT id, name, datetime, department_id, job_id FROM hired_employees ORDER BY id LIMIT 5")
	if len(before) != 5 || before[0][0] != int64(1) {
		t.Errorf("first rows after re-upload: %v", before)
	}
}

// TestLoad_InterruptedThenRetried fails the delivery around the load job of
// the valid rows, as a crash would, retries, and checks exact counts.
func TestLoad_InterruptedThenRetried(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"before the load job", "after the load job ran"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			var cancel atomic.Value
			var tripped atomic.Bool
			e := newEnv(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(body))
					if r.Method == http.MethodPost && bytes.Contains(body, []byte("hiring_load_")) && bytes.Contains(body, []byte("hired_employees")) && tripped.CompareAndSwap(false, true) {
						if where == "after the load job ran" {
							next.ServeHTTP(httptest.NewRecorder(), r)
						}
						cancel.Load().(context.CancelFunc)()
						http.Error(w, "injected failure", http.StatusServiceUnavailable)
						return
					}
					next.ServeHTTP(w, r)
				})
			})
			for _, name := range []string{"departments", "jobs"} {
				if _, err := e.loader.Load(context.Background(), e.upload(t, name+".csv", testutil.ChallengeFile(t, name+".csv"))); err != nil {
					t.Fatalf("Load %s: %v", name, err)
				}
			}
			o := e.upload(t, "hired_employees.csv", testutil.ChallengeFile(t, "hired_employees.csv"))
			ctx, c := context.WithCancel(context.Background())
			cancel.Store(c)
			if _, err := e.loader.Load(ctx, o); err == nil {
				t.Fatal("the interrupted delivery reported success")
			}
			if !tripped.Load() {
				t.Fatal("the failure was not injected")
			}
			res, err := e.loader.Load(context.Background(), o)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if res.Outcome != ingest.Loaded || res.RowsLoaded != 1929 || res.RowsRejected != 70 {
				t.Errorf("retry result: %+v", res)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM hired_employees_raw"); n != 1929 {
				t.Errorf("raw table holds %d rows, want 1929", n)
			}
			assertChallenge(t, e)
		})
	}
}

func TestLoad_RejectLogLimit(t *testing.T) {
	t.Parallel()
	var buf testutil.SyncBuffer
	e := newEnv(t, nil)
	lc := e.lc
	lc.RejectLogLimit = 3
	loader, err := ingest.NewLoader(lc, dictionary.Default(), e.bq, e.gcs, newJSONLogger(&buf))
	if err != nil {
		t.Fatal(err)
	}
	o := e.upload(t, "departments/bad.csv", []byte(strings.Repeat("0,A\n", 10)))
	if _, err := loader.Load(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	if n := strings.Count(logs, `"message":"row rejected"`); n != 3 {
		t.Errorf("%d rejected rows logged one by one, want 3:\n%s", n, logs)
	}
	if !strings.Contains(logs, "7 more rejected rows not logged one by one") {
		t.Errorf("no summary line for the other rejects:\n%s", logs)
	}
	if !strings.Contains(logs, fmt.Sprintf(`"ingestion_id":%q`, o.IngestionID())) || !strings.Contains(logs, `"severity":"WARNING"`) {
		t.Errorf("reject lines lack the ingestion id or the WARNING severity:\n%s", logs)
	}
}

// checkResult checks a Load result against w, whose nil byRule means none,
// and returns w with that filled in.
func checkResult(t *testing.T, w want, res ingest.Result) want {
	t.Helper()
	if w.byRule == nil {
		w.byRule = map[dictionary.Rule]int64{}
	}
	got := want{outcome: res.Outcome, read: res.RowsRead, loaded: res.RowsLoaded, rejected: res.RowsRejected, byRule: res.RejectedByRule,
		recorded: w.recorded, messageContains: w.messageContains}
	if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if !strings.Contains(res.Message, w.messageContains) {
		t.Errorf("message %q does not contain %q", res.Message, w.messageContains)
	}
	return w
}
