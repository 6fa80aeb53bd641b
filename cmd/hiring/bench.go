package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"text/tabwriter"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
)

// benchCmd groups the benchmarks.
type benchCmd struct {
	LoadCSV benchLoadCSVCmd `cmd:"" name:"load-csv" help:"Measure load-csv on one generated file: (a) encoding/csv, (b) Avro encoding, (c) the function's path from the object store to the staged Avro object."`
}

// benchLoadCSVCmd measures load-csv.
type benchLoadCSVCmd struct {
	Rows    int64  `help:"hired_employees rows of the generated file." default:"1000000" placeholder:"N"`
	Codec   string `help:"Avro codec of the staged file: null, deflate or snappy." default:"snappy" enum:"null,deflate,snappy"`
	WorkDir string `help:"Folder for the generated file and the storage emulator; default: a temporary folder, removed after." type:"path" placeholder:"DIR"`
	JSON    bool   `name:"json" help:"Print the figures as one JSON object."`

	StageChild bool   `hidden:"" help:"Run (c) alone and print its figures as JSON; used by the command itself."`
	Storage    string `hidden:"" help:"Storage emulator host of --stage-child."`
	Object     string `hidden:"" help:"The object of --stage-child, as JSON."`
}

// Validate checks the flags.
func (c *benchLoadCSVCmd) Validate() error {
	if !c.StageChild && c.Rows < 1 {
		return fmt.Errorf("--rows must be at least 1, got %d", c.Rows)
	}
	return nil
}

// Run runs the benchmark; (c) runs in a child process so that its peak
// memory is measured alone, as in a deployed function.
func (c *benchLoadCSVCmd) Run(ctx context.Context, con *console) error {
	if c.StageChild {
		var o ingest.Object
		if err := json.Unmarshal([]byte(c.Object), &o); err != nil {
			return fmt.Errorf("--object: %w", err)
		}
		fig, err := bench.RunStage(ctx, c.Storage, o, c.Codec)
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
	rep, err := bench.LoadCSV(ctx, bench.LoadCSVOptions{Rows: c.Rows, Dir: dir, Codec: c.Codec, Stage: stageInChild, Log: con.Stderr})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(con.Stdout).Encode(rep)
	}
	return printLoadCSVReport(con.Stdout, rep)
}

// stageInChild runs (c) in a new process of this program.
func stageInChild(ctx context.Context, storageHost string, o ingest.Object, codec string) (bench.StageFigures, error) {
	exe, err := os.Executable()
	if err != nil {
		return bench.StageFigures{}, err
	}
	obj, err := json.Marshal(o)
	if err != nil {
		return bench.StageFigures{}, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, exe, "bench", "load-csv", "--stage-child", "--storage", storageHost, "--object", string(obj), "--codec", codec)
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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "file\t%d rows\t%.1f MiB\t\n", r.Rows, mib(r.FileBytes))
	fmt.Fprintf(tw, "(a) encoding/csv\t%.0f rows/s\t\t\n", r.ParseRowsPerSec)
	fmt.Fprintf(tw, "(b) Avro encode (%s)\t%.0f rows/s\t\t\n", r.Codec, r.EncodeRowsPerSec)
	fmt.Fprintf(tw, "bound 1/(1/a+1/b)\t%.0f rows/s\t\t\n", r.BoundRowsPerSec)
	fmt.Fprintf(tw, "(c) object store to staged Avro\t%.0f rows/s\t%.2f of the bound\t\n", r.FunctionRowsPerSec, r.Ratio)
	fmt.Fprintf(tw, "(c) peak RSS\t%.1f MiB\t\t\n", mib(r.FunctionPeakRSSBytes))
	fmt.Fprintf(tw, "(c) staged\t%d valid\t%d rejected\t\n", r.Staged.Valid, r.Staged.Rejected)
	for _, c := range r.Codecs {
		fmt.Fprintf(tw, "codec %s (first %d rows)\t%.0f rows/s\t%.1f bytes/row\t\n", c.Codec, c.Rows, c.RowsPerSec, c.BytesPerRow)
	}
	return tw.Flush()
}
