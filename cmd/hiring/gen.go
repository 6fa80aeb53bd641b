package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
)

// genCmd writes synthetic CSV files; see gen.Write.
type genCmd struct {
	Rows         int64   `help:"Number of hired_employees rows to write." required:"" placeholder:"N"`
	InvalidRatio float64 `help:"Fraction of the rows of each file that are invalid, each with one defect, in [0,1]." default:"0.05" placeholder:"R"`
	Seed         int64   `help:"Seed of the generator: the same seed and flags write byte-identical files." default:"1" placeholder:"S"`
	Departments  int64   `help:"Number of departments rows." default:"12" placeholder:"D"`
	Jobs         int64   `help:"Number of jobs rows." default:"183" placeholder:"J"`
	Out          string  `help:"Folder to write the CSV files and summary.json into; created if missing." required:"" type:"path" placeholder:"DIR"`
	JSON         bool    `name:"json" help:"Print the summary and the peak RSS as JSON instead of text."`
}

// Validate checks the flags before anything is written.
func (c *genCmd) Validate() error {
	var problems []string
	if c.Rows < 1 {
		problems = append(problems, fmt.Sprintf("--rows must be at least 1, got %d", c.Rows))
	}
	if !(c.InvalidRatio >= 0 && c.InvalidRatio <= 1) {
		problems = append(problems, fmt.Sprintf("--invalid-ratio must be between 0 and 1, got %v", c.InvalidRatio))
	}
	if c.Departments < 1 {
		problems = append(problems, fmt.Sprintf("--departments must be at least 1, got %d", c.Departments))
	}
	if c.Jobs < 1 {
		problems = append(problems, fmt.Sprintf("--jobs must be at least 1, got %d", c.Jobs))
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// genReport is what gen prints: the summary, and the peak resident set size
// of the process, which is not in summary.json because it depends on the
// machine. PeakRSSBytes is 0 where /proc is not available.
type genReport struct {
	gen.Summary
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
}

// Run writes the files, reporting progress on stderr, and prints the
// summary and the peak RSS on stdout.
func (c *genCmd) Run(ctx context.Context, con *console) error {
	s, err := gen.Write(ctx, gen.Options{
		Dir:          c.Out,
		Rows:         c.Rows,
		Departments:  c.Departments,
		Jobs:         c.Jobs,
		InvalidRatio: c.InvalidRatio,
		Seed:         c.Seed,
		Progress: func(p gen.Progress) {
			fmt.Fprintf(con.Stderr, "%s: %d of %d rows\n", p.File, p.Written, p.Total)
		},
	})
	if err != nil {
		return err
	}
	r := genReport{Summary: s}
	if r.PeakRSSBytes, err = procstat.PeakRSS(); err != nil && !errors.Is(err, procstat.ErrUnsupported) {
		fmt.Fprintf(con.Stderr, "warning: the files are written, but the peak RSS is unknown: %v\n", err)
	}
	if c.JSON {
		enc := json.NewEncoder(con.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
		return nil
	}
	if err := printSummary(con.Stdout, r); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// printSummary prints the time and peak RSS, then one line per file, with
// its rejects by rule.
func printSummary(w io.Writer, r genReport) error {
	s := r.Summary
	fmt.Fprintf(w, "Wrote %s in %.1fs (seed %d, invalid ratio %v)\n", s.Out, s.ElapsedSeconds, s.Seed, s.InvalidRatio)
	if r.PeakRSSBytes > 0 {
		fmt.Fprintf(w, "Peak RSS: %.1f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "file\trows\tvalid\tinvalid")
	for _, f := range s.Files {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", filepath.Base(f.Path), f.Rows, f.Valid, f.Invalid)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range s.Files {
		if f.Invalid == 0 {
			continue
		}
		fmt.Fprintf(w, "%s invalid rows by rule:", filepath.Base(f.Path))
		for _, r := range dictionary.Rules {
			if n := f.InvalidByRule[r]; n > 0 {
				fmt.Fprintf(w, " %s %d", r, n)
			}
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "Summary: %s\n", filepath.Join(s.Out, gen.SummaryFile))
	return err
}
