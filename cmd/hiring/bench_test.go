package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
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
	for name, v := range map[string]float64{"a": rep.ParseRowsPerSec, "b": rep.EncodeRowsPerSec, "c": rep.FunctionRowsPerSec, "ratio": rep.Ratio} {
		if !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	if rep.FunctionPeakRSSBytes <= 0 {
		t.Errorf("no peak RSS for the function path: %d", rep.FunctionPeakRSSBytes)
	}
	if len(rep.Codecs) != 3 {
		t.Errorf("codecs compared: %+v", rep.Codecs)
	}
}

func TestBenchLoadCSV_BadRows(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"bench", "load-csv", "--rows", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
}
