// Package backup backs the tables up to Avro files in Cloud Storage, all as
// of one point in time, and restores a table from a backup after verifying
// it. It is the work of the backup-tables and restore-table functions.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
)

// IDLayout formats the time that starts every backup id, so that ids sort
// by time. A backup of every table has the time alone as its id; a backup
// of some tables adds "-" and a tag of the tables (see backupID).
const IDLayout = "20060102T150405Z"

// validID reports whether id is a backup id: a time in IDLayout, then
// optionally "-" and 8 lowercase hex digits. Nothing else (no "/", no "..")
// can name a folder of the backup bucket.
func validID(id string) bool {
	at, tag, hasTag := strings.Cut(id, "-")
	if _, err := time.Parse(IDLayout, at); err != nil || len(at) != len(IDLayout) {
		return false
	}
	if !hasTag {
		return true
	}
	if len(tag) != 8 {
		return false
	}
	for _, c := range tag {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ManifestName is the object written last in a backup's folder: a folder
// without it is not a backup.
const ManifestName = "manifest.json"

// Manifest describes a complete backup.
type Manifest struct {
	BackupID     string        `json:"backup_id"`
	SnapshotTime time.Time     `json:"snapshot_time"`
	CompletedAt  time.Time     `json:"completed_at"`
	Project      string        `json:"project"`
	Dataset      string        `json:"dataset"`
	Codec        string        `json:"codec"`
	ToolVersion  string        `json:"tool_version"`
	Tables       []TableBackup `json:"tables"`
}

// TableBackup is one table of a backup.
type TableBackup struct {
	// Table is the dictionary table; Source the table that was exported.
	Table  string `json:"table"`
	Source string `json:"source"`
	// Schema is Source's schema in BigQuery's JSON schema format.
	Schema       json.RawMessage `json:"schema"`
	Rows         int64           `json:"rows"`
	Files        []File          `json:"files"`
	CopyJobID    string          `json:"copy_job_id"`
	ExtractJobID string          `json:"extract_job_id"`
}

// File is one exported file.
type File struct {
	URI   string `json:"uri"`
	Bytes int64  `json:"bytes"`
	// CRC32C is the object's CRC32C (Castagnoli) as Cloud Storage reports it.
	CRC32C uint32 `json:"crc32c"`
	// Generation is the object's generation when the backup listed it; 0
	// in the manifests of older builds. A restore reads and loads only
	// this generation.
	Generation int64 `json:"generation,omitempty"`
}

// Table returns the entry of a table.
func (m *Manifest) Table(name string) (TableBackup, bool) {
	i := slices.IndexFunc(m.Tables, func(t TableBackup) bool { return t.Table == name })
	if i < 0 {
		return TableBackup{}, false
	}
	return m.Tables[i], true
}

// Bytes returns the size of a table's files.
func (t TableBackup) Bytes() int64 {
	var n int64
	for _, f := range t.Files {
		n += f.Bytes
	}
	return n
}

// toolVersion names the build that wrote a manifest.
func toolVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Path + "@" + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " (" + s.Value + ")"
		}
	}
	return v
}

// ErrNoManifest means a backup id has no manifest: it is not a backup.
var ErrNoManifest = errors.New("no manifest: not a backup")

// ErrCorruptManifest means a backup's manifest is there but unusable: not
// JSON, or about another backup. Its message is fit for a listing.
var ErrCorruptManifest = errors.New("corrupt manifest")

// corruptManifest is an ErrCorruptManifest with a generic reason, which
// holds neither the manifest's content nor a bucket path.
type corruptManifest struct{ reason string }

func (e *corruptManifest) Error() string        { return e.reason }
func (e *corruptManifest) Is(target error) bool { return target == ErrCorruptManifest }

// readManifest reads the manifest of a backup.
func readManifest(ctx context.Context, bucket *storage.BucketHandle, id string) (*Manifest, error) {
	r, err := bucket.Object(id + "/" + ManifestName).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, fmt.Errorf("backup %s: %w", id, ErrNoManifest)
	}
	if err != nil {
		return nil, fmt.Errorf("read the manifest of %s: %w", id, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read the manifest of %s: %w", id, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, &corruptManifest{ManifestName + " is not valid JSON"}
	}
	if m.BackupID != id {
		return nil, &corruptManifest{ManifestName + " names another backup"}
	}
	return &m, nil
}

// backupIDs lists the folders of the bucket that look like backups, newest
// first. A folder may still lack its manifest.
func backupIDs(ctx context.Context, bucket *storage.BucketHandle) ([]string, error) {
	it := bucket.Objects(ctx, &storage.Query{Delimiter: "/"})
	var ids []string
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list backups: %w", err)
		}
		id := strings.TrimSuffix(a.Prefix, "/")
		if validID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	return ids, nil
}
