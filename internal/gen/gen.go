// Package gen writes synthetic CSV files in the format of the challenge's
// historical files, with a known number of invalid rows of each kind, for
// load tests and benchmarks.
package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// Options configure Write.
type Options struct {
	// Dir is the folder the files are written into; it is created if
	// missing.
	Dir string
	// Rows is the number of hired_employees rows, at least 1.
	Rows int64
	// Departments and Jobs are the numbers of departments and jobs rows, at
	// least 1. Valid hired_employees rows refer to departments 1 to
	// Departments and jobs 1 to Jobs.
	Departments int64
	Jobs        int64
	// InvalidRatio, in [0, 1], is the probability that a row is invalid.
	InvalidRatio float64
	// Seed seeds the random generator: the same Options give byte-identical
	// CSV files.
	Seed int64
	// Progress, when set, is called from Write's goroutine after every
	// ProgressEvery rows of a file.
	Progress func(Progress)
}

// ProgressEvery is the number of rows between two calls of Options.Progress.
const ProgressEvery = 1_000_000

// Progress tells how many rows of a file are written.
type Progress struct {
	File    string
	Written int64
	Total   int64
}

// Summary describes what Write wrote; Write also writes it to summary.json
// in Options.Dir.
type Summary struct {
	Seed           int64         `json:"seed"`
	Rows           int64         `json:"rows"`
	InvalidRatio   float64       `json:"invalid_ratio"`
	Departments    int64         `json:"departments"`
	Jobs           int64         `json:"jobs"`
	Out            string        `json:"out"`
	Files          []FileSummary `json:"files"`
	ElapsedSeconds float64       `json:"elapsed_seconds"`
}

// FileSummary counts the rows of one file. Every invalid row breaks exactly
// one rule, so the counts by rule add up to Invalid, and Valid + Invalid is
// Rows. InvalidByRule has a key for every rule in dictionary.Rules.
type FileSummary struct {
	Table         string                    `json:"table"`
	Path          string                    `json:"path"`
	Rows          int64                     `json:"rows"`
	Valid         int64                     `json:"valid"`
	Invalid       int64                     `json:"invalid"`
	InvalidByRule map[dictionary.Rule]int64 `json:"invalid_by_rule"`
}

// SummaryFile is the name of the summary Write writes next to the CSV files.
const SummaryFile = "summary.json"

// Write writes departments.csv, jobs.csv and hired_employees.csv into
// opts.Dir in the challenge's format (no header, comma separated, CRLF line
// endings, unquoted fields), then summary.json. Rows are numbered 1, 2, ...
// in order; an invalid row has exactly one defect, and the defects cycle
// through every rule that applies to the table's CSV rows. Files are
// streamed, so memory does not grow with Rows, and each appears under its
// name only once complete. Write stops when ctx is done.
func Write(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	if err := opts.validate(); err != nil {
		return Summary{}, fmt.Errorf("gen.Write: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("gen.Write: %w", err)
	}
	s := Summary{
		Seed:         opts.Seed,
		Rows:         opts.Rows,
		InvalidRatio: opts.InvalidRatio,
		Departments:  opts.Departments,
		Jobs:         opts.Jobs,
		Out:          opts.Dir,
	}
	files := []struct {
		table string
		rows  int64
	}{
		{"departments", opts.Departments},
		{"jobs", opts.Jobs},
		{"hired_employees", opts.Rows},
	}
	for _, f := range files {
		t, ok := dictionary.Default().Table(f.table)
		if !ok {
			return Summary{}, fmt.Errorf("gen.Write: table %s is not in the dictionary", f.table)
		}
		g, err := newFileGen(opts, t, f.rows)
		if err != nil {
			return Summary{}, fmt.Errorf("gen.Write: %w", err)
		}
		if err := writeFile(g.summary.Path, func(w *bufio.Writer) error { return g.write(ctx, w) }); err != nil {
			return Summary{}, fmt.Errorf("gen.Write: %s: %w", g.summary.Path, err)
		}
		s.Files = append(s.Files, g.summary)
	}
	s.ElapsedSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return Summary{}, fmt.Errorf("gen.Write: encode summary: %w", err)
	}
	path := filepath.Join(opts.Dir, SummaryFile)
	err = writeFile(path, func(w *bufio.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return Summary{}, fmt.Errorf("gen.Write: %s: %w", path, err)
	}
	return s, nil
}

func (o Options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("no output folder"))
	}
	if o.Rows < 1 {
		errs = append(errs, fmt.Errorf("rows must be at least 1, got %d", o.Rows))
	}
	if o.Departments < 1 {
		errs = append(errs, fmt.Errorf("departments must be at least 1, got %d", o.Departments))
	}
	if o.Jobs < 1 {
		errs = append(errs, fmt.Errorf("jobs must be at least 1, got %d", o.Jobs))
	}
	if !(o.InvalidRatio >= 0 && o.InvalidRatio <= 1) {
		errs = append(errs, fmt.Errorf("invalid ratio must be in [0, 1], got %v", o.InvalidRatio))
	}
	return errors.Join(errs...)
}
