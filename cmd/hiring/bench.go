package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
)

// benchCmd groups the benchmarks.
type benchCmd struct {
	LoadCSV    benchLoadCSVCmd    `cmd:"" name:"load-csv" help:"Measure load-csv on one generated file: (a) encoding/csv, (b) Avro encoding, both alone and in parallel (the two-core bound), (c) the function's path from the object store to the staged Avro object, (c2) the same path from local disk, (d) DuckDB's read_csv into a typed table; the CPU time per row of the two-core bound, of (c)'s process and of the storage emulator during (c), and of (c2); each figure the median of --runs runs, with min and max."`
	InsertRows benchInsertRowsCmd `cmd:"" name:"insert-rows" help:"Load a running stack's insert-rows with concurrent clients, report throughput, latency and the CPU time of the function's processes per batch, and check the rows readers see."`
	ColdStart  benchColdStartCmd  `cmd:"" name:"cold-start" help:"Start a function alone, as Cloud Run does, against a running stack, and measure the time to its first answer and its peak memory."`
}

// benchLoadCSVCmd measures load-csv.
type benchLoadCSVCmd struct {
	Rows    int64  `help:"hired_employees rows of the generated file." default:"1000000" placeholder:"N"`
	Codec   string `help:"Avro codec of the staged file: null, deflate or snappy." default:"snappy" enum:"null,deflate,snappy"`
	Runs    int    `help:"Runs of every measurement; each figure is their median, with min and max." default:"3" placeholder:"N"`
	WorkDir string `help:"Folder for the generated file, the Avro files of (c2) and the DuckDB database of (d); default: a temporary folder, removed after." type:"path" placeholder:"DIR"`
	JSON    bool   `name:"json" help:"Print the figures as one JSON object."`

	StageChild bool   `hidden:"" help:"Run (c), or (c2) with --file, alone and print its figures as JSON; used by the command itself."`
	Storage    string `hidden:"" help:"Storage emulator host of --stage-child."`
	Object     string `hidden:"" help:"The object of --stage-child, as JSON."`
	File       string `hidden:"" help:"The object's content on local disk: --stage-child runs (c2), from this file to --out-dir."`
	OutDir     string `hidden:"" help:"Folder of the Avro files of --stage-child --file."`
}

// Validate checks the flags.
func (c *benchLoadCSVCmd) Validate() error {
	if c.StageChild {
		return nil
	}
	if c.Rows < 1 {
		return fmt.Errorf("--rows must be at least 1, got %d", c.Rows)
	}
	if c.Runs < 1 {
		return fmt.Errorf("--runs must be at least 1, got %d", c.Runs)
	}
	return nil
}

// Run runs the benchmark; (c) and (c2) run in child processes so that their
// peak memory is measured alone, as in a deployed function.
func (c *benchLoadCSVCmd) Run(ctx context.Context, con *console) error {
	if c.StageChild {
		run := bench.StageRun{StorageHost: c.Storage, Codec: c.Codec, File: c.File, OutDir: c.OutDir}
		if err := json.Unmarshal([]byte(c.Object), &run.Object); err != nil {
			return fmt.Errorf("--object: %w", err)
		}
		fig, err := bench.RunStage(ctx, run)
		if err != nil {
			return err
		}
		return json.NewEncoder(con.Stdout).Encode(fig)
	}
	dir := c.WorkDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "hiring-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	rep, err := bench.LoadCSV(ctx, bench.LoadCSVOptions{Rows: c.Rows, Dir: dir, Codec: c.Codec, Runs: c.Runs, Stage: stageInChild, Log: con.Stderr})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(con.Stdout).Encode(rep)
	}
	return printLoadCSVReport(con.Stdout, rep)
}

// stageInChild runs (c) or (c2) in a new process of this program.
func stageInChild(ctx context.Context, run bench.StageRun) (bench.StageFigures, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.StageFigures{}, err
	}
	obj, err := json.Marshal(run.Object)
	if err != nil {
		return bench.StageFigures{}, err
	}
	args := []string{"bench", "load-csv", "--stage-child", "--storage", run.StorageHost, "--object", string(obj), "--codec", run.Codec}
	if run.File != "" {
		args = append(args, "--file", run.File, "--out-dir", run.OutDir)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return bench.StageFigures{}, fmt.Errorf("function path in a child process: %w: %s", err, stderr.String())
	}
	var fig bench.StageFigures
	if err := json.Unmarshal(stdout.Bytes(), &fig); err != nil {
		return bench.StageFigures{}, fmt.Errorf("function path in a child process: %w in %q", err, stdout.String())
	}
	return fig, nil
}

func printLoadCSVReport(w io.Writer, r bench.LoadCSVReport) error {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	rate := func(f bench.Figure[float64]) string {
		return fmt.Sprintf("%.0f rows/s\t%.0f\t%.0f", f.Median, f.Min, f.Max)
	}
	ratio := func(f bench.Figure[float64]) string {
		return fmt.Sprintf("%.2f\t%.2f\t%.2f", f.Median, f.Min, f.Max)
	}
	cpu := func(f bench.Figure[float64]) string {
		return fmt.Sprintf("%.0f ns/row\t%.0f\t%.0f", f.Median, f.Min, f.Max)
	}
	rss := func(f bench.Figure[int64]) string {
		return fmt.Sprintf("%.1f MiB\t%.1f\t%.1f", mib(f.Median), mib(f.Min), mib(f.Max))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "file\t%d rows, %.1f MiB\t\t\t\n", r.Rows, mib(r.FileBytes))
	fmt.Fprintf(tw, "%d runs\tmedian\tmin\tmax\t\n", r.Runs)
	fmt.Fprintf(tw, "(a) encoding/csv\t%s\t\n", rate(r.ParseRowsPerSec))
	fmt.Fprintf(tw, "(b) Avro encode (%s)\t%s\t\n", r.Codec, rate(r.EncodeRowsPerSec))
	fmt.Fprintf(tw, "serial bound 1/(1/a+1/b)\t%s\t\n", rate(r.BoundRowsPerSec))
	fmt.Fprintf(tw, "(a') encoding/csv, in parallel with (b')\t%s\t\n", rate(r.ParallelParseRowsPerSec))
	fmt.Fprintf(tw, "(b') Avro encode, in parallel with (a')\t%s\t\n", rate(r.ParallelEncodeRowsPerSec))
	fmt.Fprintf(tw, "two-core bound 2/(1/a'+1/b')\t%s\t\n", rate(r.TwoCoreBoundRowsPerSec))
	fmt.Fprintf(tw, "(c) object store to staged Avro\t%s\t\n", rate(r.FunctionRowsPerSec))
	fmt.Fprintf(tw, "(c) / serial bound\t%s\t\n", ratio(r.Ratio))
	fmt.Fprintf(tw, "(c) / two-core bound\t%s\t\n", ratio(r.TwoCoreRatio))
	fmt.Fprintf(tw, "(c) peak RSS\t%s\t\n", rss(r.FunctionPeakRSSBytes))
	fmt.Fprintf(tw, "CPU of the two-core bound 1/a'+1/b'\t%s\t\n", cpu(r.TwoCoreBoundCPUNanosPerRow))
	fmt.Fprintf(tw, "CPU of (c), the function's process\t%s\t\n", cpu(r.FunctionCPUNanosPerRow))
	fmt.Fprintf(tw, "CPU of (c), the storage emulator's\t%s\t\n", cpu(r.EmulatorCPUNanosPerRow))
	fmt.Fprintf(tw, "(c2) local disk to local Avro\t%s\t\n", rate(r.LocalRowsPerSec))
	fmt.Fprintf(tw, "CPU of (c2)\t%s\t\n", cpu(r.LocalCPUNanosPerRow))
	fmt.Fprintf(tw, "(c2) peak RSS\t%s\t\n", rss(r.LocalPeakRSSBytes))
	fmt.Fprintf(tw, "(c) / (c2)\t%s\t\n", ratio(r.FunctionToLocalRatio))
	fmt.Fprintf(tw, "(d) DuckDB read_csv, %d threads\t%s\t\n", r.DuckDB.Threads, rate(r.DuckDB.RowsPerSec))
	fmt.Fprintf(tw, "(c2) / (d)\t%s\t\n", ratio(r.LocalToDuckDBRatio))
	fmt.Fprintf(tw, "(c) staged\t%d valid, %d rejected\t\t\t\n", r.Staged.Valid, r.Staged.Rejected)
	fmt.Fprintf(tw, "(d) loaded\t%d rows\t\t\t\n", r.DuckDB.Loaded)
	for _, c := range r.Codecs {
		fmt.Fprintf(tw, "codec %s (%d rows, %.1f bytes/row)\t%s\t\n", c.Codec, c.Rows, c.BytesPerRow, rate(c.RowsPerSec))
	}
	return tw.Flush()
}

// benchInsertRowsCmd loads insert-rows.
type benchInsertRowsCmd struct {
	stackFlag
	Clients  int           `help:"Concurrent clients; each sends its next request as soon as its previous one is answered." default:"16" placeholder:"C"`
	Duration time.Duration `help:"How long to send requests; the requests in flight at the end are waited for." default:"20s" placeholder:"D"`
	Rows     int           `help:"Rows per request, 1 to 1000." default:"100" placeholder:"N"`
	Table    string        `help:"Table to insert into." default:"hired_employees"`
	JSON     bool          `name:"json" help:"Print the figures as one JSON object."`
}

// Validate checks the flags.
func (c *benchInsertRowsCmd) Validate() error {
	if _, ok := dictionary.Default().Table(c.Table); !ok {
		return fmt.Errorf("--table: no table %q (tables: %s)", c.Table, strings.Join(dictionary.Default().Names(), ", "))
	}
	if c.Clients < 1 {
		return fmt.Errorf("--clients must be at least 1, got %d", c.Clients)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("--duration must be positive, got %s", c.Duration)
	}
	if c.Rows < 1 || c.Rows > insert.MaxRows {
		return fmt.Errorf("--rows must be 1 to %d, got %d", insert.MaxRows, c.Rows)
	}
	return nil
}

// Run runs the load and prints its figures. It fails when the rows readers
// see do not match the rows inserted.
func (c *benchInsertRowsCmd) Run(ctx context.Context, con *console) error {
	cfg, err := c.config(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(con.Stderr, "%d clients send %d rows per request to %s for %s...\n", c.Clients, c.Rows, c.Table, c.Duration)
	rep, err := bench.InsertRows(ctx, bench.InsertRowsOptions{Stack: cfg, Clients: c.Clients, Duration: c.Duration, Rows: c.Rows, Table: c.Table})
	if err != nil {
		return err
	}
	if c.JSON {
		err = json.NewEncoder(con.Stdout).Encode(rep)
	} else {
		err = printInsertRowsReport(con.Stdout, rep)
	}
	if err != nil {
		return err
	}
	if !rep.Check.OK {
		return fmt.Errorf("row check failed: readers see %d more rows, %d were inserted", rep.Check.After-rep.Check.Before, rep.Check.Inserted)
	}
	return nil
}

func printInsertRowsReport(w io.Writer, r bench.InsertRowsReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "load\t%s: %d clients, %d rows per request, %.1f s\n", r.Table, r.Clients, r.RowsPerRequest, r.Seconds)
	fmt.Fprintf(tw, "requests\t%d\t%.1f/s\n", r.Requests, r.RequestsPerSec)
	fmt.Fprintf(tw, "rows inserted\t%d\t%.0f/s\n", r.Inserted, r.RowsPerSec)
	fmt.Fprintf(tw, "latency ms\tp50 %.1f\tp95 %.1f\tp99 %.1f\tmax %.1f\n", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max)
	switch c := r.CPU; {
	case c.Unavailable != "":
		fmt.Fprintf(tw, "CPU per batch\tunknown: %s\n", c.Unavailable)
	default:
		shared := ""
		if c.Shared {
			shared = ", shared with the stack (start it with --instances 2 for the function alone)"
		}
		fmt.Fprintf(tw, "CPU per batch\t%.2f ms\t%.2f cores busy\t%d processes%s\n", c.MsPerBatch, c.Cores, len(c.PIDs), shared)
	}
	if len(r.Errors) == 0 {
		fmt.Fprintf(tw, "errors\tnone\n")
	}
	kinds := slices.Sorted(maps.Keys(r.Errors))
	for _, k := range kinds {
		fmt.Fprintf(tw, "errors\t%d\t%s\n", r.Errors[k], k)
	}
	check := fmt.Sprintf("ok: readers see %d more rows (%d to %d), as inserted", r.Check.After-r.Check.Before, r.Check.Before, r.Check.After)
	if !r.Check.OK {
		check = fmt.Sprintf("FAILED: readers see %d more rows (%d to %d), %d were inserted: a difference of %d",
			r.Check.After-r.Check.Before, r.Check.Before, r.Check.After, r.Check.Inserted, r.Check.Difference)
	}
	fmt.Fprintf(tw, "row check\t%s\n", check)
	return tw.Flush()
}

// benchColdStartCmd measures a function's cold start.
type benchColdStartCmd struct {
	stackFlag
	Function string `help:"Function to start (the one with a known request)." default:"insert-rows" enum:"insert-rows"`
	Binary   string `help:"Function binary (go build ./cmd/function); default: built with go build into a temporary folder, which needs the working directory inside the repository." type:"existingfile" placeholder:"PATH"`
	Requests int    `help:"Requests sent after the first answer, before the peak memory is read again." default:"100" placeholder:"N"`
	JSON     bool   `name:"json" help:"Print the figures as one JSON object."`
}

// Validate checks the flags.
func (c *benchColdStartCmd) Validate() error {
	if c.Requests < 1 {
		return fmt.Errorf("--requests must be at least 1, got %d", c.Requests)
	}
	return nil
}

// Run starts the function, measures it, stops it and prints the figures.
func (c *benchColdStartCmd) Run(ctx context.Context, con *console) error {
	i := slices.IndexFunc(hiringpipeline.Functions, func(d function.Definition) bool { return d.Name == c.Function })
	if i < 0 {
		return fmt.Errorf("--function: no function %q", c.Function)
	}
	cfg, err := c.config(ctx)
	if err != nil {
		return err
	}
	rep, err := bench.ColdStart(ctx, bench.ColdStartOptions{Stack: cfg, Function: hiringpipeline.Functions[i], Binary: c.Binary, Requests: c.Requests, Log: con.Stderr})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(con.Stdout).Encode(rep)
	}
	return printColdStartReport(con.Stdout, rep)
}

func printColdStartReport(w io.Writer, r bench.ColdStartReport) error {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "function\t%s (FUNCTION_TARGET=%s), binary %.1f MiB\n", r.Function, r.FunctionTarget, mib(r.BinaryBytes))
	if r.BuildSeconds > 0 {
		fmt.Fprintf(tw, "go build\t%.1f s\n", r.BuildSeconds)
	}
	fmt.Fprintf(tw, "exec to listening\t%.1f ms\n", r.ListenMs)
	fmt.Fprintf(tw, "exec to first 200\t%.1f ms\n", r.ColdStartMs)
	fmt.Fprintf(tw, "peak RSS at first 200\t%.1f MiB\n", mib(r.PeakRSSBytes))
	fmt.Fprintf(tw, "%d more requests\t%.2f ms at the median\n", r.Requests, r.WarmP50Ms)
	fmt.Fprintf(tw, "peak RSS after them\t%.1f MiB\n", mib(r.PeakRSSAfterBytes))
	return tw.Flush()
}
