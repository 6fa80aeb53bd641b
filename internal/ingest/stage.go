package ingest

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

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
	limits         dictionary.Limits
	maxGzipBytes   int64
	maxGzipRatio   int64
	log            *slog.Logger
}

// The defaults of the limits of Config, for a zero value.
const (
	DefaultMaxGzipBytes = 4 << 30
	DefaultMaxGzipRatio = 100
)

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
	case cfg.MaxRecordBytes < 0 || cfg.MaxFields < 0 || cfg.MaxGzipBytes < 0 || cfg.MaxGzipRatio < 0:
		return nil, fmt.Errorf("ingest.NewStager: MAX_RECORD_BYTES, MAX_FIELDS, MAX_GZIP_BYTES and MAX_GZIP_RATIO must not be negative, got %d, %d, %d, %d",
			cfg.MaxRecordBytes, cfg.MaxFields, cfg.MaxGzipBytes, cfg.MaxGzipRatio)
	}
	switch cfg.Codec {
	case avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy:
	default:
		return nil, fmt.Errorf("ingest.NewStager: STAGING_CODEC %q is not one of null, deflate, snappy", cfg.Codec)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Stager{dict: dict, gcs: gcs, bucket: cfg.Staging, codec: cfg.Codec, rejectLogLimit: cfg.RejectLogLimit,
		limits:       dictionary.Limits{MaxRecordBytes: cfg.MaxRecordBytes, MaxFields: cfg.MaxFields},
		maxGzipBytes: cfg.MaxGzipBytes, maxGzipRatio: cfg.MaxGzipRatio, log: logger}
	if s.maxGzipBytes == 0 {
		s.maxGzipBytes = DefaultMaxGzipBytes
	}
	if s.maxGzipRatio == 0 {
		s.maxGzipRatio = DefaultMaxGzipRatio
	}
	return s, nil
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

// stageChunk and rejectsChunk bound the memory of the staging uploads of
// the valid rows and of the rejects. Rejects are few in a file worth
// loading: their upload takes more, smaller requests instead.
const (
	stageChunk   = 8 << 20
	rejectsChunk = 2 << 20
)

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
	if warehouse.IsCode(err, http.StatusUnauthorized) || warehouse.IsCode(err, http.StatusForbidden) {
		return nil, permanent(err, "no permission to read %s", o.URI())
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", o.URI(), err)
	}
	defer r.Close()
	return s.stageFrom(ctx, o, t, r, gzipped || r.Attrs.ContentEncoding == "gzip", cmp.Or(r.Attrs.Size, o.Size), nil, nil, log)
}

// StageFrom stages r, the content of the object o read from elsewhere (a
// local file, for the benchmarks), as Stage stages the object, and writes the
// Avro files to valid and rejects instead of the staging bucket: the function
// path without Cloud Storage. The URIs of the result name the objects the
// files would be in the staging bucket.
func (s *Stager) StageFrom(ctx context.Context, o Object, r io.Reader, valid, rejects io.Writer) (Staged, error) {
	rt := route(s.dict, o)
	if rt.skip != "" {
		return Staged{}, fmt.Errorf("ingest.StageFrom: %s is not loaded: %s", o.URI(), rt.skip)
	}
	if valid == nil || rejects == nil {
		return Staged{}, errors.New("ingest.StageFrom: the writers of the valid rows and the rejects are required")
	}
	st, err := s.stageFrom(ctx, o, rt.table, r, rt.gzipped || o.ContentEncoding == "gzip", o.Size, valid, rejects, s.log)
	if err != nil {
		return Staged{}, err
	}
	return *st, nil
}

// stageFrom is stage once the object is open: it reads r, of the given
// stored size and gzipped or not, and writes the staged files to valid and
// rejects, or to the staging bucket when they are nil.
func (s *Stager) stageFrom(ctx context.Context, o Object, t *dictionary.Table, r io.Reader, gzipped bool, stored int64, valid, rejects io.Writer, log *slog.Logger) (*Staged, error) {
	var src io.Reader = &objectSource{r: r}
	if gzipped {
		gz, err := gzip.NewReader(src)
		var oe *objectReadError
		if errors.As(err, &oe) {
			return nil, fmt.Errorf("read %s: %w", o.URI(), err)
		}
		if err != nil {
			return nil, permanent(err, "malformed gzip")
		}
		defer gz.Close()
		src = s.limitGzip(&gzipSource{r: gz}, stored)
	}

	ingestedAt := o.Created
	if ingestedAt.IsZero() {
		ingestedAt = time.Now()
	}
	ingestionID := o.IngestionID()
	enc, err := newRowEncoder(t, ingestionID, ingestedAt)
	if err != nil {
		return nil, err
	}
	st := &Staged{Table: t.Name, RejectedByRule: map[dictionary.Rule]int64{}}
	validOut := &stagingFile{s: s, name: stagingName("valid", t.Name, ingestionID), schema: warehouse.RawSchema(t), seed: ingestionID, out: valid, chunk: stageChunk}
	rejectOut := &stagingFile{s: s, name: stagingName("rejects", t.Name, ingestionID), schema: warehouse.SystemSchema(warehouse.RejectedRows), seed: ingestionID, out: rejects, chunk: rejectsChunk}

	// One goroutine reads the records into batches, validators check and
	// encode them, and this one writes them in the file's order: the three
	// parts of the work overlap, on every CPU.
	ctx, cancel := context.WithCancel(ctx)
	rejection := warehouse.Rejection{At: time.Now(), IngestionID: ingestionID, Table: t.Name, Source: o.URI(), Generation: o.Generation}
	rr := newRecordReader(o, t.NewLimitedReader(src, s.limits), runtime.GOMAXPROCS(0))
	var validators sync.WaitGroup
	for range rr.validators {
		validators.Go(func() { rr.validate(t, enc, rejection) })
	}
	go rr.run(ctx)
	defer func() {
		// The reader stops, and no longer reads the file, before it is
		// closed.
		cancel()
		for range rr.ordered {
		}
		validators.Wait()
	}()
	logged := 0
	for b := range rr.ordered {
		<-b.done
		if b.err != nil {
			return nil, b.err
		}
		st.RowsRead += int64(len(b.lines))
		st.Valid += int64(b.validRows)
		if err := validOut.writeEncoded(ctx, b.valid, b.validRows); err != nil {
			return nil, err
		}
		for _, rej := range b.rejects {
			st.Rejected++
			st.RejectedByRule[rej.err.Errors[0].Rule]++
			if logged < s.rejectLogLimit {
				logged++
				log.Warn("row rejected", "line", rej.line, "errors", dictionary.Loggable(rej.err.Errors))
			}
		}
		if err := rejectOut.writeEncoded(ctx, b.rejected, len(b.rejects)); err != nil {
			return nil, err
		}
		rr.free <- b
	}
	if st.Rejected > int64(logged) {
		log.Warn(fmt.Sprintf("%d more rejected rows not logged one by one; rejected_rows has them all", st.Rejected-int64(logged)),
			"rejected", st.Rejected, "rejected_by_rule", st.RejectedByRule)
	}
	// The two files end at the same time: each close waits for its last
	// chunk and for its object to be created.
	var rejectsErr error
	rejectsClosed := make(chan struct{})
	go func() {
		defer close(rejectsClosed)
		st.RejectsURI, rejectsErr = rejectOut.close()
	}()
	st.ValidURI, err = validOut.close()
	<-rejectsClosed
	if err = cmp.Or(err, rejectsErr); err != nil {
		return nil, err
	}
	return st, nil
}

// batchRecords is the number of records of a recordBatch.
const batchRecords = 1024

// recordBatch is up to batchRecords records of the file: their fields as
// read, then what their validation gave, the valid rows' values and lines
// and the rejected records. err ends the batches: the file cannot be read
// further.
type recordBatch struct {
	// Set by the reader: each record's line, raw text and fields (end to
	// end, record i's ending at ends[i]), or the rule it broke while read.
	lines  []int64
	raws   []string
	fields []string
	ends   []int
	broke  []*dictionary.RowError
	err    error

	// Set by a validator, which then signals done: the valid rows encoded
	// end to end and their number, the rejected records, and their
	// rejected_rows rows encoded end to end.
	valid     []byte
	validRows int
	rejects   []rejectedRecord
	rejected  []byte
	done      chan struct{}
}

// rejectedRecord is a record that broke a rule: its line and the rules.
type rejectedRecord struct {
	line int64
	err  *dictionary.RowError
}

// recordReader reads a file's records into batches, on a goroutine of its
// own, and hands them to its validators and, in the file's order, to the
// encoding goroutine.
type recordReader struct {
	o      Object
	reader *dictionary.Reader
	// read counts the records read.
	read       int64
	validators int

	ordered chan *recordBatch // batches read, in order; closed after the last one
	work    chan *recordBatch // batches read, to validate; closed with ordered
	free    chan *recordBatch // batches encoded, to read into again
}

// newRecordReader returns a recordReader of reader with the given number of
// validators, and enough batches for each to have one while the reader
// fills one and the encoding goroutine encodes another.
func newRecordReader(o Object, reader *dictionary.Reader, validators int) *recordReader {
	validators = max(validators, 1)
	batches := validators + 2
	r := &recordReader{o: o, reader: reader, validators: validators,
		ordered: make(chan *recordBatch, batches), work: make(chan *recordBatch, batches), free: make(chan *recordBatch, batches)}
	for range batches {
		r.free <- &recordBatch{done: make(chan struct{}, 1)}
	}
	return r
}

// run reads batches until the end of the file, an error or the end of ctx,
// and closes ordered and work.
func (r *recordReader) run(ctx context.Context) {
	defer close(r.work)
	defer close(r.ordered)
	for {
		var b *recordBatch
		select {
		case b = <-r.free:
		case <-ctx.Done():
			return
		}
		b.lines, b.raws, b.fields, b.ends, b.broke, b.err = b.lines[:0], b.raws[:0], b.fields[:0], b.ends[:0], b.broke[:0], nil
		more := true
		for len(b.lines) < batchRecords {
			rec, err := r.reader.NextFields()
			if errors.Is(err, io.EOF) {
				more = false
				break
			}
			if err != nil {
				b.err = r.readError(err)
				more = false
				break
			}
			r.read++
			b.lines = append(b.lines, rec.Line)
			b.raws = append(b.raws, rec.Raw)
			b.fields = append(b.fields, rec.Values...)
			b.ends = append(b.ends, len(b.fields))
			b.broke = append(b.broke, rec.Err)
		}
		r.ordered <- b
		r.work <- b
		if !more {
			return
		}
	}
}

// validate validates the records of the batches of work, and encodes the
// valid ones with enc and the rejected ones as rejected_rows rows of the
// file's rejection, until work is closed.
func (r *recordReader) validate(t *dictionary.Table, enc *rowEncoder, rejection warehouse.Rejection) {
	values := make([]dictionary.Value, len(t.Fields))
	var memo errorsMemo
	for b := range r.work {
		b.valid, b.validRows, b.rejects, b.rejected = b.valid[:0], 0, b.rejects[:0], b.rejected[:0]
		from := 0
		for i, line := range b.lines {
			fields := b.fields[from:b.ends[i]]
			from = b.ends[i]
			rowErr := b.broke[i]
			if rowErr == nil {
				if rowErr = t.ParseRecordValues(line, fields, values); rowErr == nil {
					b.valid = enc.append(b.valid, values, line)
					b.validRows++
					continue
				}
			}
			b.rejected = appendRejection(b.rejected, rejection.Reject(line, b.raws[i], rowErr, memo.of(rowErr.Errors)))
			b.rejects = append(b.rejects, rejectedRecord{line: line, err: rowErr})
		}
		b.done <- struct{}{}
	}
}

// readError classifies an error of the file's reading: the gzip layer's
// are permanent, the object's are not.
func (r *recordReader) readError(err error) error {
	var ge *gzipError
	if errors.As(err, &ge) {
		return permanent(ge.err, "malformed gzip after %d records", r.read)
	}
	var le *gzipLimitError
	if errors.As(err, &le) {
		return permanent(le, "gzip file refused after %d records", r.read)
	}
	return fmt.Errorf("read %s: %w", r.o.URI(), err)
}

// stagingFile is an Avro file written to the staging bucket, or to out when
// it is set, on its first row.
type stagingFile struct {
	s      *Stager
	name   string
	schema bigquery.Schema
	seed   string
	out    io.Writer
	// chunk is the upload's chunk: the memory its Cloud Storage writer
	// holds.
	chunk int

	w   *storage.Writer
	avr *avro.Writer
}

// writeEncoded adds n rows already encoded, as avro.Writer.WriteEncoded
// takes them. Zero rows do not start the file.
func (f *stagingFile) writeEncoded(ctx context.Context, rows []byte, n int) error {
	if n == 0 {
		return nil
	}
	if err := f.open(ctx); err != nil {
		return err
	}
	if err := f.avr.WriteEncoded(rows, n); err != nil {
		return fmt.Errorf("stage gs://%s/%s: %w", f.s.bucket, f.name, err)
	}
	return nil
}

// open starts the file on its first row: its upload to the staging
// bucket, or out when it is set.
func (f *stagingFile) open(ctx context.Context) error {
	if f.avr != nil {
		return nil
	}
	dst := f.out
	if dst == nil {
		f.w = f.s.gcs.Bucket(f.s.bucket).Object(f.name).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
		f.w.ChunkSize = f.chunk
		f.w.ContentType = "application/avro"
		dst = f.w
	}
	var err error
	f.avr, err = avro.NewWriter(dst, "row", f.schema, f.s.codec, f.seed)
	return err
}

// close finishes the upload and returns the file's URI, or "" when no row
// was written.
func (f *stagingFile) close() (string, error) {
	if f.avr == nil {
		return "", nil
	}
	uri := "gs://" + f.s.bucket + "/" + f.name
	err := f.avr.Close()
	if err == nil && f.w != nil {
		err = f.w.Close()
	}
	f.avr, f.w = nil, nil
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

// limitGzip bounds the decompressed bytes of a gzip file of the given
// stored size: at most maxGzipBytes, and at most maxGzipRatio times the
// stored size once past GzipRatioFloor.
func (s *Stager) limitGzip(r io.Reader, stored int64) *gzipLimit {
	l := &gzipLimit{r: r, max: s.maxGzipBytes, what: fmt.Sprintf("the limit of %d bytes (HIRING_MAX_GZIP_BYTES)", s.maxGzipBytes)}
	if stored > 0 && stored <= l.max/s.maxGzipRatio {
		if ratio := max(GzipRatioFloor, stored*s.maxGzipRatio); ratio < l.max {
			l.max = ratio
			l.what = fmt.Sprintf("%d times its stored size of %d bytes (HIRING_MAX_GZIP_RATIO)", s.maxGzipRatio, stored)
		}
	}
	return l
}

// gzipLimit fails the reading of a gzip file that decompresses past max
// bytes: a gzip bomb, or a file too large to load within the function's
// timeout.
type gzipLimit struct {
	r    io.Reader
	n    int64
	max  int64
	what string
}

type gzipLimitError struct{ msg string }

func (e *gzipLimitError) Error() string { return e.msg }

func (g *gzipLimit) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.max {
		return n, &gzipLimitError{msg: "it decompresses to more than " + g.what}
	}
	return n, err
}
