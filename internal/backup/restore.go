package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/linkedin/goavro/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Restorer lists backups and restores tables. It is safe for concurrent use.
type Restorer struct {
	dict    *dictionary.Dictionary
	bq      *bigquery.Client
	gcs     *storage.Client
	bucket  *storage.BucketHandle
	name    string
	dataset string
	log     *slog.Logger
	// beforeLoad, when set, runs between the checks and the load job: a
	// seam for tests that change the backup in that window.
	beforeLoad func()
}

// NewRestorer returns a Restorer reading the backup bucket of cfg.
func NewRestorer(cfg Config, dict *dictionary.Dictionary, bq *bigquery.Client, gcs *storage.Client, logger *slog.Logger) (*Restorer, error) {
	if dict == nil || bq == nil || gcs == nil {
		return nil, errors.New("backup.NewRestorer: the dictionary and the BigQuery and Storage clients are required")
	}
	if cfg.Backups == "" || cfg.Dataset == "" {
		return nil, errors.New("backup.NewRestorer: the backup bucket and the dataset are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Restorer{dict: dict, bq: bq, gcs: gcs, bucket: gcs.Bucket(cfg.Backups), name: cfg.Backups, dataset: cfg.Dataset, log: logger}, nil
}

// The statuses of a listed backup.
const (
	// StatusComplete is a backup with a readable manifest.
	StatusComplete = "complete"
	// StatusCorrupt is a backup whose manifest cannot be read or parsed:
	// it cannot be restored, and "latest" never names it.
	StatusCorrupt = "corrupt"
)

// Summary is a backup as listed.
type Summary struct {
	BackupID string `json:"backup_id"`
	// Status is StatusComplete or StatusCorrupt; Reason says, for a corrupt
	// one, what is wrong in generic terms, without the manifest's content.
	Status       string         `json:"status"`
	Reason       string         `json:"reason,omitempty"`
	SnapshotTime time.Time      `json:"snapshot_time,omitzero"`
	CompletedAt  time.Time      `json:"completed_at,omitzero"`
	Tables       []TableSummary `json:"tables"`
}

// TableSummary is a table of a listed backup.
type TableSummary struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// List returns the backups with a manifest, newest first; with table, only
// those that hold it. A backup whose manifest is corrupt is logged and
// listed with StatusCorrupt and no tables, whatever table asks for.
func (r *Restorer) List(ctx context.Context, table string) ([]Summary, error) {
	ids, err := backupIDs(ctx, r.bucket)
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, id := range ids {
		m, err := readManifest(ctx, r.bucket, id)
		if errors.Is(err, ErrNoManifest) {
			continue
		}
		if errors.Is(err, ErrCorruptManifest) {
			r.log.Warn("corrupt backup manifest", "backup_id", id, "reason", err.Error())
			out = append(out, Summary{BackupID: id, Status: StatusCorrupt, Reason: err.Error(), Tables: []TableSummary{}})
			continue
		}
		if err != nil {
			return nil, err
		}
		if table != "" {
			if _, ok := m.Table(table); !ok {
				continue
			}
		}
		s := Summary{BackupID: m.BackupID, Status: StatusComplete, SnapshotTime: m.SnapshotTime, CompletedAt: m.CompletedAt}
		for _, t := range m.Tables {
			s.Tables = append(s.Tables, TableSummary{Table: t.Table, Rows: t.Rows, Files: len(t.Files), Bytes: t.Bytes()})
		}
		out = append(out, s)
	}
	return out, nil
}

// RestoreRequest asks for a restore.
type RestoreRequest struct {
	Table    string `json:"table"`
	BackupID string `json:"backup_id"`
	DryRun   bool   `json:"dry_run"`
	// TargetTable, when set, receives the rows instead of the table's raw
	// table, for inspection: a new table, named restore_ and more.
	TargetTable string `json:"target_table,omitempty"`
}

// RestoreResult reports a restore or a dry run.
type RestoreResult struct {
	Table        string    `json:"table"`
	BackupID     string    `json:"backup_id"`
	SnapshotTime time.Time `json:"snapshot_time"`
	Target       string    `json:"target"`
	DryRun       bool      `json:"dry_run"`
	Files        int       `json:"files"`
	Bytes        int64     `json:"bytes"`
	Rows         int64     `json:"rows"`
	RowsLoaded   int64     `json:"rows_loaded"`
	Checks       []string  `json:"checks"`
	LoadJobID    string    `json:"load_job_id,omitempty"`
	VerifyMS     int64     `json:"verify_ms"`
	LoadMS       int64     `json:"load_ms"`
}

// refuse is a restore refused before anything changed, with the HTTP
// status and problem code that say why.
func refuse(status int, code, format string, args ...any) *httpapi.Problem {
	return httpapi.Errorf(status, code, format, args...)
}

// TargetPrefix starts the name of every target_table: a restore creates a
// new table for inspection, and never writes another table of the dataset.
const TargetPrefix = "restore_"

// Restore verifies a backup of a table and, unless it is a dry run, loads
// it into a staging table, checks the rows the load wrote, and replaces the
// rows of the table's raw table (or creates the target table) with one
// copy job, which is atomic. A failed check returns a *httpapi.Problem and changes
// nothing. Every job id derives from the restore (see restoreKey), so a
// retried restore adopts its jobs.
func (r *Restorer) Restore(ctx context.Context, req RestoreRequest) (*RestoreResult, error) {
	t, ok := r.dict.Table(req.Table)
	if !ok {
		return nil, refuse(http.StatusNotFound, "unknown_table", "no table %q; tables are %s", req.Table, strings.Join(r.dict.Names(), ", "))
	}
	if req.TargetTable != "" && (!strings.HasPrefix(req.TargetTable, TargetPrefix) || len(req.TargetTable) == len(TargetPrefix) || !validTableName(req.TargetTable)) {
		return nil, refuse(http.StatusBadRequest, "invalid_target_table",
			"target_table must be a new table named %s and letters, digits or underscores", TargetPrefix)
	}
	start := time.Now()
	m, err := r.manifest(ctx, req.Table, req.BackupID)
	if err != nil {
		return nil, err
	}
	tb, ok := m.Table(req.Table)
	if !ok {
		return nil, refuse(http.StatusUnprocessableEntity, "table_not_in_backup", "backup %s does not hold %s", m.BackupID, req.Table)
	}
	res := &RestoreResult{Table: req.Table, BackupID: m.BackupID, SnapshotTime: m.SnapshotTime, DryRun: req.DryRun,
		Files: len(tb.Files), Bytes: tb.Bytes(), Target: warehouse.RawTable(req.Table)}
	if req.TargetTable != "" {
		res.Target = req.TargetTable
	}
	log := r.log.With("backup_id", m.BackupID, "table", req.Table, "target", res.Target)
	key, err := r.restoreKey(ctx, m.BackupID, req.Table, res.Target)
	if err != nil {
		return nil, err
	}
	files, err := r.verify(ctx, m.BackupID, t, tb, res)
	if err != nil {
		log.Warn("restore refused", "error", err)
		return nil, err
	}
	res.VerifyMS = time.Since(start).Milliseconds()
	if req.DryRun {
		log.Info("restore dry run passed", "rows", res.Rows)
		return res, nil
	}
	if r.beforeLoad != nil {
		r.beforeLoad()
	}
	start = time.Now()
	if err := r.load(ctx, t, key, files, res); err != nil {
		log.Warn("restore failed", "error", err)
		return nil, err
	}
	res.LoadMS = time.Since(start).Milliseconds()
	log.Info("table restored", "rows", res.RowsLoaded, "load_job_id", res.LoadJobID, "verify_ms", res.VerifyMS, "load_ms", res.LoadMS)
	return res, nil
}

// restoreKey derives the key of a restore's staging table and job ids, and
// refuses a target_table that exists, unless this very restore created it.
// What makes a restore idempotent is that its retry adopts its jobs, while
// a new restore runs its own:
//
//   - into a new restore_ table, the key is (backup, table, target): a
//     retry adopts the load and copy jobs, even after the copy created the
//     target; any other restore finds the target taken.
//   - in place, the key adds the raw table's ETag: a retry before the copy
//     adopts the load job, and one after it finds the raw table changed and
//     restores again, to the same rows. A restore of the same backup after
//     more loads is a new restore, not an adopted old one.
//
// No key holds a per-request nonce.
func (r *Restorer) restoreKey(ctx context.Context, backupID, table, target string) (string, error) {
	md, err := r.bq.Dataset(r.dataset).Table(target).Metadata(ctx)
	if err != nil && !warehouse.IsCode(err, http.StatusNotFound) {
		return "", fmt.Errorf("restore: metadata of %s: %w", target, err)
	}
	parts := []string{backupID, table, target}
	if target == warehouse.RawTable(table) {
		if err != nil {
			return "", fmt.Errorf("restore: metadata of %s: %w", target, err)
		}
		parts = append(parts, md.ETag)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	key := hex.EncodeToString(sum[:8])
	if target != warehouse.RawTable(table) && err == nil {
		job, jerr := r.bq.JobFromID(ctx, copyJobID(key))
		if jerr != nil && !warehouse.IsCode(jerr, http.StatusNotFound) {
			return "", fmt.Errorf("restore: job %s: %w", copyJobID(key), jerr)
		}
		if jerr != nil || job.LastStatus().Err() != nil {
			return "", refuse(http.StatusBadRequest, "target_table_exists", "target_table %s exists; name a new table", target)
		}
	}
	return key, nil
}

func stagingTable(key string) string { return "_restore_staging_" + key }
func loadJobID(key string, staged time.Time) string {
	return fmt.Sprintf("hiring_restore_%s_load_%d", key, staged.UnixMicro())
}
func copyJobID(key string) string { return "hiring_restore_" + key + "_copy" }

// manifest finds the manifest of a backup id, or of the latest backup that
// holds the table and whose manifest is readable.
func (r *Restorer) manifest(ctx context.Context, table, id string) (*Manifest, error) {
	if id == "" {
		return nil, refuse(http.StatusBadRequest, "invalid_backup_id", "backup_id is required: an id or \"latest\"")
	}
	if id != "latest" {
		if !validID(id) {
			return nil, refuse(http.StatusBadRequest, "invalid_backup_id", "backup_id is not an id like 20261126T150405Z, nor \"latest\"")
		}
		m, err := readManifest(ctx, r.bucket, id)
		if errors.Is(err, ErrNoManifest) {
			return nil, refuse(http.StatusNotFound, "unknown_backup", "backup %s does not exist or has no manifest, so it is not a complete backup", id)
		}
		if errors.Is(err, ErrCorruptManifest) {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "backup %s: %v", id, err)
		}
		return m, err
	}
	list, err := r.List(ctx, table)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.Status == StatusComplete {
			return readManifest(ctx, r.bucket, s.BackupID)
		}
	}
	return nil, refuse(http.StatusNotFound, "unknown_backup", "no complete backup holds %s", table)
}

// verify checks that every file lies in the backup's folder and exists
// with its size, CRC32C and generation, that the files' Avro schema is the
// one the dictionary gives the table, and that they hold the manifest's
// rows. It returns the files with the generations it checked: the load
// loads those.
func (r *Restorer) verify(ctx context.Context, backupID string, t *dictionary.Table, tb TableBackup, res *RestoreResult) ([]File, error) {
	if len(tb.Files) == 0 {
		return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "the manifest lists no file for %s", tb.Table)
	}
	want, err := avro.Schema("row", warehouse.RawSchema(t))
	if err != nil {
		return nil, err
	}
	wantFields, err := avroFields(want)
	if err != nil {
		return nil, err
	}
	files := make([]File, len(tb.Files))
	for i, f := range tb.Files {
		name, ok := r.objectName(backupID, f.URI)
		if !ok {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "the manifest of %s lists a file outside the backup's folder", backupID)
		}
		a, err := r.bucket.Object(name).Attrs(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s is missing", f.URI)
		}
		if err != nil {
			return nil, fmt.Errorf("attributes of %s: %w", f.URI, err)
		}
		if f.Generation != 0 && a.Generation != f.Generation {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s was replaced after the backup", f.URI)
		}
		if a.Size != f.Bytes {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s has %d bytes, the manifest says %d", f.URI, a.Size, f.Bytes)
		}
		if a.CRC32C != f.CRC32C {
			return nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s has CRC32C %08x, the manifest says %08x", f.URI, a.CRC32C, f.CRC32C)
		}
		files[i] = f
		files[i].Generation = a.Generation
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d files present with the manifest's sizes and CRC32C", len(files)))
	var rows int64
	for _, f := range files {
		n, fields, err := scanFile(ctx, r.gcs, f)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(fields, wantFields) {
			return nil, refuse(http.StatusConflict, "schema_mismatch", "%s has columns %s; the dictionary gives %s the columns %s",
				f.URI, strings.Join(fields, ", "), tb.Table, strings.Join(wantFields, ", "))
		}
		rows += n
	}
	res.Checks = append(res.Checks, "Avro schema matches the dictionary's "+warehouse.RawTable(t.Name))
	if rows != tb.Rows {
		return nil, refuse(http.StatusUnprocessableEntity, "count_mismatch", "the files hold %d rows, the manifest says %d", rows, tb.Rows)
	}
	res.Rows = rows
	res.Checks = append(res.Checks, fmt.Sprintf("%d rows, as the manifest says", rows))
	return files, nil
}

// objectName returns the object of a manifest's file URI, if it lies in the
// backup's own folder of the backup bucket: the manifest is untrusted, and
// a URI elsewhere (another bucket, another backup, a "..", a wildcard that a
// load job would expand) is refused.
func (r *Restorer) objectName(backupID, uri string) (string, bool) {
	name, ok := strings.CutPrefix(uri, "gs://"+r.name+"/"+backupID+"/")
	if !ok {
		return "", false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
		for _, c := range seg {
			if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return "", false
			}
		}
	}
	return backupID + "/" + name, true
}

// scanFile reads an Avro file to its end, at f's generation when it has
// one: its row count and its columns as "name type" (null-unions marked),
// and a *httpapi.Problem for a file that does not decode.
func scanFile(ctx context.Context, gcs *storage.Client, f File) (int64, []string, error) {
	bucket, name, ok := splitURI(f.URI)
	if !ok {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%q is not a gs:// URI", f.URI)
	}
	obj := gcs.Bucket(bucket).Object(name)
	if f.Generation != 0 {
		obj = obj.Generation(f.Generation)
	}
	rd, err := obj.NewReader(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", f.URI, err)
	}
	defer rd.Close()
	ocf, err := goavro.NewOCFReader(rd)
	if err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s is not an Avro file", f.URI)
	}
	fields, err := avroFields(ocf.Codec().Schema())
	if err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s has no record schema", f.URI)
	}
	var n int64
	for ocf.Scan() {
		if _, err := ocf.Read(); err != nil {
			return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s: row %d does not decode", f.URI, n)
		}
		n++
	}
	if err := ocf.Err(); err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s ends before its last block", f.URI)
	}
	return n, fields, nil
}

// avroFields lists a record schema's fields as "name type", comparing the
// shape only (names, base and logical types, nullability), not docs.
func avroFields(schema string) ([]string, error) {
	var rec struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(schema), &rec); err != nil {
		return nil, fmt.Errorf("the Avro schema is not a record: %w", err)
	}
	var out []string
	for _, f := range rec.Fields {
		out = append(out, f.Name+" "+typeShape(f.Type))
	}
	return out, nil
}

func typeShape(raw json.RawMessage) string {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		return name
	}
	var union []json.RawMessage
	if json.Unmarshal(raw, &union) == nil {
		parts := make([]string, len(union))
		for i, u := range union {
			parts[i] = typeShape(u)
		}
		return strings.Join(parts, "|")
	}
	var t struct {
		Type        string `json:"type"`
		LogicalType string `json:"logicalType"`
	}
	if json.Unmarshal(raw, &t) == nil && t.Type != "" {
		if t.LogicalType != "" {
			return t.Type + "." + t.LogicalType
		}
		return t.Type
	}
	return string(raw)
}

// load loads the checked files into a staging table of the restore's own,
// checks the rows the staging table holds against the manifest, checks
// that no file changed since it was checked, and only then changes the
// target, with one copy job: WRITE_TRUNCATE onto the raw table (whose
// layout the staging table has), WRITE_EMPTY into a new target. A refused
// restore leaves the target as it was.
//
// The staging table is dropped when the restore succeeds or is refused. A
// transient failure keeps it, so that a retry with the same key reuses it
// and adopts its load job, whose id carries the staging table's creation
// time: a staging table created again (after a crash between dropping and
// answering, say) gets a load job of its own, never an old job's
// statistics over an empty table.
//
// A load job cannot name an object's generation, so it reads the live one.
// Generations only grow: if every file's live generation after the load
// equals the one verify checked and read, the load read those too.
func (r *Restorer) load(ctx context.Context, t *dictionary.Table, key string, files []File, res *RestoreResult) (err error) {
	ds := r.bq.Dataset(r.dataset)
	staging := ds.Table(stagingTable(key))
	defer func() {
		var refusal *httpapi.Problem
		if err != nil && !errors.As(err, &refusal) {
			return
		}
		drop, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := staging.Delete(drop); err != nil && !warehouse.IsCode(err, http.StatusNotFound) {
			r.log.Warn("restore: staging table not dropped", "table", staging.TableID, "error", err)
		}
	}()
	md, err := warehouse.TableMetadata(warehouse.RawTable(t.Name), warehouse.RawSchema(t), "Staging of a restore of "+t.Name)
	if err != nil {
		return err
	}
	// No expiration: a copy could carry it to the target.
	if err := staging.Create(ctx, md); err != nil && !warehouse.IsCode(err, http.StatusConflict) {
		return fmt.Errorf("restore: create %s: %w", staging.TableID, err)
	}
	created, err := staging.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("restore: metadata of %s: %w", staging.TableID, err)
	}
	uris := make([]string, len(files))
	for i, f := range files {
		uris[i] = f.URI
	}
	ref := bigquery.NewGCSReference(uris...)
	ref.SourceFormat = bigquery.Avro
	loader := staging.LoaderFrom(ref)
	loader.UseAvroLogicalTypes = true
	loader.WriteDisposition = bigquery.WriteTruncateData
	loader.CreateDisposition = bigquery.CreateNever
	loader.JobID = loadJobID(key, created.CreationTime)
	loader.Labels = map[string]string{"component": "restore-table"}
	res.LoadJobID = loader.JobID
	if _, err := warehouse.RunJob(ctx, r.bq, loader.JobID, loader.Run); err != nil {
		return r.jobFailure(err, "load_failed", res)
	}
	loaded, err := staging.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("restore: metadata of %s: %w", staging.TableID, err)
	}
	res.RowsLoaded = int64(loaded.NumRows)
	if res.RowsLoaded != res.Rows {
		return refuse(http.StatusUnprocessableEntity, "count_mismatch", "the load job %s left %d rows, the backup has %d, so %s is unchanged",
			loader.JobID, res.RowsLoaded, res.Rows, res.Target)
	}
	for _, f := range files {
		a, err := r.bucket.Object(strings.TrimPrefix(f.URI, "gs://"+r.name+"/")).Attrs(ctx)
		if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
			return fmt.Errorf("restore: attributes of %s: %w", f.URI, err)
		}
		if err != nil || a.Generation != f.Generation {
			return refuse(http.StatusConflict, "backup_changed", "%s changed while it was restored, so %s is unchanged", f.URI, res.Target)
		}
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d rows loaded from the checked generations, as the manifest says", res.RowsLoaded))
	target := ds.Table(res.Target)
	copier := target.CopierFrom(staging)
	copier.WriteDisposition = bigquery.WriteEmpty
	copier.CreateDisposition = bigquery.CreateIfNeeded
	inPlace := res.Target == warehouse.RawTable(t.Name)
	if inPlace {
		copier.WriteDisposition = bigquery.WriteTruncate
		copier.CreateDisposition = bigquery.CreateNever
	}
	copier.JobID = copyJobID(key)
	copier.Labels = map[string]string{"component": "restore-table"}
	if _, err := warehouse.RunJob(ctx, r.bq, copier.JobID, copier.Run); err != nil {
		return r.jobFailure(err, "copy_failed", res)
	}
	if inPlace {
		return nil
	}
	// The copy job of a restore_ target is the one of every restore of the
	// same backup and table into that name: adopted, it may have created
	// a table that was dropped since.
	if _, err := target.Metadata(ctx); warehouse.IsCode(err, http.StatusNotFound) {
		return refuse(http.StatusConflict, "target_table_used", "target_table %s was made by an earlier restore of this backup and dropped since; name a new table", res.Target)
	} else if err != nil {
		return fmt.Errorf("restore: metadata of %s: %w", res.Target, err)
	}
	return nil
}

// jobFailure answers a failed load or copy job of a restore. A job that
// ran and failed refuses the restore with code, and its error goes to the
// log; a job that BigQuery would not start (a permission, a quota) or that
// could not be waited for is the server's failure.
func (r *Restorer) jobFailure(err error, code string, res *RestoreResult) error {
	var je *warehouse.JobError
	if !errors.As(err, &je) || !je.Ran {
		return fmt.Errorf("restore: %w", err)
	}
	r.log.Warn("restore: job failed", "job_id", je.JobID, "table", res.Table, "target", res.Target, "error", je.Err)
	return refuse(http.StatusUnprocessableEntity, code, "the job %s failed, so %s is unchanged; the function's logs have its error", je.JobID, res.Target)
}

func splitURI(uri string) (bucket, name string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "gs://")
	if !ok {
		return "", "", false
	}
	bucket, name, ok = strings.Cut(rest, "/")
	return bucket, name, ok && bucket != "" && name != ""
}

func validTableName(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
