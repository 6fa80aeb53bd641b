package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

const (
	backupsBucket = "backups"
	otherBucket   = "other"
	jobsRows      = 5
	deptRows      = 3
)

// hostile is a BigQuery emulator and a Cloud Storage emulator with the raw
// tables of the dictionary (jobs_raw and departments_raw hold rows), a
// Backuper and a Restorer.
type hostile struct {
	bq  *bigquery.Client
	gcs *storage.Client
	b   *Backuper
	r   *Restorer
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	ctx := context.Background()
	gcs := testutil.Storage(t, backupsBucket, otherBucket)
	_, bq := testutil.BigQuery(t, emulator.Options{Storage: gcs})
	dict := dictionary.Default()
	ds := bq.Dataset("hiring")
	if err := ds.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range dict.Tables() {
		md, err := warehouse.TableMetadata(warehouse.RawTable(tbl.Name), warehouse.RawSchema(tbl), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := ds.Table(warehouse.RawTable(tbl.Name)).Create(ctx, md); err != nil {
			t.Fatal(err)
		}
	}
	h := &hostile{bq: bq, gcs: gcs}
	var jobs, depts []string
	for i := 1; i <= jobsRows; i++ {
		jobs = append(jobs, fmt.Sprintf("(%d, 'job %d', 'test', TIMESTAMP '2026-01-01 00:00:00+00', %d)", i, i, i))
	}
	for i := 1; i <= deptRows; i++ {
		depts = append(depts, fmt.Sprintf("(%d, 'dept %d', 'test', TIMESTAMP '2026-01-01 00:00:00+00', %d)", i, i, i))
	}
	h.exec(t, "INSERT INTO hiring.jobs_raw (id, job, _ingestion_id, _ingested_at, _ordinal) VALUES "+strings.Join(jobs, ", "))
	h.exec(t, "INSERT INTO hiring.departments_raw (id, department, _ingestion_id, _ingested_at, _ordinal) VALUES "+strings.Join(depts, ", "))
	cfg := Config{Google: config.Google{Project: "test-project", Dataset: "hiring"}, Buckets: config.Buckets{Backups: backupsBucket}, Codec: "SNAPPY"}
	var err error
	if h.b, err = NewBackuper(cfg, dict, bq, gcs, nil); err != nil {
		t.Fatal(err)
	}
	if h.r, err = NewRestorer(cfg, dict, bq, gcs, nil); err != nil {
		t.Fatal(err)
	}
	// Past the inserts, so that the snapshot holds them.
	time.Sleep(10 * time.Millisecond)
	return h
}

func (h *hostile) exec(t *testing.T, sql string) {
	t.Helper()
	testutil.Query(t, h.bq.Query(sql))
}

// rows returns a table's rows, or -1 when it does not exist.
func (h *hostile) rows(t *testing.T, table string) int64 {
	t.Helper()
	if !slices.Contains(testutil.TableIDs(t, h.bq.Dataset("hiring")), table) {
		return -1
	}
	return testutil.Query(t, h.bq.Query("SELECT COUNT(*) FROM hiring."+table))[0][0].(int64)
}

// staging lists the restores' staging tables left in the dataset.
func (h *hostile) staging(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, id := range testutil.TableIDs(t, h.bq.Dataset("hiring")) {
		if strings.HasPrefix(id, "_restore_staging_") {
			out = append(out, id)
		}
	}
	return out
}

func (h *hostile) object(name string) *storage.ObjectHandle {
	return h.gcs.Bucket(backupsBucket).Object(name)
}

func (h *hostile) read(t *testing.T, bucket, name string) []byte {
	t.Helper()
	r, err := h.gcs.Bucket(bucket).Object(name).NewReader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (h *hostile) write(t *testing.T, bucket, name string, data []byte) *storage.ObjectAttrs {
	t.Helper()
	w := h.gcs.Bucket(bucket).Object(name).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Attrs()
}

// copyBackup copies backup m's files and manifest to a new id, lets change
// alter the copy's manifest, and writes it (raw, when change returns
// bytes).
func (h *hostile) copyBackup(t *testing.T, m *Manifest, id string, change func(cp *Manifest) []byte) {
	t.Helper()
	ctx := context.Background()
	cp := *m
	cp.BackupID = id
	cp.Tables = slices.Clone(m.Tables)
	for i, tb := range cp.Tables {
		tb.Files = slices.Clone(tb.Files)
		for j, f := range tb.Files {
			src := strings.TrimPrefix(f.URI, "gs://"+backupsBucket+"/")
			dst := id + strings.TrimPrefix(src, m.BackupID)
			a, err := h.object(dst).CopierFrom(h.object(src)).Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tb.Files[j].URI, tb.Files[j].Generation = "gs://"+backupsBucket+"/"+dst, a.Generation
		}
		cp.Tables[i] = tb
	}
	data := change(&cp)
	if data == nil {
		var err error
		if data, err = json.Marshal(cp); err != nil {
			t.Fatal(err)
		}
	}
	h.write(t, backupsBucket, id+"/"+ManifestName, data)
}

func jobsFile(t *testing.T, m *Manifest) *File {
	t.Helper()
	for i := range m.Tables {
		if m.Tables[i].Table == "jobs" {
			return &m.Tables[i].Files[0]
		}
	}
	t.Fatal("no jobs in the backup")
	return nil
}

func objectOf(uri string) string { return strings.TrimPrefix(uri, "gs://"+backupsBucket+"/") }

// TestHostileBackups restores from backups, manifests and requests made to
// hurt, and checks that each is refused with its status and code, that
// jobs_raw keeps its rows, and that no target or staging table is left.
func TestHostileBackups(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	ctx := context.Background()
	res, err := h.b.Run(ctx, Request{Tables: []string{"jobs", "departments"}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	at, err := time.Parse(IDLayout, m.BackupID[:len(IDLayout)])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	// hostile writes a copy of the backup under a new id, changed.
	hostileCopy := func(change func(cp *Manifest) []byte) string {
		n++
		id := at.Add(time.Duration(n) * time.Hour).Format(IDLayout)
		h.copyBackup(t, m, id, change)
		return id
	}
	if err := h.bq.Dataset("hiring").Table("restore_taken").Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{{Name: "x", Type: bigquery.StringFieldType}}}); err != nil {
		t.Fatal(err)
	}
	var changeBetween string // the object that beforeLoad rewrites, if any
	h.r.beforeLoad = func() {
		if changeBetween != "" {
			h.write(t, backupsBucket, changeBetween, h.read(t, backupsBucket, changeBetween))
		}
	}
	cases := []struct {
		name    string
		req     RestoreRequest
		between string // an object rewritten (same bytes) between the checks and the load
		status  int
		code    string
	}{
		{name: "manifest not JSON", req: RestoreRequest{BackupID: hostileCopy(func(*Manifest) []byte { return []byte(`{"backup_id": "x", "tables": [`) })},
			status: 422, code: "backup_corrupt"},
		{name: "manifest of another backup", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte { cp.BackupID = m.BackupID; return nil })},
			status: 422, code: "backup_corrupt"},
		{name: "file in another bucket", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			h.write(t, otherBucket, objectOf(f.URI), h.read(t, backupsBucket, objectOf(f.URI)))
			f.URI = "gs://" + otherBucket + "/" + objectOf(f.URI)
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "file of another backup", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			*jobsFile(t, cp) = *jobsFile(t, m)
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "dot-dot in the path", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			f.URI = "gs://" + backupsBucket + "/" + cp.BackupID + "/../" + objectOf(jobsFile(t, m).URI)
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "wildcard in the path", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			f.URI = "gs://" + backupsBucket + "/" + cp.BackupID + "/jobs/part-*"
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "not a gs URI", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			jobsFile(t, cp).URI = "/etc/passwd"
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "missing file", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			if err := h.object(objectOf(jobsFile(t, cp).URI)).Delete(ctx); err != nil {
				t.Fatal(err)
			}
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "no file", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			for i := range cp.Tables {
				cp.Tables[i].Files = nil
			}
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "wrong Avro schema", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			dep, _ := cp.Table("departments")
			for i := range cp.Tables {
				if cp.Tables[i].Table == "jobs" {
					cp.Tables[i].Files, cp.Tables[i].Rows = dep.Files, dep.Rows
				}
			}
			return nil
		})}, status: 409, code: "schema_mismatch"},
		{name: "row count mismatch", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			for i := range cp.Tables {
				cp.Tables[i].Rows++
			}
			return nil
		})}, status: 422, code: "count_mismatch"},
		{name: "truncated Avro, manifest matching", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			data := h.read(t, backupsBucket, objectOf(f.URI))
			a := h.write(t, backupsBucket, objectOf(f.URI), data[:len(data)-7])
			f.Bytes, f.CRC32C, f.Generation = a.Size, a.CRC32C, a.Generation
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "not Avro, manifest matching", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			a := h.write(t, backupsBucket, objectOf(f.URI), []byte("id,job\n1,evil\n"))
			f.Bytes, f.CRC32C, f.Generation = a.Size, a.CRC32C, a.Generation
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "file replaced after the backup", req: RestoreRequest{BackupID: hostileCopy(func(cp *Manifest) []byte {
			f := jobsFile(t, cp)
			h.write(t, backupsBucket, objectOf(f.URI), h.read(t, backupsBucket, objectOf(f.URI)))
			return nil
		})}, status: 422, code: "backup_corrupt"},
		{name: "generation changed between check and load", req: RestoreRequest{BackupID: m.BackupID},
			between: objectOf(jobsFile(t, m).URI), status: 409, code: "backup_changed"},
		{name: "target not restore_", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "jobs_copy"}, status: 400, code: "invalid_target_table"},
		{name: "target the raw table", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "jobs_raw"}, status: 400, code: "invalid_target_table"},
		{name: "target the view", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "jobs"}, status: 400, code: "invalid_target_table"},
		{name: "target the prefix alone", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "restore_"}, status: 400, code: "invalid_target_table"},
		{name: "target in another dataset", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "restore_x.y"}, status: 400, code: "invalid_target_table"},
		{name: "target existing", req: RestoreRequest{BackupID: m.BackupID, TargetTable: "restore_taken"}, status: 400, code: "target_table_exists"},
		{name: "unknown table", req: RestoreRequest{Table: "salaries", BackupID: m.BackupID}, status: 404, code: "unknown_table"},
		{name: "backup id path traversal", req: RestoreRequest{BackupID: "../" + m.BackupID}, status: 400, code: "invalid_backup_id"},
		{name: "backup id with a path", req: RestoreRequest{BackupID: m.BackupID + "/../x"}, status: 400, code: "invalid_backup_id"},
		{name: "backup id with a long tag", req: RestoreRequest{BackupID: at.Format(IDLayout) + "-0123456789"}, status: 400, code: "invalid_backup_id"},
		{name: "unknown backup", req: RestoreRequest{BackupID: "20010101T000000Z"}, status: 404, code: "unknown_backup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req.Table == "" {
				req.Table = "jobs"
			}
			// Into a new table and in place, unless the case names its
			// target; a rewrite between check and load is for good, so
			// that case runs once, in place.
			targets := []string{"restore_hostile", ""}
			if req.TargetTable != "" {
				targets = []string{req.TargetTable}
			}
			if tc.between != "" {
				targets = []string{""}
			}
			for _, target := range targets {
				changeBetween = tc.between
				req.TargetTable = target
				_, err := h.r.Restore(ctx, req)
				var ref *httpapi.Problem
				if !errors.As(err, &ref) || ref.Status != tc.status || ref.Code != tc.code {
					t.Fatalf("restore into %q: %v (%+v), want %d %s", target, err, ref, tc.status, tc.code)
				}
				if got := h.rows(t, "jobs_raw"); got != jobsRows {
					t.Errorf("jobs_raw has %d rows, want %d", got, jobsRows)
				}
				if got := h.rows(t, "restore_hostile"); got != -1 {
					t.Errorf("restore_hostile exists with %d rows", got)
				}
				if s := h.staging(t); len(s) != 0 {
					t.Errorf("staging tables left: %v", s)
				}
			}
		})
	}
	changeBetween = ""
	if got := h.rows(t, "restore_taken"); got != 0 {
		t.Errorf("restore_taken has %d rows, want 0", got)
	}

	// The listing shows the corrupt manifest, and latest skips it.
	list, err := h.r.List(ctx, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	corrupt := map[string]string{
		at.Add(time.Hour).Format(IDLayout):     "manifest.json is not valid JSON",
		at.Add(2 * time.Hour).Format(IDLayout): "manifest.json names another backup",
	}
	for _, s := range list {
		if reason, ok := corrupt[s.BackupID]; ok && (s.Status != StatusCorrupt || s.Reason != reason || len(s.Tables) != 0) {
			t.Errorf("corrupt backup listed as %+v", s)
		}
		if _, ok := corrupt[s.BackupID]; !ok && s.Status != StatusComplete {
			t.Errorf("backup listed as %+v", s)
		}
	}
	// The newest backup is corrupt: latest is the newest readable one.
	h.write(t, backupsBucket, at.Add(100*time.Hour).Format(IDLayout)+"/"+ManifestName, []byte("not json"))
	if got, err := h.r.manifest(ctx, "jobs", "latest"); err != nil || got.BackupID != at.Add(time.Duration(n)*time.Hour).Format(IDLayout) {
		t.Errorf("latest: %v, %v", got, err)
	}
	if len(list) != n+1 {
		t.Errorf("%d backups listed, want %d", len(list), n+1)
	}
}

// TestRestore_Target restores into a new restore_ table, retries the same
// restore, and restores in place: each leaves the exact rows, and no
// staging table.
func TestRestore_Target(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	ctx := context.Background()
	res, err := h.b.Run(ctx, Request{Tables: []string{"jobs"}})
	if err != nil {
		t.Fatal(err)
	}
	req := RestoreRequest{Table: "jobs", BackupID: res.Manifest.BackupID, TargetTable: "restore_jobs"}
	first, err := h.r.Restore(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Rows != jobsRows || first.RowsLoaded != jobsRows || h.rows(t, "restore_jobs") != jobsRows {
		t.Fatalf("restore: %+v, restore_jobs has %d rows", first, h.rows(t, "restore_jobs"))
	}
	// A retry of the same restore answers as the first did: it adopts the
	// copy job that made the target, and the target keeps its rows.
	again, err := h.r.Restore(ctx, req)
	if err != nil {
		t.Fatalf("retried restore: %v", err)
	}
	if again.RowsLoaded != jobsRows || h.rows(t, "restore_jobs") != jobsRows {
		t.Errorf("retry: %+v, restore_jobs has %d rows", again, h.rows(t, "restore_jobs"))
	}
	// The same target from another backup is taken.
	other, err := h.b.Run(ctx, Request{Tables: []string{"jobs", "departments"}})
	if err != nil {
		t.Fatal(err)
	}
	var ref *httpapi.Problem
	if _, err := h.r.Restore(ctx, RestoreRequest{Table: "jobs", BackupID: other.Manifest.BackupID, TargetTable: "restore_jobs"}); !errors.As(err, &ref) || ref.Code != "target_table_exists" {
		t.Errorf("restore into a taken target: %v", err)
	}
	// Dropped, the target's name stays used by the restore that made it:
	// the adopted copy job would not make it again.
	if err := h.bq.Dataset("hiring").Table("restore_jobs").Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.Restore(ctx, req); !errors.As(err, &ref) || ref.Code != "target_table_used" {
		t.Errorf("restore into a dropped target of the same restore: %v, want target_table_used", err)
	}
	// In place, after more rows arrived: the backup's rows come back.
	h.exec(t, "INSERT INTO hiring.jobs_raw (id, job, _ingestion_id, _ingested_at, _ordinal) VALUES (9, 'new', 'later', TIMESTAMP '2026-02-01 00:00:00+00', 1)")
	if _, err := h.r.Restore(ctx, RestoreRequest{Table: "jobs", BackupID: res.Manifest.BackupID}); err != nil {
		t.Fatal(err)
	}
	if got := h.rows(t, "jobs_raw"); got != jobsRows {
		t.Errorf("jobs_raw has %d rows after the restore, want %d", got, jobsRows)
	}
	if s := h.staging(t); len(s) != 0 {
		t.Errorf("staging tables left: %v", s)
	}
}

// TestBackup_SameSecond makes two backups of different tables in one
// second: each has its own id, folder and manifest.
func TestBackup_SameSecond(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	ctx := context.Background()
	now := time.Now()
	h.b.now = func() time.Time { return now }
	jobs, err := h.b.Run(ctx, Request{Tables: []string{"jobs"}})
	if err != nil {
		t.Fatal(err)
	}
	depts, err := h.b.Run(ctx, Request{Tables: []string{"departments"}})
	if err != nil {
		t.Fatal(err)
	}
	if depts.Existing || jobs.Manifest.BackupID == depts.Manifest.BackupID {
		t.Fatalf("one backup for two table sets: %s, %s", jobs.Manifest.BackupID, depts.Manifest.BackupID)
	}
	for _, c := range []struct {
		m     *Manifest
		table string
		rows  int64
	}{{jobs.Manifest, "jobs", jobsRows}, {depts.Manifest, "departments", deptRows}} {
		read, err := readManifest(ctx, h.b.bucket, c.m.BackupID)
		if err != nil {
			t.Fatal(err)
		}
		if len(read.Tables) != 1 || read.Tables[0].Table != c.table || read.Tables[0].Rows != c.rows {
			t.Errorf("manifest %s: %+v", c.m.BackupID, read.Tables)
		}
		for _, f := range read.Tables[0].Files {
			if !strings.HasPrefix(f.URI, "gs://"+backupsBucket+"/"+c.m.BackupID+"/"+c.table+"/") || f.Generation == 0 {
				t.Errorf("manifest %s lists %+v", c.m.BackupID, f)
			}
		}
		if _, err := h.r.Restore(ctx, RestoreRequest{Table: c.table, BackupID: c.m.BackupID, DryRun: true}); err != nil {
			t.Errorf("dry run of %s: %v", c.m.BackupID, err)
		}
	}
	// The same tables again in that second are the same backup.
	again, err := h.b.Run(ctx, Request{Tables: []string{"jobs"}})
	if err != nil || !again.Existing || again.Manifest.BackupID != jobs.Manifest.BackupID {
		t.Errorf("again: %v %+v", err, again)
	}
	if !validID(jobs.Manifest.BackupID) || validID(jobs.Manifest.BackupID+"x") {
		t.Errorf("the id %s does not validate", jobs.Manifest.BackupID)
	}
}
