// Package bench measures the pipeline's hot paths on generated data, for the
// `hiring bench` command. Figures are rows per second of wall time on this
// machine, and peak resident memory read from /proc.
package bench

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// LoadCSVOptions configure LoadCSV.
type LoadCSVOptions struct {
	// Rows is the number of hired_employees rows of the generated file.
	Rows int64
	// Dir is a work folder for the file and the storage emulator's state.
	Dir string
	// Codec compresses the staged Avro file of the function path.
	Codec string
	// Stage runs the function path; the command runs it in a child process
	// so that its peak memory is its own. Nil runs RunStage in process.
	Stage func(ctx context.Context, storageHost string, o ingest.Object, codec string) (StageFigures, error)
	// Log receives progress lines.
	Log io.Writer
}

// StageFigures are the figures of the function path.
type StageFigures struct {
	Seconds      float64       `json:"seconds"`
	PeakRSSBytes int64         `json:"peak_rss_bytes"`
	Staged       ingest.Staged `json:"staged"`
}

// CodecFigures compare Avro codecs on the same rows.
type CodecFigures struct {
	Codec       string  `json:"codec"`
	Rows        int64   `json:"rows"`
	RowsPerSec  float64 `json:"rows_per_sec"`
	BytesPerRow float64 `json:"bytes_per_row"`
}

// LoadCSVReport is what LoadCSV measured.
type LoadCSVReport struct {
	Rows      int64 `json:"rows"`
	FileBytes int64 `json:"file_bytes"`
	// ParseRowsPerSec is (a): encoding/csv alone.
	ParseRowsPerSec float64 `json:"parse_rows_per_sec"`
	// EncodeRowsPerSec is (b): Avro encoding alone of rows already parsed
	// and validated (a sample of the file, encoded until Rows rows), with
	// the function's codec.
	EncodeRowsPerSec float64 `json:"encode_rows_per_sec"`
	// FunctionRowsPerSec is (c): the function's path from the object store
	// to the staged Avro object: read, parse, validate, encode, upload.
	FunctionRowsPerSec float64 `json:"function_rows_per_sec"`
	// BoundRowsPerSec is what (a) and (b) allow one after the other:
	// 1 / (1/a + 1/b).
	BoundRowsPerSec float64 `json:"bound_rows_per_sec"`
	// Ratio is (c) / bound.
	Ratio float64 `json:"ratio"`
	// FunctionPeakRSSBytes is the peak resident memory of the process that
	// ran (c).
	FunctionPeakRSSBytes int64          `json:"function_peak_rss_bytes"`
	Codec                string         `json:"codec"`
	Codecs               []CodecFigures `json:"codecs"`
	Staged               ingest.Staged  `json:"staged"`
}

// codecSample bounds the rows of the codec comparison.
const codecSample = 1_000_000

// LoadCSV generates a hired_employees file of opts.Rows rows and measures
// (a), (b) and (c) on it.
func LoadCSV(ctx context.Context, opts LoadCSVOptions) (LoadCSVReport, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	rep := LoadCSVReport{Rows: opts.Rows, Codec: opts.Codec}
	logf("generating %d rows...", opts.Rows)
	sum, err := gen.Write(ctx, gen.Options{Dir: filepath.Join(opts.Dir, "data"), Rows: opts.Rows, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 1})
	if err != nil {
		return rep, err
	}
	path := ""
	for _, f := range sum.Files {
		if f.Table == "hired_employees" {
			path = f.Path
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		return rep, err
	}
	rep.FileBytes = info.Size()

	logf("(a) encoding/csv...")
	n, secs, err := parseCSV(path)
	if err != nil {
		return rep, err
	}
	rep.ParseRowsPerSec = float64(n) / secs

	table, _ := dictionary.Default().Table("hired_employees")
	logf("(b) Avro encoding...")
	for _, codec := range []string{avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy} {
		f, err := encodeAvro(path, table, codec, codecSample)
		if err != nil {
			return rep, err
		}
		rep.Codecs = append(rep.Codecs, f)
	}
	enc, err := encodeAvro(path, table, opts.Codec, opts.Rows)
	if err != nil {
		return rep, err
	}
	rep.EncodeRowsPerSec = enc.RowsPerSec
	rep.BoundRowsPerSec = 1 / (1/rep.ParseRowsPerSec + 1/rep.EncodeRowsPerSec)

	logf("(c) the function path, object store to staged Avro...")
	srv, err := gcsemu.Start(ctx, gcsemu.Options{Dir: filepath.Join(opts.Dir, "storage")})
	if err != nil {
		return rep, err
	}
	defer srv.Close(context.WithoutCancel(ctx))
	o, err := uploadFile(ctx, srv, path)
	if err != nil {
		return rep, err
	}
	stage := opts.Stage
	if stage == nil {
		stage = RunStage
	}
	fig, err := stage(ctx, srv.Host(), o, opts.Codec)
	if err != nil {
		return rep, err
	}
	rep.FunctionRowsPerSec = float64(fig.Staged.RowsRead) / fig.Seconds
	rep.FunctionPeakRSSBytes = fig.PeakRSSBytes
	rep.Staged = fig.Staged
	rep.Ratio = rep.FunctionRowsPerSec / rep.BoundRowsPerSec
	return rep, nil
}

// Buckets of the benchmark's storage emulator.
const (
	landing = "bench-landing"
	staging = "bench-staging"
)

func uploadFile(ctx context.Context, srv *gcsemu.Server, path string) (ingest.Object, error) {
	for _, b := range []string{landing, staging} {
		if err := srv.CreateBucket(ctx, b); err != nil {
			return ingest.Object{}, err
		}
	}
	c, err := srv.Client(ctx)
	if err != nil {
		return ingest.Object{}, err
	}
	defer c.Close()
	f, err := os.Open(path)
	if err != nil {
		return ingest.Object{}, err
	}
	defer f.Close()
	w := c.Bucket(landing).Object("hired_employees.csv").NewWriter(ctx)
	if _, err := io.Copy(w, f); err != nil {
		_ = w.Close()
		return ingest.Object{}, err
	}
	if err := w.Close(); err != nil {
		return ingest.Object{}, err
	}
	a := w.Attrs()
	return ingest.Object{Bucket: a.Bucket, Name: a.Name, Generation: a.Generation, Size: a.Size, Created: a.Created}, nil
}

// RunStage runs the function path, ingest.Stager.Stage, against the storage
// emulator at storageHost, and measures its time and the peak memory of the
// process from its start.
func RunStage(ctx context.Context, storageHost string, o ingest.Object, codec string) (StageFigures, error) {
	if err := procstat.ResetPeak(); err != nil && !errors.Is(err, procstat.ErrUnsupported) {
		return StageFigures{}, err
	}
	gcs, err := clients.Storage(ctx, storageHost)
	if err != nil {
		return StageFigures{}, err
	}
	defer gcs.Close()
	stager, err := ingest.NewStager(ingest.Config{Buckets: config.Buckets{Landing: landing, Staging: staging}, Codec: codec}, dictionary.Default(), gcs, nil)
	if err != nil {
		return StageFigures{}, err
	}
	start := time.Now()
	st, err := stager.Stage(ctx, o)
	if err != nil {
		return StageFigures{}, err
	}
	fig := StageFigures{Seconds: time.Since(start).Seconds(), Staged: st}
	fig.PeakRSSBytes, _ = procstat.PeakRSS()
	return fig, nil
}

// parseCSV reads a file with encoding/csv alone and returns its records and
// the seconds it took.
func parseCSV(path string) (int64, float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	start := time.Now()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	var n int64
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return 0, 0, err
		}
		n++
	}
	return n, time.Since(start).Seconds(), nil
}

// sampleRows is how many parsed rows encodeAvro keeps in memory.
const sampleRows = 65536

// encodeAvro measures Avro encoding alone: it parses and validates up to
// sampleRows valid rows of the file outside the clock, then encodes them
// again and again until limit rows are encoded, and times that with the
// final flush.
func encodeAvro(path string, t *dictionary.Table, codec string, limit int64) (CodecFigures, error) {
	f, err := os.Open(path)
	if err != nil {
		return CodecFigures{}, err
	}
	defer f.Close()
	reader := t.NewReader(bufio.NewReaderSize(f, 1<<20))
	at := time.Now()
	var sample [][]any
	for len(sample) < sampleRows && int64(len(sample)) < limit {
		rec, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return CodecFigures{}, err
		}
		if rec.Err == nil {
			sample = append(sample, append(rec.Row.Values, "gs://bench/hired_employees.csv#1", at, rec.Line))
		}
	}
	if len(sample) == 0 {
		return CodecFigures{}, errors.New("bench: no valid row to encode")
	}
	out := &countingWriter{}
	w, err := avro.NewWriter(out, "row", warehouse.RawSchema(t), codec, "bench")
	if err != nil {
		return CodecFigures{}, err
	}
	var rows int64
	start := time.Now()
	for rows < limit {
		for _, v := range sample {
			if rows == limit {
				break
			}
			if err := w.Write(v); err != nil {
				return CodecFigures{}, err
			}
			rows++
		}
	}
	if err := w.Close(); err != nil {
		return CodecFigures{}, err
	}
	spent := time.Since(start)
	return CodecFigures{Codec: codec, Rows: rows, RowsPerSec: float64(rows) / spent.Seconds(), BytesPerRow: float64(out.n) / float64(rows)}, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
