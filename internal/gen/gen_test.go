package gen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
)

var csvFiles = []string{"departments.csv", "jobs.csv", "hired_employees.csv"}

// write runs gen.Write into a new temporary folder.
func write(tb testing.TB, opts gen.Options) gen.Summary {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	s, err := gen.Write(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return s
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// fileCounts is what reading a file through the dictionary's Reader finds.
type fileCounts struct {
	Records int64
	Valid   int64
	ByRule  map[dictionary.Rule]int64
}

// readCounts reads a generated file through dictionary.Reader. Every
// record must be on its own line, numbered from 1, and a rejected record
// must break exactly one rule.
func readCounts(tb testing.TB, table, path string) (fileCounts, []dictionary.Row) {
	tb.Helper()
	tbl, ok := dictionary.Default().Table(table)
	if !ok {
		tb.Fatalf("no table %s", table)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	got := fileCounts{ByRule: map[dictionary.Rule]int64{}}
	for _, r := range dictionary.Rules {
		got.ByRule[r] = 0
	}
	var rows []dictionary.Row
	r := tbl.NewReader(f)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got, rows
		}
		if err != nil {
			tb.Fatalf("%s: Next: %v", path, err)
		}
		got.Records++
		if rec.Line != got.Records {
			tb.Fatalf("%s: record %d is on line %d", path, got.Records, rec.Line)
		}
		if rec.Err == nil {
			got.Valid++
			rows = append(rows, rec.Row)
			continue
		}
		if len(rec.Err.Errors) != 1 {
			tb.Errorf("%s line %d: %q breaks %d rules, want exactly one: %v", path, rec.Line, rec.Raw, len(rec.Err.Errors), rec.Err)
		}
		got.ByRule[rec.Err.Errors[0].Rule]++
	}
}

func TestWrite_readBack(t *testing.T) {
	t.Parallel()
	opts := gen.Options{Rows: 20_000, Departments: 300, Jobs: 400, InvalidRatio: 0.1, Seed: 7}
	s := write(t, opts)
	// The rules each table's CSV rows can break.
	csvRules := []dictionary.Rule{
		dictionary.RuleRequired, dictionary.RuleType, dictionary.RuleRange, dictionary.RuleTooLong,
		dictionary.RuleEncoding, dictionary.RuleFieldCount, dictionary.RuleMalformed,
	}
	wantRules := map[string][]dictionary.Rule{
		"departments":     csvRules,
		"jobs":            csvRules,
		"hired_employees": append(slices.Clone(csvRules), dictionary.RuleFormat),
	}
	wantRows := map[string]int64{"departments": 300, "jobs": 400, "hired_employees": 20_000}
	if len(s.Files) != 3 {
		t.Fatalf("summary has %d files, want 3", len(s.Files))
	}
	for i, fs := range s.Files {
		t.Run(fs.Table, func(t *testing.T) {
			t.Parallel()
			if fs.Path != filepath.Join(s.Out, csvFiles[i]) || fs.Rows != wantRows[fs.Table] {
				t.Fatalf("summary file %d = %s %s with %d rows, want %s with %d rows", i, fs.Table, fs.Path, fs.Rows, csvFiles[i], wantRows[fs.Table])
			}
			got, _ := readCounts(t, fs.Table, fs.Path)
			want := fileCounts{Records: fs.Rows, Valid: fs.Valid, ByRule: fs.InvalidByRule}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read back mismatch (-summary +read):\n%s", diff)
			}
			if fs.Valid+fs.Invalid != fs.Rows {
				t.Errorf("valid %d + invalid %d != rows %d", fs.Valid, fs.Invalid, fs.Rows)
			}
			if ratio := float64(fs.Invalid) / float64(fs.Rows); ratio < 0.06 || ratio > 0.14 {
				t.Errorf("invalid ratio %.3f, want about 0.1", ratio)
			}
			for _, r := range dictionary.Rules {
				n := got.ByRule[r]
				if applies := slices.Contains(wantRules[fs.Table], r); applies != (n > 0) {
					t.Errorf("rule %s: %d rejected rows, want some: %v", r, n, applies)
				}
			}
		})
	}
}

func TestWrite_summaryFile(t *testing.T) {
	t.Parallel()
	s := write(t, gen.Options{Rows: 100, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 3})
	var onDisk gen.Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(s.Out, gen.SummaryFile)), &onDisk); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if diff := cmp.Diff(s, onDisk); diff != "" {
		t.Errorf("summary.json differs from the returned summary (-returned +file):\n%s", diff)
	}
	if s.Seed != 3 || s.Rows != 100 || s.InvalidRatio != 0.05 || s.Departments != 12 || s.Jobs != 183 {
		t.Errorf("summary options = %+v, want the options given", s)
	}
	for _, fs := range s.Files {
		if len(fs.InvalidByRule) != len(dictionary.Rules) {
			t.Errorf("%s: invalid_by_rule has %d keys, want one per rule (%d)", fs.Table, len(fs.InvalidByRule), len(dictionary.Rules))
		}
	}
	entries, err := os.ReadDir(s.Out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"departments.csv", "hired_employees.csv", "jobs.csv", "summary.json"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files in the folder mismatch (-want +got):\n%s", diff)
	}
}

func TestWrite_deterministic(t *testing.T) {
	t.Parallel()
	opts := gen.Options{Rows: 5_000, Departments: 12, Jobs: 183, InvalidRatio: 0.2, Seed: 42}
	a := write(t, opts)
	b := write(t, opts)
	opts.Seed = 43
	c := write(t, opts)
	for i, name := range csvFiles {
		first := readFile(t, a.Files[i].Path)
		if second := readFile(t, b.Files[i].Path); !bytes.Equal(first, second) {
			t.Errorf("%s: two runs with seed 42 wrote different bytes", name)
		}
		if other := readFile(t, c.Files[i].Path); name != "departments.csv" && bytes.Equal(first, other) {
			t.Errorf("%s: seeds 42 and 43 wrote the same bytes", name)
		}
	}
}

func TestWrite_format(t *testing.T) {
	t.Parallel()
	s := write(t, gen.Options{Rows: 20_000, Departments: 30, Jobs: 50, InvalidRatio: 0, Seed: 1})
	for _, fs := range s.Files {
		t.Run(fs.Table, func(t *testing.T) {
			t.Parallel()
			data := readFile(t, fs.Path)
			lines := strings.Split(string(data), "\r\n")
			if last := lines[len(lines)-1]; last != "" {
				t.Errorf("file does not end with CRLF: last line %q", last)
			}
			lines = lines[:len(lines)-1]
			if int64(len(lines)) != fs.Rows {
				t.Fatalf("%d CRLF lines, want %d", len(lines), fs.Rows)
			}
			for i, line := range lines {
				if strings.ContainsAny(line, "\r\n\"") {
					t.Fatalf("line %d: %q has a bare CR or LF or a quote", i+1, line)
				}
			}
			got, rows := readCounts(t, fs.Table, fs.Path)
			if got.Valid != fs.Rows || fs.Invalid != 0 {
				t.Fatalf("%d valid rows of %d, summary says %d invalid; want all valid", got.Valid, fs.Rows, fs.Invalid)
			}
			years := map[int]int{}
			for i, row := range rows {
				if row.Key() != int64(i+1) {
					t.Fatalf("row %d has id %v", i+1, row.Key())
				}
				if fs.Table != "hired_employees" {
					continue
				}
				v := row.Map()
				ts := v["datetime"].(time.Time)
				years[ts.Year()]++
				if written := strings.Split(lines[i], ",")[2]; written != ts.Format("2006-01-02T15:04:05Z") {
					t.Fatalf("line %d: %q does not write the datetime as YYYY-MM-DDTHH:MM:SSZ", i+1, lines[i])
				}
				if d := v["department_id"].(int64); d > 30 {
					t.Fatalf("line %d: department_id %d > 30", i+1, d)
				}
				if j := v["job_id"].(int64); j > 50 {
					t.Fatalf("line %d: job_id %d > 50", i+1, j)
				}
				if name := v["name"].(string); len(strings.Fields(name)) != 2 {
					t.Fatalf("line %d: name %q is not a given name and a surname", i+1, name)
				}
			}
			if fs.Table == "hired_employees" {
				if share := float64(years[2021]) / float64(len(rows)); share < 0.75 || share > 0.95 || years[2021]+years[2022] != len(rows) {
					t.Errorf("hires by year %v: want all in 2021 and 2022, mostly 2021", years)
				}
			}
		})
	}
}

func TestWrite_allInvalid(t *testing.T) {
	t.Parallel()
	s := write(t, gen.Options{Rows: 1_000, Departments: 20, Jobs: 20, InvalidRatio: 1, Seed: 9})
	for _, fs := range s.Files {
		got, _ := readCounts(t, fs.Table, fs.Path)
		if got.Valid != 0 || fs.Valid != 0 || fs.Invalid != fs.Rows {
			t.Errorf("%s: %d valid rows read, summary %d valid and %d invalid of %d; want all invalid", fs.Table, got.Valid, fs.Valid, fs.Invalid, fs.Rows)
		}
	}
}

func TestWrite_progress(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("writes a million rows")
	}
	var got []gen.Progress
	write(t, gen.Options{Rows: gen.ProgressEvery, Departments: 1, Jobs: 1, Seed: 1, Progress: func(p gen.Progress) {
		got = append(got, p)
	}})
	want := []gen.Progress{{File: "hired_employees.csv", Written: gen.ProgressEvery, Total: gen.ProgressEvery}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress mismatch (-want +got):\n%s", diff)
	}
}

func TestWrite_cancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := gen.Write(ctx, gen.Options{Dir: dir, Rows: 10, Departments: 10_000, Jobs: 10, Seed: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write error = %v, want context.Canceled", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("a cancelled Write left %d files, the first %s", len(entries), entries[0].Name())
	}
}

func TestWrite_invalidOptions(t *testing.T) {
	t.Parallel()
	valid := gen.Options{Rows: 10, Departments: 12, Jobs: 183, InvalidRatio: 0.05}
	cases := []struct {
		name    string
		change  func(*gen.Options)
		wantErr string
	}{
		{"no folder", func(o *gen.Options) { o.Dir = "" }, "no output folder"},
		{"zero rows", func(o *gen.Options) { o.Rows = 0 }, "rows must be at least 1, got 0"},
		{"negative departments", func(o *gen.Options) { o.Departments = -1 }, "departments must be at least 1, got -1"},
		{"zero jobs", func(o *gen.Options) { o.Jobs = 0 }, "jobs must be at least 1, got 0"},
		{"ratio above 1", func(o *gen.Options) { o.InvalidRatio = 2 }, "invalid ratio must be in [0, 1], got 2"},
		{"negative ratio", func(o *gen.Options) { o.InvalidRatio = -0.1 }, "invalid ratio must be in [0, 1], got -0.1"},
		{"NaN ratio", func(o *gen.Options) { o.InvalidRatio = math.NaN() }, "invalid ratio must be in [0, 1], got NaN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := valid
			opts.Dir = filepath.Join(t.TempDir(), "out")
			tc.change(&opts)
			_, err := gen.Write(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Write error = %v, want one containing %q", err, tc.wantErr)
			}
			if opts.Dir != "" {
				if _, err := os.Stat(opts.Dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Write with invalid options created %s (stat: %v)", opts.Dir, err)
				}
			}
		})
	}
}
