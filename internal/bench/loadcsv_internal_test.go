package bench

import (
	"context"
	"testing"

	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values []float64
		want   Figure[float64]
	}{
		{[]float64{3}, Figure[float64]{Median: 3, Min: 3, Max: 3}},
		{[]float64{5, 1, 3}, Figure[float64]{Median: 3, Min: 1, Max: 5}},
		{[]float64{4, 1, 2, 8}, Figure[float64]{Median: 3, Min: 1, Max: 8}},
		{nil, Figure[float64]{}},
	}
	for _, tc := range cases {
		if got := summarize(tc.values); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.values, got, tc.want)
		}
	}
	if got, want := summarize([]int64{7, 9, 8}), (Figure[int64]{Median: 8, Min: 7, Max: 9}); got != want {
		t.Errorf("summarize of int64 = %+v, want %+v", got, want)
	}
}

// BenchmarkStage runs (c) in process on 500,000 rows, the storage emulator
// included, so that one CPU profile shows both sides of the path.
func BenchmarkStage(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	sum, err := gen.Write(ctx, gen.Options{Dir: dir, Rows: 500_000, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := gcsemu.Start(ctx, gcsemu.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close(ctx)
	path := ""
	for _, f := range sum.Files {
		if f.Table == "hired_employees" {
			path = f.Path
		}
	}
	o, err := uploadFile(ctx, srv, path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		fig, err := RunStage(ctx, StageRun{StorageHost: srv.Host(), Object: o, Codec: "snappy"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fig.Staged.RowsRead)/fig.Seconds, "rows/s")
		if err := emptyBucket(ctx, srv, staging); err != nil {
			b.Fatal(err)
		}
	}
}
