package backup

import (
	"bytes"
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
	"google.golang.org/api/iterator"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Config configures backup-tables and restore-table from HIRING_* variables.
type Config struct {
	config.Google
	config.Buckets
	auth.Config
	// Codec compresses the exported Avro files: NONE, DEFLATE or SNAPPY.
	Codec string `env:"BACKUP_CODEC, default=SNAPPY"`
}

// Backuper makes backups. It is safe for concurrent use.
type Backuper struct {
	dict    *dictionary.Dictionary
	bq      *bigquery.Client
	gcs     *storage.Client
	bucket  *storage.BucketHandle
	name    string
	dataset string
	codec   bigquery.Compression
	log     *slog.Logger
	now     func() time.Time
}

// NewBackuper returns a Backuper writing to the backup bucket of cfg.
func NewBackuper(cfg Config, dict *dictionary.Dictionary, bq *bigquery.Client, gcs *storage.Client, logger *slog.Logger) (*Backuper, error) {
	if dict == nil || bq == nil || gcs == nil {
		return nil, errors.New("backup.NewBackuper: the dictionary and the BigQuery and Storage clients are required")
	}
	if cfg.Backups == "" || cfg.Dataset == "" {
		return nil, errors.New("backup.NewBackuper: the backup bucket and the dataset are required")
	}
	codec := bigquery.Compression(cfg.Codec)
	switch codec {
	case bigquery.None, bigquery.Deflate, bigquery.Snappy:
	default:
		return nil, fmt.Errorf("backup.NewBackuper: BACKUP_CODEC %q is not one of NONE, DEFLATE, SNAPPY", cfg.Codec)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backuper{dict: dict, bq: bq, gcs: gcs, bucket: gcs.Bucket(cfg.Backups), name: cfg.Backups, dataset: cfg.Dataset,
		codec: codec, log: logger, now: time.Now}, nil
}

// Request asks for a backup.
type Request struct {
	// Tables are the dictionary tables to back up; empty means all.
	Tables []string
	// ScheduledAt is the time Cloud Scheduler planned the run for: the
	// backup id (to the second) and the snapshot time derive from it, so
	// that a retried trigger finds the same backup. Zero (or a time still
	// to come) means now.
	ScheduledAt time.Time
}

// Result is a finished backup.
type Result struct {
	Manifest *Manifest
	// Existing is true when the backup was already complete.
	Existing bool
}

// Run makes the backup: per table, a copy of its raw table as of the
// snapshot time, exported with an extract job to Avro, then the manifest,
// written last. Every job id derives from the backup id, so a run that was
// interrupted resumes where it stopped, and a run of a complete backup only
// returns its manifest.
func (b *Backuper) Run(ctx context.Context, req Request) (*Result, error) {
	tables, err := b.tables(req.Tables)
	if err != nil {
		return nil, err
	}
	now := b.now().UTC()
	at := now.Truncate(time.Millisecond)
	if !req.ScheduledAt.IsZero() && req.ScheduledAt.Before(now) {
		at = req.ScheduledAt.UTC().Truncate(time.Millisecond)
	}
	id := backupID(at, tables, len(b.dict.Tables()))
	log := b.log.With("backup_id", id)
	if m, err := readManifest(ctx, b.bucket, id); err == nil {
		log.Info("backup already complete")
		return &Result{Manifest: m, Existing: true}, nil
	} else if !errors.Is(err, ErrNoManifest) {
		return nil, err
	}
	m := &Manifest{BackupID: id, SnapshotTime: at, Project: b.bq.Project(), Dataset: b.dataset,
		Codec: string(b.codec), ToolVersion: toolVersion()}
	for _, t := range tables {
		start := time.Now()
		tb, err := b.table(ctx, id, at, t)
		if err != nil {
			return nil, fmt.Errorf("back up %s: %w", t.Name, err)
		}
		log.Info("table backed up", "table", t.Name, "rows", tb.Rows, "files", len(tb.Files), "bytes", tb.Bytes(), "ms", time.Since(start).Milliseconds())
		m.Tables = append(m.Tables, tb)
	}
	m.CompletedAt = b.now().UTC()
	if err := b.writeManifest(ctx, m); err != nil {
		return nil, err
	}
	log.Info("backup complete", "tables", len(m.Tables))
	return &Result{Manifest: m}, nil
}

// backupID derives a backup's id from its time, to the second, and its
// tables: a backup of every table has the time alone; one of some tables
// adds "-" and 8 hex digits of a SHA-256 of their sorted names. So a
// retried trigger finds its backup, and two backups of different tables in
// one second have their own ids, folders, job ids and manifests.
func backupID(at time.Time, tables []*dictionary.Table, all int) string {
	id := at.Truncate(time.Second).Format(IDLayout)
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == all {
		return id
	}
	sum := sha256.Sum256([]byte(strings.Join(names, ",")))
	return id + "-" + hex.EncodeToString(sum[:4])
}

func (b *Backuper) tables(names []string) ([]*dictionary.Table, error) {
	if len(names) == 0 {
		return b.dict.Tables(), nil
	}
	var out []*dictionary.Table
	for _, n := range names {
		t, ok := b.dict.Table(n)
		if !ok {
			return nil, httpapi.Errorf(http.StatusBadRequest, "unknown_table", "no table %q; tables are %s", n, strings.Join(b.dict.Names(), ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// table backs one table up.
func (b *Backuper) table(ctx context.Context, id string, at time.Time, t *dictionary.Table) (TableBackup, error) {
	ds := b.bq.Dataset(b.dataset)
	raw := warehouse.RawTable(t.Name)
	tmp := ds.Table("_backup_" + strings.ReplaceAll(id, "-", "_") + "_" + t.Name)
	prefix := id + "/" + t.Name + "/"
	tb := TableBackup{
		Table:        t.Name,
		Source:       raw,
		CopyJobID:    jobID(id, t.Name, "copy"),
		ExtractJobID: jobID(id, t.Name, "extract"),
	}
	schema, err := warehouse.RawSchema(t).ToJSONFields()
	if err != nil {
		return tb, err
	}
	tb.Schema = schema

	copier := tmp.CopierFrom(ds.Table(fmt.Sprintf("%s@%d", raw, at.UnixMilli())))
	copier.WriteDisposition = bigquery.WriteTruncate
	copier.CreateDisposition = bigquery.CreateIfNeeded
	copier.JobID = tb.CopyJobID
	copier.Labels = map[string]string{"component": "backup-tables"}
	if _, err := warehouse.RunJob(ctx, b.bq, tb.CopyJobID, copier.Run); err != nil {
		return tb, err
	}
	ref := bigquery.NewGCSReference("gs://" + b.name + "/" + prefix + "part-*.avro")
	ref.DestinationFormat = bigquery.Avro
	ref.Compression = b.codec
	ext := tmp.ExtractorTo(ref)
	ext.UseAvroLogicalTypes = true
	ext.JobID = tb.ExtractJobID
	ext.Labels = map[string]string{"component": "backup-tables"}
	if _, err := warehouse.RunJob(ctx, b.bq, tb.ExtractJobID, ext.Run); err != nil {
		return tb, err
	}
	if tb.Files, err = b.files(ctx, prefix); err != nil {
		return tb, err
	}
	if tb.Rows, err = b.rows(ctx, tmp, tb.Files); err != nil {
		return tb, err
	}
	if err := tmp.Delete(ctx); err != nil && !warehouse.IsCode(err, http.StatusNotFound) {
		return tb, fmt.Errorf("delete %s: %w", tmp.TableID, err)
	}
	return tb, nil
}

// rows returns the rows of the copy that was exported; when an interrupted
// run already deleted the copy, it counts the rows of the files.
func (b *Backuper) rows(ctx context.Context, tmp *bigquery.Table, files []File) (int64, error) {
	md, err := tmp.Metadata(ctx)
	if err == nil {
		return int64(md.NumRows), nil
	}
	if !warehouse.IsCode(err, http.StatusNotFound) {
		return 0, fmt.Errorf("rows of %s: %w", tmp.TableID, err)
	}
	var total int64
	for _, f := range files {
		n, _, err := scanFile(ctx, b.gcs, f)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// files lists the exported files of a table with their size, CRC32C and
// generation.
func (b *Backuper) files(ctx context.Context, prefix string) ([]File, error) {
	it := b.bucket.Objects(ctx, &storage.Query{Prefix: prefix})
	var files []File
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list gs://%s/%s: %w", b.name, prefix, err)
		}
		files = append(files, File{URI: "gs://" + b.name + "/" + a.Name, Bytes: a.Size, CRC32C: a.CRC32C, Generation: a.Generation})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the extract wrote no file under gs://%s/%s", b.name, prefix)
	}
	return files, nil
}

// writeManifest writes the manifest, once: if another run wrote it first,
// that one stands.
func (b *Backuper) writeManifest(ctx context.Context, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	w := b.bucket.Object(m.BackupID + "/" + ManifestName).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	w.ContentType = "application/json"
	if _, err := bytes.NewReader(data).WriteTo(w); err != nil {
		_ = w.Close()
		return fmt.Errorf("write the manifest: %w", err)
	}
	if err := w.Close(); err != nil && !warehouse.IsCode(err, http.StatusPreconditionFailed) {
		return fmt.Errorf("write the manifest: %w", err)
	}
	return nil
}

// jobID derives the id of a backup job.
func jobID(backupID, table, kind string) string {
	return "hiring_backup_" + backupID + "_" + table + "_" + kind
}
