package bench_test

import (
	"context"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
)

// BenchmarkLoadCSV runs the whole load-csv measurement in process on 200,000
// rows and reports its figures.
func BenchmarkLoadCSV(b *testing.B) {
	for b.Loop() {
		rep, err := bench.LoadCSV(context.Background(), bench.LoadCSVOptions{Rows: 200_000, Dir: b.TempDir(), Codec: "snappy"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(rep.ParseRowsPerSec, "parse_rows/s")
		b.ReportMetric(rep.EncodeRowsPerSec, "encode_rows/s")
		b.ReportMetric(rep.FunctionRowsPerSec, "function_rows/s")
		b.ReportMetric(rep.Ratio, "ratio")
	}
}
