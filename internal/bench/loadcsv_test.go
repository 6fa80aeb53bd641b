package bench_test

import (
	"context"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
)

// BenchmarkLoadCSV runs the whole load-csv measurement in process on 200,000
// rows, once, and reports its figures.
func BenchmarkLoadCSV(b *testing.B) {
	for b.Loop() {
		rep, err := bench.LoadCSV(context.Background(), bench.LoadCSVOptions{Rows: 200_000, Dir: b.TempDir(), Codec: "snappy", Runs: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rep.ParseRowsPerSec.Median, "parse_rows/s")
		b.ReportMetric(rep.EncodeRowsPerSec.Median, "encode_rows/s")
		b.ReportMetric(rep.FunctionRowsPerSec.Median, "function_rows/s")
		b.ReportMetric(rep.LocalRowsPerSec.Median, "local_rows/s")
		b.ReportMetric(rep.DuckDB.RowsPerSec.Median, "duckdb_rows/s")
		b.ReportMetric(rep.Ratio.Median, "ratio")
		b.ReportMetric(rep.TwoCoreRatio.Median, "two_core_ratio")
	}
}

// TestLoadCSV runs every measurement in process on a small file, three
// times, and checks that each figure is there and consistent.
func TestLoadCSV(t *testing.T) {
	t.Parallel()
	const rows = 5000
	rep, err := bench.LoadCSV(context.Background(), bench.LoadCSVOptions{Rows: rows, Dir: t.TempDir(), Codec: "snappy"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != 3 {
		t.Errorf("%d runs, want the default 3", rep.Runs)
	}
	if s := rep.Staged; s.RowsRead != rows || s.Valid+s.Rejected != rows || s.Rejected == 0 {
		t.Errorf("staged %+v, want the %d rows of the file split into valid and rejected", s, rows)
	}
	figures := map[string]bench.Figure[float64]{
		"(a)": rep.ParseRowsPerSec, "(b)": rep.EncodeRowsPerSec, "bound": rep.BoundRowsPerSec,
		"(a) in parallel": rep.ParallelParseRowsPerSec, "(b) in parallel": rep.ParallelEncodeRowsPerSec, "two-core bound": rep.TwoCoreBoundRowsPerSec,
		"(c)": rep.FunctionRowsPerSec, "(c2)": rep.LocalRowsPerSec, "(d)": rep.DuckDB.RowsPerSec,
		"(c)/bound": rep.Ratio, "(c)/two-core bound": rep.TwoCoreRatio, "(c)/(c2)": rep.FunctionToLocalRatio, "(c2)/(d)": rep.LocalToDuckDBRatio,
	}
	for _, c := range rep.Codecs {
		figures["codec "+c.Codec] = c.RowsPerSec
	}
	for name, f := range figures {
		if !(f.Min > 0 && f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("%s = %+v, want 0 < min <= median <= max", name, f)
		}
	}
	for name, f := range map[string]bench.Figure[int64]{"(c) peak RSS": rep.FunctionPeakRSSBytes, "(c2) peak RSS": rep.LocalPeakRSSBytes} {
		if !(f.Min > 0 && f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("%s = %+v, want 0 < min <= median <= max", name, f)
		}
	}
	if b := rep.BoundRowsPerSec.Median; b > rep.ParseRowsPerSec.Max || b > rep.EncodeRowsPerSec.Max {
		t.Errorf("serial bound %v above (a) %+v or (b) %+v", b, rep.ParseRowsPerSec, rep.EncodeRowsPerSec)
	}
	if d := rep.DuckDB; d.Loaded < rep.Staged.Valid || d.Loaded > rows || d.Threads < 1 {
		t.Errorf("DuckDB loaded %d rows with %d threads, want %d to %d rows", d.Loaded, d.Threads, rep.Staged.Valid, rows)
	}
	if len(rep.Codecs) != 3 {
		t.Errorf("codecs compared: %+v", rep.Codecs)
	}
}
