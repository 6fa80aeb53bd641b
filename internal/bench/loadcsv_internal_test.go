package bench

import (
	"context"
	"runtime"
	"testing"

	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
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

// stageFixture generates a hired_employees file of rows rows and uploads it
// to a storage emulator of its own: what (c) stages.
func stageFixture(tb testing.TB, rows int64) (*gcsemu.Server, ingest.Object) {
	tb.Helper()
	ctx := context.Background()
	sum, err := gen.Write(ctx, gen.Options{Dir: tb.TempDir(), Rows: rows, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := gcsemu.Start(ctx, gcsemu.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close(context.Background()) })
	path := ""
	for _, f := range sum.Files {
		if f.Table == "hired_employees" {
			path = f.Path
		}
	}
	o, err := uploadFile(ctx, srv, path)
	if err != nil {
		tb.Fatal(err)
	}
	return srv, o
}

// TestRunStage_cpu checks that the CPU time of (c) is that of the path
// alone: some, and no more than the cores could give over its wall time
// (the file's generation and upload before it, in the same process, are
// left out).
func TestRunStage_cpu(t *testing.T) {
	t.Parallel()
	const rows = 200_000
	srv, o := stageFixture(t, rows)
	fig, err := RunStage(context.Background(), StageRun{StorageHost: srv.Host(), Object: o, Codec: "snappy"})
	if err != nil {
		t.Fatal(err)
	}
	if fig.Staged.RowsRead != rows {
		t.Fatalf("staged %+v, want %d rows read", fig.Staged, rows)
	}
	// CPU times are counted in 10 ms ticks.
	if most := fig.Seconds*float64(runtime.NumCPU()) + 0.02; fig.CPUSeconds <= 0 || fig.CPUSeconds > most {
		t.Errorf("(c) used %.3f s of CPU in %.3f s on %d CPUs, want more than 0 and at most %.3f", fig.CPUSeconds, fig.Seconds, runtime.NumCPU(), most)
	}
}

// BenchmarkStage runs (c) in process on 500,000 rows, the storage emulator
// included, so that one CPU profile shows both sides of the path.
func BenchmarkStage(b *testing.B) {
	ctx := context.Background()
	srv, o := stageFixture(b, 500_000)
	for b.Loop() {
		fig, err := RunStage(ctx, StageRun{StorageHost: srv.Host(), Object: o, Codec: "snappy"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fig.Staged.RowsRead)/fig.Seconds, "rows/s")
		b.ReportMetric(fig.CPUSeconds*1e9/float64(fig.Staged.RowsRead), "cpu-ns/row")
		if err := emptyBucket(ctx, srv, staging); err != nil {
			b.Fatal(err)
		}
	}
}
