package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

func TestBenchLoadCSV(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "load-csv", "--rows", "20000", "--json", "--work-dir", t.TempDir()}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	var rep bench.LoadCSVReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the report: %v\n%s", err, stdout.String())
	}
	if rep.Staged.RowsRead != 20000 || rep.Staged.Valid+rep.Staged.Rejected != 20000 || rep.Staged.Rejected == 0 {
		t.Errorf("staged %+v, want the 20000 rows of the file split into valid and rejected", rep.Staged)
	}
	if rep.Runs != 3 {
		t.Errorf("%d runs, want the default 3", rep.Runs)
	}
	for name, f := range map[string]bench.Figure[float64]{"a": rep.ParseRowsPerSec, "b": rep.EncodeRowsPerSec, "bound": rep.BoundRowsPerSec,
		"a'": rep.ParallelParseRowsPerSec, "b'": rep.ParallelEncodeRowsPerSec, "two-core bound": rep.TwoCoreBoundRowsPerSec,
		"c": rep.FunctionRowsPerSec, "c2": rep.LocalRowsPerSec, "d": rep.DuckDB.RowsPerSec,
		"ratio": rep.Ratio, "two-core ratio": rep.TwoCoreRatio, "c/c2": rep.FunctionToLocalRatio, "c2/d": rep.LocalToDuckDBRatio,
		"two-core bound's CPU": rep.TwoCoreBoundCPUNanosPerRow} {
		if !(f.Min > 0 && f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("%s = %+v, want 0 < min <= median <= max", name, f)
		}
	}
	// The CPU times of processes are counted in 10 ms ticks: 20000 rows
	// may take none.
	for name, f := range map[string]bench.Figure[float64]{"c's CPU": rep.FunctionCPUNanosPerRow, "emulator's CPU": rep.EmulatorCPUNanosPerRow, "c2's CPU": rep.LocalCPUNanosPerRow} {
		if !(f.Min >= 0 && f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("%s = %+v, want 0 <= min <= median <= max", name, f)
		}
	}
	// Peak RSS is measured in each child process: the function path's
	// reader, writer buffers and runtime take some MiB.
	for name, f := range map[string]bench.Figure[int64]{"c": rep.FunctionPeakRSSBytes, "c2": rep.LocalPeakRSSBytes} {
		if !(f.Min > 4<<20 && f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("%s peak RSS = %+v, want 4 MiB < min <= median <= max", name, f)
		}
	}
	if len(rep.Codecs) != 3 {
		t.Errorf("codecs compared: %+v", rep.Codecs)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"bench", "load-csv", "--rows", "2000", "--runs", "2", "--work-dir", t.TempDir()}, &stdout, &stderr); code != 0 {
		t.Fatalf("text output: exit code %d; stderr:\n%s", code, stderr.String())
	}
	num := `[0-9.]+`
	for _, re := range []string{
		`2 runs +median +min +max`,
		`\(a\) encoding/csv +` + num + ` rows/s +` + num + ` +` + num,
		`two-core bound 2/\(1/a'\+1/b'\) +` + num + ` rows/s`,
		`\(c\) / two-core bound +` + num,
		`\(c2\) local disk to local Avro +` + num + ` rows/s`,
		`\(c2\) peak RSS +` + num + ` MiB`,
		`CPU of the two-core bound 1/a'\+1/b' +` + num + ` ns/row`,
		`CPU of \(c\), the function's process +` + num + ` ns/row`,
		`CPU of \(c\), the storage emulator's +` + num + ` ns/row`,
		`CPU of \(c2\) +` + num + ` ns/row`,
		`\(d\) DuckDB read_csv, \d+ threads +` + num + ` rows/s`,
		`\(c2\) / \(d\) +` + num,
		`\(d\) loaded +\d+ rows`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("text output does not match %q:\n%s", re, stdout.String())
		}
	}
}

func TestBenchLoadCSV_BadRows(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "load-csv", "--rows", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"bench", "load-csv", "--runs", "0"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--runs must be at least 1") {
		t.Errorf("--runs 0: exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
}

// startInsertRows starts a stack with insert-rows alone. Each test gets its
// own: rows inserted by another test would fail the row check.
func startInsertRows(t *testing.T, withAuth bool) *stack.Stack {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Options{Auth: withAuth, Functions: []function.Definition{insertrows.Definition}})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

func TestBenchInsertRows(t *testing.T) {
	t.Parallel()
	st := startInsertRows(t, true)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "insert-rows", "--stack", st.Config().URL, "--clients", "2", "--duration", "2s", "--rows", "50", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	var rep bench.InsertRowsReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the report: %v\n%s", err, stdout.String())
	}
	if c := rep.Check; !c.OK || c.After-c.Before != rep.Inserted || rep.Inserted != int64(rep.Requests)*50 || len(rep.Errors) != 0 {
		t.Errorf("%d requests, %d inserted, errors %v, row check %+v: want every request to insert 50 rows that readers see", rep.Requests, rep.Inserted, rep.Errors, c)
	}
	for name, v := range map[string]float64{"requests/s": rep.RequestsPerSec, "rows/s": rep.RowsPerSec, "p50": rep.Latency.P50, "p99": rep.Latency.P99, "max": rep.Latency.Max,
		"CPU ms per batch": rep.CPU.MsPerBatch, "CPU cores": rep.CPU.Cores} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"bench", "insert-rows", "--stack", st.Config().URL, "--clients", "1", "--duration", "200ms", "--table", "jobs"}, &stdout, &stderr); code != 0 {
		t.Fatalf("text output: exit code %d; stderr:\n%s", code, stderr.String())
	}
	// The stack runs in this process: the CPU time is the process's.
	if c := rep.CPU; !c.Shared || !slices.Equal(c.PIDs, []int{os.Getpid()}) || c.Unavailable != "" {
		t.Errorf("CPU %+v, want this process's, shared", c)
	}
	for _, re := range []string{`jobs: 1 clients, 100 rows per request`, `\nerrors +none\n`, `\nrow check +ok: readers see \d+ more rows`,
		`\nCPU per batch +[0-9.]+ ms +[0-9.]+ cores busy +1 processes, shared with the stack`} {
		if !regexp.MustCompile(re).MatchString(stdout.String()) {
			t.Errorf("text output does not match %q:\n%s", re, stdout.String())
		}
	}
}

func TestBenchColdStart(t *testing.T) {
	t.Parallel()
	st := startInsertRows(t, false)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "cold-start", "--stack", st.Config().URL, "--requests", "3", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	var rep bench.ColdStartReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the report: %v\n%s", err, stdout.String())
	}
	if rep.Function != "insert-rows" || rep.FunctionTarget != "InsertRows" || rep.Requests != 3 {
		t.Errorf("report %+v", rep)
	}
	for name, v := range map[string]float64{"build s": rep.BuildSeconds, "listen ms": rep.ListenMs, "cold start ms": rep.ColdStartMs,
		"warm ms": rep.WarmP50Ms, "peak RSS": float64(rep.PeakRSSBytes), "peak RSS after": float64(rep.PeakRSSAfterBytes)} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	if rep.ColdStartMs < rep.ListenMs {
		t.Errorf("cold start %v ms before listening at %v ms", rep.ColdStartMs, rep.ListenMs)
	}
}

func TestBench_BadFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no rows", []string{"bench", "insert-rows", "--rows", "0"}, 2, "--rows must be 1 to 1000"},
		{"too many rows", []string{"bench", "insert-rows", "--rows", "1001"}, 2, "--rows must be 1 to 1000"},
		{"no clients", []string{"bench", "insert-rows", "--clients", "0"}, 2, "--clients must be at least 1"},
		{"no duration", []string{"bench", "insert-rows", "--duration", "0s"}, 2, "--duration must be positive"},
		{"unknown table", []string{"bench", "insert-rows", "--table", "salaries"}, 2, `no table "salaries"`},
		{"no stack", []string{"bench", "insert-rows", "--stack", "http://127.0.0.1:1"}, 1, "hint: start one with"},
		{"function without a request", []string{"bench", "cold-start", "--function", "load-csv"}, 2, "--function"},
		{"no requests", []string{"bench", "cold-start", "--requests", "0"}, 2, "--requests must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}
