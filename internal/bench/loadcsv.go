// Package bench measures the pipeline's hot paths on generated data, for the
// `hiring bench` command. Figures are rows per second of wall time on this
// machine, and peak resident memory and CPU time read from /proc.
package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/api/iterator"

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
	// Dir is a work folder for the file, the Avro files of (c2) and the
	// DuckDB database of (d).
	Dir string
	// Codec compresses the staged Avro file of the function path.
	Codec string
	// Runs is how many times each figure is measured. Default 3.
	Runs int
	// Stage runs the function path, (c) and (c2); the command runs it in a
	// child process so that its peak memory is its own. Nil runs RunStage in
	// process.
	Stage func(ctx context.Context, run StageRun) (StageFigures, error)
	// Log receives progress lines.
	Log io.Writer
}

// StageRun is one run of the function path: (c), from the object in the
// storage emulator to the staging bucket, or (c2) when File is set.
type StageRun struct {
	StorageHost string        `json:"storage_host"`
	Object      ingest.Object `json:"object"`
	Codec       string        `json:"codec"`
	// File is the object's content on local disk: (c2) reads it through
	// the same reader and writes the staged Avro files to OutDir.
	File   string `json:"file,omitempty"`
	OutDir string `json:"out_dir,omitempty"`
}

// StageFigures are the figures of the function path.
type StageFigures struct {
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the CPU time, user and system, that the process spent
	// over Seconds, to the 10 ms.
	CPUSeconds   float64       `json:"cpu_seconds"`
	PeakRSSBytes int64         `json:"peak_rss_bytes"`
	Staged       ingest.Staged `json:"staged"`
}

// Figure is a figure measured in each run: the median of the runs (the
// mean of the two middle ones for an even number), the lowest and the
// highest.
type Figure[T int64 | float64] struct {
	Median T `json:"median"`
	Min    T `json:"min"`
	Max    T `json:"max"`
}

// summarize returns the Figure of the runs' values.
func summarize[T int64 | float64](values []T) Figure[T] {
	s := slices.Sorted(slices.Values(values))
	if len(s) == 0 {
		return Figure[T]{}
	}
	mid := s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + mid) / 2
	}
	return Figure[T]{Median: mid, Min: s[0], Max: s[len(s)-1]}
}

// CodecFigures compare Avro codecs on the same rows.
type CodecFigures struct {
	Codec       string          `json:"codec"`
	Rows        int64           `json:"rows"`
	RowsPerSec  Figure[float64] `json:"rows_per_sec"`
	BytesPerRow float64         `json:"bytes_per_row"`
}

// LoadCSVReport is what LoadCSV measured. Every Figure summarizes Runs
// runs; a ratio is computed within each run, then summarized.
type LoadCSVReport struct {
	Rows      int64  `json:"rows"`
	FileBytes int64  `json:"file_bytes"`
	Runs      int    `json:"runs"`
	Codec     string `json:"codec"`
	// ParseRowsPerSec is (a): encoding/csv alone.
	ParseRowsPerSec Figure[float64] `json:"parse_rows_per_sec"`
	// EncodeRowsPerSec is (b): Avro encoding alone of rows already parsed
	// and validated (a sample of the file, encoded until Rows rows), with
	// the function's codec.
	EncodeRowsPerSec Figure[float64] `json:"encode_rows_per_sec"`
	// BoundRowsPerSec is what (a) and (b) allow one after the other on one
	// core: 1 / (1/a + 1/b).
	BoundRowsPerSec Figure[float64] `json:"bound_rows_per_sec"`
	// ParallelParseRowsPerSec and ParallelEncodeRowsPerSec are (a) and (b)
	// measured at the same time, each on its own goroutine: what each gets
	// of a core while the other core is busy with the other.
	ParallelParseRowsPerSec  Figure[float64] `json:"parallel_parse_rows_per_sec"`
	ParallelEncodeRowsPerSec Figure[float64] `json:"parallel_encode_rows_per_sec"`
	// TwoCoreBoundRowsPerSec is what two cores allow when the work of
	// parsing and encoding a row, at the rates measured in parallel, is
	// split evenly between them: 2 / (1/a' + 1/b'). No split of (a) and (b)
	// over two cores (a pipeline, or blocks encoded in parallel) does
	// better; a pipeline of the two alone gets min(a', b').
	TwoCoreBoundRowsPerSec Figure[float64] `json:"two_core_bound_rows_per_sec"`
	// FunctionRowsPerSec is (c): the function's path from the object store
	// to the staged Avro object: read, parse, validate, encode, upload.
	FunctionRowsPerSec Figure[float64] `json:"function_rows_per_sec"`
	// Ratio is (c) / bound; TwoCoreRatio is (c) / the two-core bound.
	Ratio        Figure[float64] `json:"ratio"`
	TwoCoreRatio Figure[float64] `json:"two_core_ratio"`
	// FunctionPeakRSSBytes is the peak resident memory of the process that
	// ran (c).
	FunctionPeakRSSBytes Figure[int64] `json:"function_peak_rss_bytes"`
	// TwoCoreBoundCPUNanosPerRow is the CPU time per row of the two-core
	// bound, 1/a' + 1/b'. FunctionCPUNanosPerRow is the CPU time per row
	// of the process that ran (c), and EmulatorCPUNanosPerRow that of the
	// benchmark's process, the storage emulator's, while (c) ran: where
	// (c) spent the two cores.
	TwoCoreBoundCPUNanosPerRow Figure[float64] `json:"two_core_bound_cpu_ns_per_row"`
	FunctionCPUNanosPerRow     Figure[float64] `json:"function_cpu_ns_per_row"`
	EmulatorCPUNanosPerRow     Figure[float64] `json:"emulator_cpu_ns_per_row"`
	// LocalRowsPerSec is (c2): the same path reading the file from local
	// disk and writing the Avro files to local disk (the page cache, not
	// synced), in a process of its own too.
	LocalRowsPerSec      Figure[float64] `json:"local_rows_per_sec"`
	LocalCPUNanosPerRow  Figure[float64] `json:"local_cpu_ns_per_row"`
	LocalPeakRSSBytes    Figure[int64]   `json:"local_peak_rss_bytes"`
	FunctionToLocalRatio Figure[float64] `json:"function_to_local_ratio"`
	// DuckDB is (d), the reference.
	DuckDB DuckDBReport `json:"duckdb"`
	// LocalToDuckDBRatio is (c2) / (d).
	LocalToDuckDBRatio Figure[float64] `json:"local_to_duckdb_ratio"`
	Codecs             []CodecFigures  `json:"codecs"`
	Staged             ingest.Staged   `json:"staged"`
}

// DuckDBReport is (d): DuckDB's read_csv of the file into a typed table
// with NOT NULL columns, in a database file. Rows per second count the
// file's rows, as (c) does.
type DuckDBReport struct {
	RowsPerSec Figure[float64] `json:"rows_per_sec"`
	// Loaded is the table's rows: the file's rows whose values cast to the
	// column types and are not empty. The dictionary rejects more (ranges,
	// lengths), so it is at least (c)'s valid rows.
	Loaded int64 `json:"loaded"`
	// Threads is DuckDB's threads setting: the machine's cores.
	Threads int64 `json:"threads"`
}

// codecSample bounds the rows of the codec comparison.
const codecSample = 1_000_000

// loadCSVRun holds one run's figures.
type loadCSVRun struct {
	parse, encode, parallelParse, parallelEncode float64
	function, local, duckdb                      float64
	// CPU time per row, in ns, of (c), of the emulator during (c), and of
	// (c2).
	functionCPU, emulatorCPU, localCPU float64
	codecs                             []float64
	functionRSS, localRSS              int64
}

// LoadCSV generates a hired_employees file of opts.Rows rows and measures
// (a), (b), (a) and (b) in parallel, (c), (c2) and (d) on it, opts.Runs
// times, one run after the other.
func LoadCSV(ctx context.Context, opts LoadCSVOptions) (LoadCSVReport, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	opts.Runs = cmp.Or(opts.Runs, 3)
	if opts.Runs < 1 {
		return LoadCSVReport{}, fmt.Errorf("bench: %d runs, want at least 1", opts.Runs)
	}
	rep := LoadCSVReport{Rows: opts.Rows, Codec: opts.Codec, Runs: opts.Runs}
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
	table, _ := dictionary.Default().Table("hired_employees")
	sample, err := loadSample(path, table)
	if err != nil {
		return rep, err
	}

	// The storage emulator keeps its objects in memory: its on-disk store
	// copies every object it creates through a buffer that grows by
	// doubling, which cost more CPU than the function path itself on the
	// two cores they share ((c) 611k rows/s at 5M rows, against 1.16M).
	srv, err := gcsemu.Start(ctx, gcsemu.Options{})
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
	codecs := []string{avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy}
	var runs []loadCSVRun
	for i := range opts.Runs {
		var run loadCSVRun
		logf("run %d of %d: (a) encoding/csv...", i+1, opts.Runs)
		n, secs, err := parseCSV(path, nil)
		if err != nil {
			return rep, err
		}
		run.parse = float64(n) / secs
		logf("run %d of %d: (b) Avro encoding...", i+1, opts.Runs)
		for _, codec := range codecs {
			f, err := encodeSample(sample, table, codec, min(codecSample, opts.Rows), nil)
			if err != nil {
				return rep, err
			}
			run.codecs = append(run.codecs, f.RowsPerSec.Median)
			if i == 0 {
				rep.Codecs = append(rep.Codecs, f)
			}
		}
		enc, err := encodeSample(sample, table, opts.Codec, opts.Rows, nil)
		if err != nil {
			return rep, err
		}
		run.encode = enc.RowsPerSec.Median
		logf("run %d of %d: (a) and (b) in parallel...", i+1, opts.Runs)
		if run.parallelParse, run.parallelEncode, err = parseAndEncode(path, sample, table, opts.Codec, opts.Rows); err != nil {
			return rep, err
		}

		logf("run %d of %d: (c) the function path, object store to staged Avro...", i+1, opts.Runs)
		emulatorCPU, err := cpuTimer()
		if err != nil {
			return rep, err
		}
		fig, err := stage(ctx, StageRun{StorageHost: srv.Host(), Object: o, Codec: opts.Codec})
		if err != nil {
			return rep, err
		}
		rows := float64(fig.Staged.RowsRead)
		run.function, run.functionRSS, rep.Staged = rows/fig.Seconds, fig.PeakRSSBytes, fig.Staged
		run.functionCPU, run.emulatorCPU = fig.CPUSeconds*1e9/rows, float64(emulatorCPU().Nanoseconds())/rows
		if err := emptyBucket(ctx, srv, staging); err != nil {
			return rep, err
		}

		logf("run %d of %d: (c2) the function path, local disk to local disk...", i+1, opts.Runs)
		local, err := stage(ctx, StageRun{StorageHost: srv.Host(), Object: o, Codec: opts.Codec, File: path, OutDir: filepath.Join(opts.Dir, "staged")})
		if err != nil {
			return rep, err
		}
		if local.Staged.RowsRead != fig.Staged.RowsRead || local.Staged.Valid != fig.Staged.Valid || local.Staged.Rejected != fig.Staged.Rejected {
			return rep, fmt.Errorf("bench: (c2) staged %+v, (c) %+v", local.Staged, fig.Staged)
		}
		run.local, run.localRSS = rows/local.Seconds, local.PeakRSSBytes
		run.localCPU = local.CPUSeconds * 1e9 / rows

		logf("run %d of %d: (d) DuckDB read_csv...", i+1, opts.Runs)
		dfig, err := RunDuckDB(ctx, path, table, filepath.Join(opts.Dir, "duckdb"))
		if err != nil {
			return rep, err
		}
		run.duckdb = float64(fig.Staged.RowsRead) / dfig.Seconds
		rep.DuckDB.Loaded, rep.DuckDB.Threads = dfig.Loaded, dfig.Threads
		runs = append(runs, run)
	}

	rep.summarize(runs)
	for i := range rep.Codecs {
		rep.Codecs[i].RowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.codecs[i] })
	}
	return rep, nil
}

// figure summarizes one value of every run.
func figure[T int64 | float64](runs []loadCSVRun, value func(loadCSVRun) T) Figure[T] {
	values := make([]T, len(runs))
	for i, r := range runs {
		values[i] = value(r)
	}
	return summarize(values)
}

func (rep *LoadCSVReport) summarize(runs []loadCSVRun) {
	bound := func(r loadCSVRun) float64 { return 1 / (1/r.parse + 1/r.encode) }
	twoCore := func(r loadCSVRun) float64 { return 2 / (1/r.parallelParse + 1/r.parallelEncode) }
	rep.ParseRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.parse })
	rep.EncodeRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.encode })
	rep.BoundRowsPerSec = figure(runs, bound)
	rep.ParallelParseRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.parallelParse })
	rep.ParallelEncodeRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.parallelEncode })
	rep.TwoCoreBoundRowsPerSec = figure(runs, twoCore)
	rep.FunctionRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.function })
	rep.Ratio = figure(runs, func(r loadCSVRun) float64 { return r.function / bound(r) })
	rep.TwoCoreRatio = figure(runs, func(r loadCSVRun) float64 { return r.function / twoCore(r) })
	rep.FunctionPeakRSSBytes = figure(runs, func(r loadCSVRun) int64 { return r.functionRSS })
	rep.TwoCoreBoundCPUNanosPerRow = figure(runs, func(r loadCSVRun) float64 { return 1e9/r.parallelParse + 1e9/r.parallelEncode })
	rep.FunctionCPUNanosPerRow = figure(runs, func(r loadCSVRun) float64 { return r.functionCPU })
	rep.EmulatorCPUNanosPerRow = figure(runs, func(r loadCSVRun) float64 { return r.emulatorCPU })
	rep.LocalCPUNanosPerRow = figure(runs, func(r loadCSVRun) float64 { return r.localCPU })
	rep.LocalRowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.local })
	rep.LocalPeakRSSBytes = figure(runs, func(r loadCSVRun) int64 { return r.localRSS })
	rep.FunctionToLocalRatio = figure(runs, func(r loadCSVRun) float64 { return r.function / r.local })
	rep.DuckDB.RowsPerSec = figure(runs, func(r loadCSVRun) float64 { return r.duckdb })
	rep.LocalToDuckDBRatio = figure(runs, func(r loadCSVRun) float64 { return r.local / r.duckdb })
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

// emptyBucket deletes the objects of a bucket, so that the next run of (c)
// stages its files anew rather than finding them there.
func emptyBucket(ctx context.Context, srv *gcsemu.Server, bucket string) error {
	c, err := srv.Client(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	it := c.Bucket(bucket).Objects(ctx, nil)
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bench: list gs://%s: %w", bucket, err)
		}
		if err := c.Bucket(bucket).Object(a.Name).Delete(ctx); err != nil {
			return fmt.Errorf("bench: delete gs://%s/%s: %w", bucket, a.Name, err)
		}
	}
}

// RunStage runs the function path, ingest.Stager, with the Cloud Storage
// client of the storage emulator at run.StorageHost: Stage for (c), StageFrom
// the local file for (c2). It measures the path's time, from opening the
// object or the file to the staged files' end, the CPU time of the process
// over that time (that of a storage emulator in the same process too), and
// the peak memory of the process from its start.
func RunStage(ctx context.Context, run StageRun) (StageFigures, error) {
	if err := procstat.ResetPeak(); err != nil && !errors.Is(err, procstat.ErrUnsupported) {
		return StageFigures{}, err
	}
	gcs, err := clients.Storage(ctx, run.StorageHost)
	if err != nil {
		return StageFigures{}, err
	}
	defer gcs.Close()
	stager, err := ingest.NewStager(ingest.Config{Buckets: config.Buckets{Landing: landing, Staging: staging}, Codec: run.Codec}, dictionary.Default(), gcs, nil)
	if err != nil {
		return StageFigures{}, err
	}
	cpu, err := cpuTimer()
	if err != nil {
		return StageFigures{}, err
	}
	start := time.Now()
	var st ingest.Staged
	if run.File == "" {
		st, err = stager.Stage(ctx, run.Object)
	} else {
		st, err = stageLocal(ctx, stager, run)
	}
	if err != nil {
		return StageFigures{}, err
	}
	fig := StageFigures{Seconds: time.Since(start).Seconds(), CPUSeconds: cpu().Seconds(), Staged: st}
	fig.PeakRSSBytes, _ = procstat.PeakRSS()
	return fig, nil
}

// cpuTimer returns a function that gives the CPU time this process has
// spent since cpuTimer was called: zero where /proc is not there.
func cpuTimer() (func() time.Duration, error) {
	start, err := procstat.CPUTimeOf(os.Getpid())
	if errors.Is(err, procstat.ErrUnsupported) {
		return func() time.Duration { return 0 }, nil
	}
	if err != nil {
		return nil, err
	}
	return func() time.Duration {
		now, err := procstat.CPUTimeOf(os.Getpid())
		if err != nil {
			return 0
		}
		return now - start
	}, nil
}

// stageLocal stages run.File into valid.avro and rejects.avro of run.OutDir.
func stageLocal(ctx context.Context, stager *ingest.Stager, run StageRun) (ingest.Staged, error) {
	in, err := os.Open(run.File)
	if err != nil {
		return ingest.Staged{}, err
	}
	defer in.Close()
	if err := os.MkdirAll(run.OutDir, 0o755); err != nil {
		return ingest.Staged{}, err
	}
	var outs [2]*os.File
	var bufs [2]*bufio.Writer
	for i, name := range []string{"valid.avro", "rejects.avro"} {
		if outs[i], err = os.Create(filepath.Join(run.OutDir, name)); err != nil {
			return ingest.Staged{}, err
		}
		defer outs[i].Close()
		bufs[i] = bufio.NewWriterSize(outs[i], 1<<20)
	}
	st, err := stager.StageFrom(ctx, run.Object, in, bufs[0], bufs[1])
	if err != nil {
		return ingest.Staged{}, err
	}
	for i := range outs {
		if err := bufs[i].Flush(); err != nil {
			return ingest.Staged{}, err
		}
		if err := outs[i].Close(); err != nil {
			return ingest.Staged{}, err
		}
	}
	return st, nil
}

// parseCSV reads a file with encoding/csv alone and returns its records and
// the seconds it took. It stops early, with no error, once stop is set.
func parseCSV(path string, stop *atomic.Bool) (int64, float64, error) {
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
		if stop != nil && n%1024 == 0 && stop.Load() {
			break
		}
	}
	return n, time.Since(start).Seconds(), nil
}

// sampleRows is how many parsed rows loadSample keeps in memory.
const sampleRows = 65536

// loadSample parses and validates up to sampleRows valid rows of the file,
// as the values (b) encodes.
func loadSample(path string, t *dictionary.Table) ([][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := t.NewReader(bufio.NewReaderSize(f, 1<<20))
	at := time.Now()
	var sample [][]any
	for len(sample) < sampleRows {
		rec, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.Err == nil {
			sample = append(sample, append(rec.Row.Values, "gs://bench/hired_employees.csv#1", at, rec.Line))
		}
	}
	if len(sample) == 0 {
		return nil, errors.New("bench: no valid row to encode")
	}
	return sample, nil
}

// encodeSample measures Avro encoding alone: it encodes the sample again and
// again until limit rows are encoded, and times that with the final flush.
// It stops early, with no error, once stop is set.
func encodeSample(sample [][]any, t *dictionary.Table, codec string, limit int64, stop *atomic.Bool) (CodecFigures, error) {
	out := &countingWriter{}
	w, err := avro.NewWriter(out, "row", warehouse.RawSchema(t), codec, "bench")
	if err != nil {
		return CodecFigures{}, err
	}
	var rows int64
	start := time.Now()
	for rows < limit && (stop == nil || !stop.Load()) {
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
	rate := float64(rows) / time.Since(start).Seconds()
	return CodecFigures{Codec: codec, Rows: rows, RowsPerSec: Figure[float64]{Median: rate, Min: rate, Max: rate}, BytesPerRow: float64(out.n) / float64(rows)}, nil
}

// parseAndEncode runs (a) and (b) at the same time on two goroutines and
// returns the rate of each. Each is timed on its first pass; the one that
// ends first starts again, so that the other is timed with both cores busy
// to its end, and is stopped then.
func parseAndEncode(path string, sample [][]any, t *dictionary.Table, codec string, limit int64) (parse, encode float64, err error) {
	runtime.GC()
	var parseDone, encodeDone atomic.Bool
	var parseErr, encodeErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer parseDone.Store(true)
		for first := true; first || !encodeDone.Load(); first = false {
			stop := &encodeDone
			if first {
				stop = nil
			}
			n, secs, err := parseCSV(path, stop)
			if err != nil {
				parseErr = err
				return
			}
			if first {
				parse = float64(n) / secs
				parseDone.Store(true)
			}
		}
	})
	wg.Go(func() {
		defer encodeDone.Store(true)
		for first := true; first || !parseDone.Load(); first = false {
			stop := &parseDone
			if first {
				stop = nil
			}
			f, err := encodeSample(sample, t, codec, limit, stop)
			if err != nil {
				encodeErr = err
				return
			}
			if first {
				encode = f.RowsPerSec.Median
				encodeDone.Store(true)
			}
		}
	})
	wg.Wait()
	return parse, encode, errors.Join(parseErr, encodeErr)
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
