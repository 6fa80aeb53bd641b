package ingest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Stager validates files and writes their rows to Avro files in the staging
// bucket: the first half of a load, without BigQuery. It is safe for
// concurrent use.
type Stager struct {
	dict           *dictionary.Dictionary
	gcs            *storage.Client
	bucket         string
	codec          string
	rejectLogLimit int
	log            *slog.Logger
}

// NewStager returns a Stager that reads and writes with gcs, into the
// staging bucket of cfg.
func NewStager(cfg Config, dict *dictionary.Dictionary, gcs *storage.Client, logger *slog.Logger) (*Stager, error) {
	switch {
	case dict == nil || gcs == nil:
		return nil, errors.New("ingest.NewStager: the dictionary and the Storage client are required")
	case cfg.Staging == "":
		return nil, errors.New("ingest.NewStager: the staging bucket is required")
	case cfg.RejectLogLimit < 0:
		return nil, fmt.Errorf("ingest.NewStager: REJECT_LOG_LIMIT must not be negative, got %d", cfg.RejectLogLimit)
	}
	switch cfg.Codec {
	case avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy:
	default:
		return nil, fmt.Errorf("ingest.NewStager: STAGING_CODEC %q is not one of null, deflate, snappy", cfg.Codec)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Stager{dict: dict, gcs: gcs, bucket: cfg.Staging, codec: cfg.Codec, rejectLogLimit: cfg.RejectLogLimit, log: logger}, nil
}

// Staged counts a file's rows and locates its staged Avro files; a URI is
// empty when the file had no such rows.
type Staged struct {
	Table          string                    `json:"table"`
	RowsRead       int64                     `json:"rows_read"`
	Valid          int64                     `json:"valid"`
	Rejected       int64                     `json:"rejected"`
	RejectedByRule map[dictionary.Rule]int64 `json:"rejected_by_rule"`
	ValidURI       string                    `json:"valid_uri"`
	RejectsURI     string                    `json:"rejects_uri"`
}

// Stage routes and stages one object, as Loader.Load does before its load
// jobs. An object that is not loaded (see Loader.Load) is an error.
func (s *Stager) Stage(ctx context.Context, o Object) (Staged, error) {
	rt := route(s.dict, o)
	if rt.skip != "" {
		return Staged{}, fmt.Errorf("ingest.Stage: %s is not loaded: %s", o.URI(), rt.skip)
	}
	st, err := s.stage(ctx, o, rt.table, rt.gzipped, s.log)
	if err != nil {
		return Staged{}, err
	}
	return *st, nil
}

// stageChunk bounds the memory of each staging upload.
const stageChunk = 8 << 20

// stage reads the object, validates every record, and writes valid rows to
// one Avro file and rejects to another in the staging bucket. Memory does not
// grow with the file: the object is streamed, rows are written in blocks and
// uploads are chunked. A staging file that already exists (an earlier or a
// concurrent delivery wrote it from the same generation) is kept.
func (s *Stager) stage(ctx context.Context, o Object, t *dictionary.Table, gzipped bool, log *slog.Logger) (*Staged, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := s.gcs.Bucket(o.Bucket).Object(o.Name).Generation(o.Generation).ReadCompressed(true).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, permanent(err, "generation %d of %s no longer exists", o.Generation, o.URI())
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", o.URI(), err)
	}
	defer r.Close()
	var src io.Reader = &objectSource{r: r}
	if gzipped || r.Attrs.ContentEncoding == "gzip" {
		gz, err := gzip.NewReader(src)
		var oe *objectReadError
		if errors.As(err, &oe) {
			return nil, fmt.Errorf("read %s: %w", o.URI(), err)
		}
		if err != nil {
			return nil, permanent(err, "malformed gzip")
		}
		defer gz.Close()
		src = &gzipSource{r: gz}
	}

	ingestedAt := o.Created
	if ingestedAt.IsZero() {
		ingestedAt = time.Now()
	}
	st := &Staged{Table: t.Name, RejectedByRule: map[dictionary.Rule]int64{}}
	validOut := &stagingFile{s: s, name: stagingName("valid", t.Name, o.IngestionID()), schema: warehouse.RawSchema(t), seed: o.IngestionID()}
	rejectOut := &stagingFile{s: s, name: stagingName("rejects", t.Name, o.IngestionID()), schema: warehouse.SystemSchema(warehouse.RejectedRows), seed: o.IngestionID()}
	rejectedAt := time.Now()
	logged := 0
	reader := t.NewReader(src)
	values := make([]any, 0, len(t.Fields)+3)
	for {
		rec, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var ge *gzipError
			if errors.As(err, &ge) {
				return nil, permanent(ge.err, "malformed gzip after %d records", st.RowsRead)
			}
			return nil, fmt.Errorf("read %s: %w", o.URI(), err)
		}
		st.RowsRead++
		if rec.Err == nil {
			values = append(values[:0], rec.Row.Values...)
			values = append(values, o.IngestionID(), ingestedAt, rec.Line)
			if err := validOut.write(ctx, values); err != nil {
				return nil, err
			}
			st.Valid++
			continue
		}
		st.Rejected++
		st.RejectedByRule[rec.Err.Errors[0].Rule]++
		if err := rejectOut.write(ctx, warehouse.RejectedRow(rejectedAt, o.IngestionID(), t.Name, o.URI(), o.Generation, rec.Line, rec.Raw, rec.Err)); err != nil {
			return nil, err
		}
		if logged < s.rejectLogLimit {
			logged++
			log.Warn("row rejected", "line", rec.Line, "errors", rec.Err.Errors, "raw", preview(rec.Raw))
		}
	}
	if st.Rejected > int64(logged) {
		log.Warn(fmt.Sprintf("%d more rejected rows not logged one by one; rejected_rows has them all", st.Rejected-int64(logged)),
			"rejected", st.Rejected, "rejected_by_rule", st.RejectedByRule)
	}
	var err2 error
	if st.ValidURI, err2 = validOut.close(); err2 != nil {
		return nil, err2
	}
	if st.RejectsURI, err2 = rejectOut.close(); err2 != nil {
		return nil, err2
	}
	return st, nil
}

// preview shortens a raw record for a log line.
func preview(raw []byte) string {
	const max = 256
	s := strings.ToValidUTF8(string(raw), "\uFFFD")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + fmt.Sprintf("... (%d bytes)", len(raw))
	}
	return s
}

// stagingFile is an Avro file written to the staging bucket on its first
// row.
type stagingFile struct {
	s      *Stager
	name   string
	schema bigquery.Schema
	seed   string

	w   *storage.Writer
	avr *avro.Writer
}

func (f *stagingFile) write(ctx context.Context, values []any) error {
	if f.w == nil {
		f.w = f.s.gcs.Bucket(f.s.bucket).Object(f.name).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
		f.w.ChunkSize = stageChunk
		f.w.ContentType = "application/avro"
		var err error
		if f.avr, err = avro.NewWriter(f.w, "row", f.schema, f.s.codec, f.seed); err != nil {
			return err
		}
	}
	if err := f.avr.Write(values); err != nil {
		return fmt.Errorf("stage gs://%s/%s: %w", f.s.bucket, f.name, err)
	}
	return nil
}

// close finishes the upload and returns the file's URI, or "" when no row
// was written.
func (f *stagingFile) close() (string, error) {
	if f.w == nil {
		return "", nil
	}
	uri := "gs://" + f.s.bucket + "/" + f.name
	err := f.avr.Close()
	if err == nil {
		err = f.w.Close()
	}
	f.w = nil
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed {
		return uri, nil
	}
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", uri, err)
	}
	return uri, nil
}

// objectSource marks read errors of the object, which are transient, so
// that gzipSource can tell them from its own.
type objectSource struct{ r io.Reader }

type objectReadError struct{ err error }

func (e *objectReadError) Error() string { return e.err.Error() }
func (e *objectReadError) Unwrap() error { return e.err }

func (o *objectSource) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, &objectReadError{err: err}
	}
	return n, err
}

// gzipSource marks the errors of the gzip layer, which are permanent (a
// corrupt or truncated file).
type gzipSource struct{ r io.Reader }

type gzipError struct{ err error }

func (e *gzipError) Error() string { return "gzip: " + e.err.Error() }
func (e *gzipError) Unwrap() error { return e.err }

func (g *gzipSource) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	var oe *objectReadError
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &oe) {
		return n, &gzipError{err: err}
	}
	return n, err
}
