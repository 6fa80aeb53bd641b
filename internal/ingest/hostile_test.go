package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// forbiddenMarker in an object name makes the Storage proxy of
// TestLoad_Hostile answer its reads 403.
const forbiddenMarker = "forbidden"

// TestLoad_Hostile loads hostile files and events, each with its exact
// outcome and counts of read, loaded and rejected rows, in the result, the
// raw table, rejected_rows and ingest_log.
func TestLoad_Hostile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	loader := e.forbiddingLoader(t)
	overLong := strings.Repeat("x", dictionary.DefaultMaxRecordBytes+1)
	tooLong := map[dictionary.Rule]int64{dictionary.RuleRecordTooLong: 1}
	control := map[dictionary.Rule]int64{dictionary.RuleControlCharacter: 1}
	cases := []struct {
		name, object string
		data         []byte
		// edit changes the object's event after the upload.
		edit func(t *testing.T, o *ingest.Object)
		want want
	}{
		{name: "gzip bomb", object: "departments/bomb.csv.gz", data: gzipBomb(t, 64<<20),
			want: want{outcome: ingest.Failed, recorded: true, messageContains: "HIRING_MAX_GZIP_RATIO"}},
		{name: "truncated gzip", object: "departments/truncated.csv.gz", data: gzipTruncated(t),
			want: want{outcome: ingest.Failed, recorded: true, messageContains: "malformed gzip"}},
		{name: "gzip with trailing garbage", object: "departments/trailing.csv.gz", data: append(gzipped(t, []byte("1,A\n2,B\n")), "garbage after the gzip member"...),
			want: want{outcome: ingest.Failed, recorded: true, messageContains: "malformed gzip"}},
		{name: "two gzip members", object: "departments/members.csv.gz", data: append(gzipped(t, []byte("1,A\n")), gzipped(t, []byte("2,B\n"))...),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 2, recorded: true}},
		{name: "0-byte gzip", object: "departments/zero.csv.gz", data: nil,
			want: want{outcome: ingest.Skipped}},
		{name: "over-long record in the middle", object: "departments/long-middle.csv", data: []byte("1,A\n2," + overLong + "\n3,C\n"),
			want: want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: tooLong, recorded: true}},
		{name: "over-long quoted record in the middle", object: "departments/long-quoted.csv", data: []byte("1,A\n2,\"" + overLong + "\n" + overLong + "\"\n3,C\n"),
			want: want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: tooLong, recorded: true}},
		{name: "extremely long line without quotes", object: "departments/long-line.csv", data: []byte(strings.Repeat("9", 4<<20) + "\n2,B\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: tooLong, recorded: true}},
		{name: "unterminated quote over the limit takes the rest", object: "departments/unterminated-long.csv", data: []byte("1,A\n2,\"" + overLong + "\n3,C\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: tooLong, recorded: true}},
		{name: "unterminated quote at EOF", object: "departments/unterminated.csv", data: []byte("1,A\n2,B\n3,\"C"),
			want: want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleMalformed: 1}, recorded: true}},
		{name: "a lone quote", object: "departments/quote.csv", data: []byte(`"`),
			want: want{outcome: ingest.Rejected, read: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleMalformed: 1}, recorded: true, messageContains: "no valid row"}},
		{name: "too many fields", object: "departments/fields.csv", data: []byte("1,A\n2" + strings.Repeat(",B", 100) + "\n3,C\n"),
			want: want{outcome: ingest.Loaded, read: 3, loaded: 2, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleTooManyFields: 1}, recorded: true}},
		{name: "NUL byte in a name", object: "hired_employees/nul.csv", data: []byte("1,Ja\x00ne,2021-07-27T16:02:08Z,1,1\n2,Bo,2021-07-27T16:02:08Z,1,1\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: control, recorded: true}},
		{name: "tab in a name", object: "departments/tab.csv", data: []byte("1,Sa\tles\n2,B\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: control, recorded: true}},
		{name: "DEL in a name", object: "jobs/del.csv", data: []byte("1,Ana\x7flyst\n2,Dev\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: control, recorded: true}},
		{name: "CR-only line endings", object: "departments/cr.csv", data: []byte("1,A\r2,B\r3,C\r"),
			want: want{outcome: ingest.Rejected, read: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleFieldCount: 1}, recorded: true}},
		{name: "BOM", object: "departments/bom.csv", data: []byte("\ufeffid,department\r\n1,A\r\n"),
			want: want{outcome: ingest.Loaded, read: 1, loaded: 1, recorded: true}},
		{name: "BOM only", object: "departments/bom-only.csv", data: []byte("\ufeff"),
			want: want{outcome: ingest.Rejected, recorded: true, messageContains: "no valid row"}},
		{name: "empty file", object: "departments/empty.csv", data: nil,
			want: want{outcome: ingest.Skipped}},
		{name: "header only", object: "jobs/header.csv", data: []byte("id,job\n"),
			want: want{outcome: ingest.Rejected, recorded: true, messageContains: "no valid row"}},
		{name: "only line breaks", object: "jobs/breaks.csv", data: []byte("\r\n\n\r\n\r"),
			want: want{outcome: ingest.Rejected, recorded: true, messageContains: "no valid row"}},
		{name: "non-UTF-8 bytes", object: "jobs/latin1.csv", data: []byte("1,Ing\xe9nieur\n2,Dev\n"),
			want: want{outcome: ingest.Loaded, read: 2, loaded: 1, rejected: 1, byRule: map[dictionary.Rule]int64{dictionary.RuleEncoding: 1}, recorded: true}},
		{name: "an image", object: "jobs/image.csv", data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
			want: want{outcome: ingest.Rejected, read: 3, rejected: 3, byRule: map[dictionary.Rule]int64{dictionary.RuleFieldCount: 3}, recorded: true}},
		{name: "wrong bucket", object: "departments/elsewhere.csv", data: []byte("1,A\n"),
			edit: func(_ *testing.T, o *ingest.Object) { o.Bucket = "someone-elses-bucket" },
			want: want{outcome: ingest.Skipped}},
		{name: "deleted generation", object: "departments/deleted.csv", data: []byte("1,A\n"),
			edit: func(t *testing.T, o *ingest.Object) { e.delete(t, o.Name) },
			want: want{outcome: ingest.Failed, recorded: true, messageContains: "no longer exists"}},
		{name: "403 on the object", object: "departments/" + forbiddenMarker + ".csv", data: []byte("1,A\n"),
			want: want{outcome: ingest.Failed, recorded: true, messageContains: "no permission to read"}},
		{name: "name traversal", object: "departments/../jobs.csv", data: []byte("1,A\n"),
			want: want{outcome: ingest.Skipped}},
		{name: "leading traversal", object: "../departments.csv", data: []byte("1,A\n"),
			want: want{outcome: ingest.Skipped}},
		{name: "unknown table folder", object: "salaries/2021.csv", data: []byte("1,A\n"),
			want: want{outcome: ingest.Skipped, recorded: true, messageContains: `no table "salaries"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := e.upload(t, tc.object, tc.data)
			if tc.edit != nil {
				tc.edit(t, &o)
			}
			res, err := loader.Load(context.Background(), o)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			w := checkResult(t, tc.want, res)
			id := o.IngestionID()
			for _, table := range dictionary.Default().Names() {
				want := int64(0)
				if strings.HasPrefix(tc.object, table+"/") {
					want = w.loaded
				}
				if n := e.count(t, "SELECT COUNT(*) FROM "+table+"_raw WHERE _ingestion_id = @id", param("id", id)); n != want {
					t.Errorf("%s_raw holds %d rows of the file, want %d", table, n, want)
				}
			}
			if n := e.count(t, "SELECT COUNT(*) FROM rejected_rows WHERE ingestion_id = @id", param("id", id)); n != w.rejected {
				t.Errorf("rejected_rows holds %d rows of the file, want %d", n, w.rejected)
			}
			n := e.count(t, "SELECT COUNT(*) FROM ingest_log WHERE ingestion_id = @id", param("id", id))
			if (n == 1) != w.recorded || n > 1 {
				t.Errorf("ingest_log holds %d rows of the file, want recorded=%v", n, w.recorded)
			}
			if w.recorded {
				rows := e.query(t, "SELECT outcome FROM ingest_log WHERE ingestion_id = @id", param("id", id))
				if got := ingest.Outcome(rows[0][0].(string)); got != w.outcome {
					t.Errorf("ingest_log outcome %s, want %s", got, w.outcome)
				}
			}
		})
	}
}

// TestLoad_RejectedRowsNotLogged checks that log lines name the line, field
// and rule of a rejected row but carry none of its values.
func TestLoad_RejectedRowsNotLogged(t *testing.T) {
	t.Parallel()
	var buf testutil.SyncBuffer
	e := newEnv(t, nil)
	loader, err := ingest.NewLoader(e.lc, dictionary.Default(), e.bq, e.gcs, newJSONLogger(&buf))
	if err != nil {
		t.Fatal(err)
	}
	o := e.upload(t, "hired_employees/private.csv", []byte("9100,Jane Privateperson,not-a-date,1,1\n9101,John Q\x00Secret,2021-07-27T16:02:08Z,-7,1\n"))
	res, err := loader.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsRejected != 2 {
		t.Fatalf("%d rows rejected, want 2", res.RowsRejected)
	}
	logs := buf.String()
	for _, value := range []string{"9100", "Privateperson", "not-a-date", "Secret", "-7"} {
		if strings.Contains(logs, value) {
			t.Errorf("logs carry the value %q:\n%s", value, logs)
		}
	}
	for _, part := range []string{`"line":1`, `"field":"datetime"`, `"rule":"format"`, `"line":2`, `"field":"name"`, `"rule":"control_character"`, `"rule":"range"`} {
		if !strings.Contains(logs, part) {
			t.Errorf("logs lack %s:\n%s", part, logs)
		}
	}
}

// TestProvision_rejectedRowsExpire checks that the local rejected_rows, as
// provisioned on the emulator, has its partitions expire after 90 days.
func TestProvision_rejectedRowsExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	md, err := e.bq.Dataset(e.cfg.Dataset).Table(warehouse.RejectedRows).Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := md.TimePartitioning; p == nil || p.Expiration != 90*24*time.Hour {
		t.Errorf("rejected_rows partitioning = %+v, want partitions expiring after 90 days", p)
	}
}

// forbiddingLoader returns a Loader whose Storage client goes through a
// proxy that answers 403 to every request for an object named with
// forbiddenMarker.
func (e *env) forbiddingLoader(t *testing.T) *ingest.Loader {
	t.Helper()
	target, err := url.Parse("http://" + e.cfg.Env["STORAGE_EMULATOR_HOST"])
	if err != nil {
		t.Fatal(err)
	}
	upstream := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, forbiddenMarker) || strings.Contains(r.URL.RawQuery, forbiddenMarker) {
			http.Error(w, `{"error":{"code":403,"message":"Permission denied"}}`, http.StatusForbidden)
			return
		}
		r.Host = target.Host
		upstream.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	gcs, err := clients.Storage(context.Background(), proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gcs.Close() })
	loader, err := ingest.NewLoader(e.lc, dictionary.Default(), e.bq, gcs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return loader
}

// delete deletes an object of the landing bucket.
func (e *env) delete(t *testing.T, name string) {
	t.Helper()
	if err := e.gcs.Bucket(e.cfg.Buckets.Landing).Object(name).Delete(context.Background()); err != nil {
		t.Fatalf("delete %s: %v", name, err)
	}
}

// gzipBomb is a gzip file of one departments record whose quoted field
// decompresses to size bytes, at about 1000 times the compressed size.
func gzipBomb(t *testing.T, size int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(zw, `1,"`)
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for written := 0; written < size; written += len(chunk) {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
