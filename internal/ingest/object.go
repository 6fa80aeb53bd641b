// Package ingest loads CSV files from the landing bucket into BigQuery:
// routing an object to a table, validating every row with the dictionary,
// staging valid rows and rejects as Avro, and loading them exactly once.
package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// Object is a finalized Cloud Storage object, as its event describes it.
type Object struct {
	Bucket          string
	Name            string
	Generation      int64
	Size            int64
	ContentType     string
	ContentEncoding string
	// Created is when the generation was written; rows of the file are
	// ingested as of this time.
	Created time.Time
}

// IngestionID identifies one version of one file: gs://bucket/object#generation.
// Every write derived from the file carries it.
func (o Object) IngestionID() string {
	return fmt.Sprintf("gs://%s/%s#%d", o.Bucket, o.Name, o.Generation)
}

// URI returns gs://bucket/object.
func (o Object) URI() string { return "gs://" + o.Bucket + "/" + o.Name }

// routing is where an object goes.
type routing struct {
	table   *dictionary.Table
	gzipped bool
	// skip says why the object is not loaded; empty when it is.
	skip string
	// name is the table the object's name points to, even when the
	// dictionary has no such table.
	name string
}

// route routes an object: <table>.csv, <table>/<anything>.csv and the same
// with .csv.gz are loaded into <table>; temporary objects, empty objects,
// names with an empty, . or .. segment and names that map to no table are
// skipped.
func route(dict *dictionary.Dictionary, o Object) routing {
	name := o.Name
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return routing{skip: "a name with an empty, . or .. segment"}
		}
	}
	for _, part := range strings.Split(path.Dir(name), "/") {
		if strings.HasPrefix(part, "_") {
			return routing{skip: "a temporary object: a folder of its path starts with _"}
		}
	}
	if strings.Contains(name, "/parallel_composite_uploads/") || strings.HasSuffix(name, ".gstmp") {
		return routing{skip: "a part of a parallel composite upload"}
	}
	var r routing
	base := name
	switch {
	case strings.HasSuffix(name, ".csv.gz"):
		base, r.gzipped = strings.TrimSuffix(name, ".csv.gz"), true
	case strings.HasSuffix(name, ".csv"):
		base = strings.TrimSuffix(name, ".csv")
	default:
		return routing{skip: "not a .csv or .csv.gz file"}
	}
	r.name, _, _ = strings.Cut(base, "/")
	t, ok := dict.Table(r.name)
	if !ok {
		r.skip = fmt.Sprintf("no table %q in the dictionary (tables: %s); name files <table>.csv or <table>/<name>.csv", r.name, strings.Join(dict.Names(), ", "))
		return r
	}
	if o.Size == 0 {
		return routing{skip: "an empty object"}
	}
	r.table = t
	return r
}

// jobID derives a BigQuery job id from an ingestion id: readable, within the
// job id alphabet and length, and unique thanks to a hash of the whole id.
func jobID(kind, ingestionID string) string {
	sum := sha256.Sum256([]byte(ingestionID))
	var b strings.Builder
	b.WriteString("hiring_")
	b.WriteString(kind)
	b.WriteByte('_')
	readable := strings.TrimPrefix(ingestionID, "gs://")
	for i, r := range readable {
		if i >= 180 {
			break
		}
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(sum[:8]))
	return b.String()
}

// stagingName returns the staging object name of a file's valid rows or
// rejects: deterministic, so a retry overwrites nothing different.
func stagingName(kind, table, ingestionID string) string {
	sum := sha256.Sum256([]byte(ingestionID))
	return fmt.Sprintf("%s/%s/%s.avro", kind, table, hex.EncodeToString(sum[:16]))
}
