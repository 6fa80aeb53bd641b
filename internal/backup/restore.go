package backup

import (
	"context"
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
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Restorer lists backups and restores tables. It is safe for concurrent use.
type Restorer struct {
	dict    *dictionary.Dictionary
	bq      *bigquery.Client
	gcs     *storage.Client
	bucket  *storage.BucketHandle
	dataset string
	log     *slog.Logger
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
	return &Restorer{dict: dict, bq: bq, gcs: gcs, bucket: gcs.Bucket(cfg.Backups), dataset: cfg.Dataset, log: logger}, nil
}

// Summary is a backup as listed.
type Summary struct {
	BackupID     string         `json:"backup_id"`
	SnapshotTime time.Time      `json:"snapshot_time"`
	CompletedAt  time.Time      `json:"completed_at"`
	Tables       []TableSummary `json:"tables"`
}

// TableSummary is a table of a listed backup.
type TableSummary struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
}

// List returns the complete backups (those with a manifest), newest first;
// with table, only those that hold it.
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
		if err != nil {
			return nil, err
		}
		if table != "" {
			if _, ok := m.Table(table); !ok {
				continue
			}
		}
		s := Summary{BackupID: m.BackupID, SnapshotTime: m.SnapshotTime, CompletedAt: m.CompletedAt}
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
	// table, for inspection; it is created if needed.
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

// Refusal is a restore refused before anything changed, with the HTTP
// status and problem code that say why.
type Refusal struct {
	Status int
	Code   string
	Detail string
}

func (e *Refusal) Error() string { return e.Detail }

func refuse(status int, code, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Restore verifies a backup of a table and, unless it is a dry run, replaces
// the rows of the table's raw table (or of the target table) with it in one
// load job with WRITE_TRUNCATE_DATA, which keeps the schema and is atomic.
// A failed check returns a *Refusal and changes nothing.
func (r *Restorer) Restore(ctx context.Context, req RestoreRequest) (*RestoreResult, error) {
	t, ok := r.dict.Table(req.Table)
	if !ok {
		return nil, refuse(http.StatusNotFound, "unknown_table", "no table %q; tables are %s", req.Table, strings.Join(r.dict.Names(), ", "))
	}
	if req.TargetTable != "" && !validTableName(req.TargetTable) {
		return nil, refuse(http.StatusBadRequest, "invalid_target", "target_table %q is not a table name (letters, digits, underscores)", req.TargetTable)
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
	if err := r.verify(ctx, t, tb, res); err != nil {
		log.Warn("restore refused", "error", err)
		return nil, err
	}
	res.VerifyMS = time.Since(start).Milliseconds()
	if req.DryRun {
		log.Info("restore dry run passed", "rows", res.Rows)
		return res, nil
	}
	start = time.Now()
	if err := r.load(ctx, t, tb, res); err != nil {
		return nil, err
	}
	res.LoadMS = time.Since(start).Milliseconds()
	log.Info("table restored", "rows", res.RowsLoaded, "load_job_id", res.LoadJobID, "verify_ms", res.VerifyMS, "load_ms", res.LoadMS)
	return res, nil
}

// manifest finds the manifest of a backup id, or of the latest backup that
// holds the table.
func (r *Restorer) manifest(ctx context.Context, table, id string) (*Manifest, error) {
	if id == "" {
		return nil, refuse(http.StatusBadRequest, "invalid_backup_id", "backup_id is required: an id or \"latest\"")
	}
	if id != "latest" {
		if _, err := time.Parse(IDLayout, id); err != nil {
			return nil, refuse(http.StatusBadRequest, "invalid_backup_id", "backup_id %q is not an id like 20261126T150405Z, nor \"latest\"", id)
		}
		m, err := readManifest(ctx, r.bucket, id)
		if errors.Is(err, ErrNoManifest) {
			return nil, refuse(http.StatusNotFound, "unknown_backup", "backup %s does not exist or has no manifest, so it is not a complete backup", id)
		}
		return m, err
	}
	list, err := r.List(ctx, table)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, refuse(http.StatusNotFound, "unknown_backup", "no complete backup holds %s", table)
	}
	return readManifest(ctx, r.bucket, list[0].BackupID)
}

// verify checks that every file exists with its size and CRC32C, that the
// files' Avro schema is the one the dictionary gives the table, and that
// they hold the manifest's rows.
func (r *Restorer) verify(ctx context.Context, t *dictionary.Table, tb TableBackup, res *RestoreResult) error {
	if len(tb.Files) == 0 {
		return refuse(http.StatusUnprocessableEntity, "backup_corrupt", "the manifest lists no file for %s", tb.Table)
	}
	want, err := avro.Schema("row", warehouse.RawSchema(t))
	if err != nil {
		return err
	}
	wantFields, err := avroFields(want)
	if err != nil {
		return err
	}
	for _, f := range tb.Files {
		bucket, name, ok := splitURI(f.URI)
		if !ok {
			return refuse(http.StatusUnprocessableEntity, "backup_corrupt", "the manifest lists %q, not a gs:// URI", f.URI)
		}
		a, err := r.gcs.Bucket(bucket).Object(name).Attrs(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			return refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s is missing", f.URI)
		}
		if err != nil {
			return fmt.Errorf("attributes of %s: %w", f.URI, err)
		}
		if a.Size != f.Bytes {
			return refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s has %d bytes, the manifest says %d", f.URI, a.Size, f.Bytes)
		}
		if a.CRC32C != f.CRC32C {
			return refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s has CRC32C %08x, the manifest says %08x", f.URI, a.CRC32C, f.CRC32C)
		}
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d files present with the manifest's sizes and CRC32C", len(tb.Files)))
	var rows int64
	for _, f := range tb.Files {
		n, fields, err := scanFile(ctx, r.gcs, f)
		if err != nil {
			return err
		}
		if !slices.Equal(fields, wantFields) {
			return refuse(http.StatusConflict, "schema_mismatch", "%s has columns %s; the dictionary gives %s the columns %s",
				f.URI, strings.Join(fields, ", "), tb.Table, strings.Join(wantFields, ", "))
		}
		rows += n
	}
	res.Checks = append(res.Checks, "Avro schema matches the dictionary's "+warehouse.RawTable(t.Name))
	if rows != tb.Rows {
		return refuse(http.StatusUnprocessableEntity, "count_mismatch", "the files hold %d rows, the manifest says %d", rows, tb.Rows)
	}
	res.Rows = rows
	res.Checks = append(res.Checks, fmt.Sprintf("%d rows, as the manifest says", rows))
	return nil
}

// scanFile reads an Avro file to its end: its row count and its columns as
// "name type" (null-unions marked), and a *Refusal for a file that does not
// decode.
func scanFile(ctx context.Context, gcs *storage.Client, f File) (int64, []string, error) {
	bucket, name, ok := splitURI(f.URI)
	if !ok {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%q is not a gs:// URI", f.URI)
	}
	rd, err := gcs.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", f.URI, err)
	}
	defer rd.Close()
	ocf, err := goavro.NewOCFReader(rd)
	if err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s is not an Avro file: %v", f.URI, err)
	}
	fields, err := avroFields(ocf.Codec().Schema())
	if err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s: %v", f.URI, err)
	}
	var n int64
	for ocf.Scan() {
		if _, err := ocf.Read(); err != nil {
			return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s: row %d does not decode: %v", f.URI, n, err)
		}
		n++
	}
	if err := ocf.Err(); err != nil {
		return 0, nil, refuse(http.StatusUnprocessableEntity, "backup_corrupt", "%s: %v", f.URI, err)
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

// load replaces the target's rows with the backup's files in one load job.
func (r *Restorer) load(ctx context.Context, t *dictionary.Table, tb TableBackup, res *RestoreResult) error {
	uris := make([]string, len(tb.Files))
	for i, f := range tb.Files {
		uris[i] = f.URI
	}
	ref := bigquery.NewGCSReference(uris...)
	ref.SourceFormat = bigquery.Avro
	loader := r.bq.Dataset(r.dataset).Table(res.Target).LoaderFrom(ref)
	loader.UseAvroLogicalTypes = true
	loader.WriteDisposition = bigquery.WriteTruncateData
	loader.CreateDisposition = bigquery.CreateNever
	if res.Target != warehouse.RawTable(t.Name) {
		loader.CreateDisposition = bigquery.CreateIfNeeded
		ref.Schema = warehouse.RawSchema(t)
	}
	loader.Labels = map[string]string{"component": "restore-table"}
	job, err := loader.Run(ctx)
	if err != nil {
		return fmt.Errorf("restore load job: %w", err)
	}
	res.LoadJobID = job.ID()
	status, err := job.Wait(ctx)
	if err != nil {
		return fmt.Errorf("restore load job %s: %w", job.ID(), err)
	}
	if err := status.Err(); err != nil {
		return refuse(http.StatusUnprocessableEntity, "load_failed", "the load job %s failed, so %s is unchanged: %v", job.ID(), res.Target, err)
	}
	stats, ok := status.Statistics.Details.(*bigquery.LoadStatistics)
	if !ok {
		return fmt.Errorf("restore load job %s: no load statistics", job.ID())
	}
	res.RowsLoaded = stats.OutputRows
	if res.RowsLoaded != res.Rows {
		return fmt.Errorf("restore load job %s loaded %d rows into %s, the backup has %d", job.ID(), res.RowsLoaded, res.Target, res.Rows)
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d rows loaded, as the manifest says", res.RowsLoaded))
	return nil
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
