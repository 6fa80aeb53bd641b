package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	hamba "github.com/hamba/avro/v2/ocf"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// env is a local stack with every function, auth on, and the challenge's
// files loaded.
type env struct {
	cfg stack.Config
	bq  *bigquery.Client
	gcs *storage.Client
}

var tables = []string{"departments", "hired_employees", "jobs"}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Auth: true, Functions: hiringpipeline.Functions})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	gcs, err := st.Storage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close(); gcs.Close() })
	e := &env{cfg: cfg, bq: bq, gcs: gcs}
	for _, name := range tables {
		e.upload(t, name+".csv", testutil.ChallengeFile(t, name+".csv"))
	}
	e.waitLoaded(t, 3)
	return e
}

func (e *env) upload(t *testing.T, name string, data []byte) {
	t.Helper()
	w := e.gcs.Bucket(e.cfg.Buckets.Landing).Object(name).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitLoaded waits until ingest_log has n rows.
func (e *env) waitLoaded(t *testing.T, n int64) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if e.count(t, "SELECT COUNT(*) FROM hiring.ingest_log") >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest_log has fewer than %d rows after 60 s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) count(t *testing.T, sql string) int64 {
	t.Helper()
	return testutil.Query(t, e.bq.Query(sql))[0][0].(int64)
}

// readers returns what readers see of a table, ordered by id, as text with
// timestamps in microseconds.
func (e *env) readers(t *testing.T, table string) string {
	t.Helper()
	var b strings.Builder
	for _, row := range testutil.Query(t, e.bq.Query("SELECT * FROM hiring."+table+" ORDER BY id")) {
		for _, v := range row {
			if ts, ok := v.(time.Time); ok {
				fmt.Fprintf(&b, "%d|", ts.UnixMicro())
				continue
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// raw returns every row of a raw table and its etag: the table byte for byte.
func (e *env) raw(t *testing.T, table string) string {
	t.Helper()
	md, err := e.bq.Dataset("hiring").Table(table + "_raw").Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rows := testutil.Query(t, e.bq.Query(fmt.Sprintf("SELECT * FROM hiring.%s_raw ORDER BY _ingested_at, _ingestion_id, _ordinal", table)))
	return fmt.Sprintf("%s %d %v", md.ETag, md.NumRows, rows)
}

// call sends a request to a function with a role's token and checks the
// answer against the function's OpenAPI document.
func (e *env) call(t *testing.T, function, role, method, path string, body any, header ...string) (int, []byte) {
	t.Helper()
	var payload io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(e.cfg.Functions[function], "/")+path, payload)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.cfg.Auth.Tokens[role])
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	doc := map[string]map[string]any{
		"backup-tables": backup.BackupOpenAPI(), "restore-table": backup.RestoreOpenAPI(), "insert-rows": insert.OpenAPI(dictionary.Default()),
	}[function]
	testutil.ValidateResponse(t, doc, req, resp.StatusCode, resp.Header, data)
	return resp.StatusCode, data
}

func (e *env) backup(t *testing.T, header ...string) backup.Manifest {
	t.Helper()
	code, body := e.call(t, "backup-tables", "admin", "POST", "/", nil, header...)
	if code != 201 && code != 200 {
		t.Fatalf("backup: %d %s", code, body)
	}
	var m backup.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) restore(t *testing.T, req backup.RestoreRequest, role string) (int, backup.RestoreResult, string) {
	t.Helper()
	code, body := e.call(t, "restore-table", role, "POST", "/restore", req)
	var res backup.RestoreResult
	if code == 200 {
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
	}
	return code, res, string(body)
}

// TestRoundTrip backs the real dataset up, changes every table, restores
// each one and checks that readers see exactly what they saw at backup time.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := map[string]string{}
	for _, table := range tables {
		before[table] = e.readers(t, table)
	}
	m := e.backup(t)
	if len(m.Tables) != 3 {
		t.Fatalf("manifest: %+v", m)
	}
	for _, tb := range m.Tables {
		want := map[string]int64{"departments": 12, "jobs": 183, "hired_employees": 1929}[tb.Table]
		if tb.Rows != want || len(tb.Files) == 0 || tb.Files[0].CRC32C == 0 || tb.Files[0].Bytes == 0 {
			t.Errorf("manifest entry %+v", tb)
		}
	}

	// Change every table: rows through the API, and another file.
	for table, row := range map[string]string{
		"departments":     `{"id": 13, "department": "Legal"}`,
		"jobs":            `{"id": 2, "job": "Renamed"}`,
		"hired_employees": `{"id": 5000, "name": "New Hire", "datetime": "2022-03-01T00:00:00Z", "department_id": 1, "job_id": 1}`,
	} {
		code, body := e.call(t, "insert-rows", "writer", "POST", "/tables/"+table+"/rows", json.RawMessage(`{"rows": [`+row+`]}`))
		if code != 200 {
			t.Fatalf("insert into %s: %d %s", table, code, body)
		}
	}
	e.upload(t, "hired_employees/extra.csv", []byte("1,Changed Name,2021-01-01T00:00:00Z,1,1\r\n"))
	e.waitLoaded(t, 4)
	for _, table := range tables {
		if e.readers(t, table) == before[table] {
			t.Fatalf("%s did not change", table)
		}
	}

	for _, table := range tables {
		code, res, body := e.restore(t, backup.RestoreRequest{Table: table, BackupID: "latest"}, "admin")
		if code != 200 {
			t.Fatalf("restore %s: %d %s", table, code, body)
		}
		if res.BackupID != m.BackupID || res.Rows != res.RowsLoaded || len(res.Checks) != 4 {
			t.Errorf("restore %s: %+v", table, res)
		}
		if got := e.readers(t, table); got != before[table] {
			t.Errorf("%s after restore differs from the backup time:\n%.400s\nwant\n%.400s", table, got, before[table])
		}
	}
}

// TestBackupFiles reads the backup with a second Avro reader.
func TestBackupFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.backup(t)
	tb, _ := m.Table("hired_employees")
	var rows int64
	for _, f := range tb.Files {
		r, err := e.gcs.Bucket(e.cfg.Buckets.Backups).Object(strings.TrimPrefix(f.URI, "gs://"+e.cfg.Buckets.Backups+"/")).NewReader(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		dec, err := hamba.NewDecoder(r)
		if err != nil {
			t.Fatalf("hamba/avro cannot open %s: %v", f.URI, err)
		}
		schema := dec.Schema().String()
		for _, want := range []string{`"name":"datetime","type":{"type":"long","logicalType":"timestamp-micros"}`, `"name":"id","type":"long"`, `"name":"_ingestion_id","type":"string"`} {
			if !strings.Contains(schema, want) {
				t.Errorf("schema %s lacks %s", schema, want)
			}
		}
		for dec.HasNext() {
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				t.Fatalf("decode %s: %v", f.URI, err)
			}
			if _, ok := row["datetime"].(time.Time); !ok {
				t.Fatalf("datetime decoded as %T", row["datetime"])
			}
			rows++
		}
		if err := dec.Error(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	if rows != 1929 || rows != tb.Rows {
		t.Errorf("hamba/avro read %d rows, manifest says %d, want 1929", rows, tb.Rows)
	}
}

// TestScheduledRetry sends the scheduler's trigger twice for one scheduled
// time: one backup.
func TestScheduledRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The scheduled time must come after the tables were created, as it
	// does in a deployment: wait past the next whole second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	at := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	first := e.backup(t, backup.ScheduleTimeHeader, at)
	code, body := e.call(t, "backup-tables", "admin", "POST", "/", nil, backup.ScheduleTimeHeader, at)
	if code != 200 {
		t.Fatalf("retry: %d %s, want 200 (already complete)", code, body)
	}
	var second backup.Manifest
	if err := json.Unmarshal(body, &second); err != nil {
		t.Fatal(err)
	}
	if second.BackupID != first.BackupID || !second.CompletedAt.Equal(first.CompletedAt) {
		t.Errorf("retry made %s at %v, first %s at %v", second.BackupID, second.CompletedAt, first.BackupID, first.CompletedAt)
	}
	var manifests int
	it := e.gcs.Bucket(e.cfg.Buckets.Backups).Objects(context.Background(), nil)
	for {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(a.Name, "/"+backup.ManifestName) {
			manifests++
		}
	}
	if manifests != 1 {
		t.Errorf("%d manifests after a retried trigger, want 1", manifests)
	}
}

// TestRestore_Refusals corrupts copies of a backup in every way and checks
// that each restore is refused and leaves the table as it was.
func TestRestore_Refusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.backup(t)
	ctx := context.Background()
	bucket := e.gcs.Bucket(e.cfg.Buckets.Backups)
	at, _ := time.Parse(backup.IDLayout, m.BackupID)
	n := 0
	// corrupt copies the backup to a new id, lets change alter the copy,
	// and returns the new id.
	corrupt := func(change func(id string, m *backup.Manifest)) string {
		n++
		id := at.Add(time.Duration(n) * time.Hour).Format(backup.IDLayout)
		cp := m
		cp.BackupID = id
		cp.Tables = slices.Clone(m.Tables)
		for i, tb := range cp.Tables {
			tb.Files = slices.Clone(tb.Files)
			for j, f := range tb.Files {
				src := strings.TrimPrefix(f.URI, "gs://"+e.cfg.Buckets.Backups+"/")
				dst := id + strings.TrimPrefix(src, m.BackupID)
				a, err := bucket.Object(dst).CopierFrom(bucket.Object(src)).Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				tb.Files[j].URI = "gs://" + e.cfg.Buckets.Backups + "/" + dst
				tb.Files[j].Generation = a.Generation
			}
			cp.Tables[i] = tb
		}
		change(id, &cp)
		if cp.BackupID != "" {
			data, _ := json.Marshal(cp)
			w := bucket.Object(id + "/" + backup.ManifestName).NewWriter(ctx)
			w.Write(data)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	rewrite := func(uri string, edit func([]byte) []byte) {
		name := strings.TrimPrefix(uri, "gs://"+e.cfg.Buckets.Backups+"/")
		r, err := bucket.Object(name).NewReader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(r)
		r.Close()
		w := bucket.Object(name).NewWriter(ctx)
		w.Write(edit(data))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	jobsFile := func(m *backup.Manifest) *backup.File {
		for i := range m.Tables {
			if m.Tables[i].Table == "jobs" {
				return &m.Tables[i].Files[0]
			}
		}
		t.Fatal("no jobs in the backup")
		return nil
	}
	cases := []struct {
		name   string
		id     string
		role   string
		status int
		code   string
	}{
		{"truncated file", corrupt(func(_ string, m *backup.Manifest) {
			rewrite(jobsFile(m).URI, func(b []byte) []byte { return b[:len(b)/2] })
		}), "admin", 422, "backup_corrupt"},
		{"one flipped byte", corrupt(func(_ string, m *backup.Manifest) {
			rewrite(jobsFile(m).URI, func(b []byte) []byte { b[len(b)/2] ^= 0x01; return b })
		}), "admin", 422, "backup_corrupt"},
		{"flipped byte with a matching manifest", corrupt(func(_ string, m *backup.Manifest) {
			f := jobsFile(m)
			rewrite(f.URI, func(b []byte) []byte { b[len(b)-20] ^= 0xff; return b })
			name := strings.TrimPrefix(f.URI, "gs://"+e.cfg.Buckets.Backups+"/")
			a, err := bucket.Object(name).Attrs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			f.CRC32C, f.Bytes, f.Generation = a.CRC32C, a.Size, a.Generation
		}), "admin", 422, "backup_corrupt"},
		{"missing file", corrupt(func(_ string, m *backup.Manifest) {
			name := strings.TrimPrefix(jobsFile(m).URI, "gs://"+e.cfg.Buckets.Backups+"/")
			if err := bucket.Object(name).Delete(ctx); err != nil {
				t.Fatal(err)
			}
		}), "admin", 422, "backup_corrupt"},
		{"missing manifest", corrupt(func(_ string, m *backup.Manifest) { m.BackupID = "" }), "admin", 404, "unknown_backup"},
		{"manifest count mismatch", corrupt(func(_ string, m *backup.Manifest) {
			for i := range m.Tables {
				m.Tables[i].Rows++
			}
		}), "admin", 422, "count_mismatch"},
		{"schema-incompatible backup", corrupt(func(_ string, m *backup.Manifest) {
			// The departments files under the jobs name: another schema.
			for i := range m.Tables {
				if m.Tables[i].Table == "departments" {
					dep := m.Tables[i]
					for j := range m.Tables {
						if m.Tables[j].Table == "jobs" {
							m.Tables[j].Files, m.Tables[j].Rows = dep.Files, dep.Rows
						}
					}
				}
			}
		}), "admin", 409, "schema_mismatch"},
		{"unknown backup id", "20010101T000000Z", "admin", 404, "unknown_backup"},
		{"malformed backup id", "yesterday", "admin", 400, "invalid_backup_id"},
		{"non-admin caller", m.BackupID, "writer", 403, "forbidden"},
	}
	rawBefore := e.raw(t, "jobs")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := e.restore(t, backup.RestoreRequest{Table: "jobs", BackupID: tc.id}, tc.role)
			if code != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("restore: %d %s, want %d %s", code, body, tc.status, tc.code)
			}
			if now := e.raw(t, "jobs"); now != rawBefore {
				t.Errorf("the refused restore changed jobs_raw")
			}
		})
	}
	code, res, body := e.restore(t, backup.RestoreRequest{Table: "jobs", BackupID: m.BackupID, DryRun: true}, "admin")
	if code != 200 || res.Rows != 183 || res.RowsLoaded != 0 || e.raw(t, "jobs") != rawBefore {
		t.Errorf("dry run: %d %s", code, body)
	}
	code, res, body = e.restore(t, backup.RestoreRequest{Table: "jobs", BackupID: m.BackupID, TargetTable: "restore_jobs_inspect"}, "admin")
	if code != 200 || res.Target != "restore_jobs_inspect" || res.RowsLoaded != 183 || e.raw(t, "jobs") != rawBefore {
		t.Errorf("restore to a target table: %d %s", code, body)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM hiring.restore_jobs_inspect"); n != 183 {
		t.Errorf("restore_jobs_inspect has %d rows", n)
	}
}
