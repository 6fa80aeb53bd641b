package ingest_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
)

// BenchmarkStageFrom stages a generated file of 200,000 hired_employees
// rows (5% invalid) from memory to memory with snappy: the function path of
// load-csv without Cloud Storage, for profiling it.
func BenchmarkStageFrom(b *testing.B) {
	const rows = 200_000
	sum, err := gen.Write(context.Background(), gen.Options{Dir: b.TempDir(), Rows: rows, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var data []byte
	for _, f := range sum.Files {
		if f.Table == "hired_employees" {
			if data, err = os.ReadFile(f.Path); err != nil {
				b.Fatal(err)
			}
		}
	}
	// StageFrom never calls Cloud Storage: the client has no server.
	gcs, err := storage.NewClient(context.Background(), option.WithoutAuthentication(), option.WithEndpoint("http://127.0.0.1:1/storage/v1/"))
	if err != nil {
		b.Fatal(err)
	}
	defer gcs.Close()
	stager, err := ingest.NewStager(ingest.Config{Buckets: config.Buckets{Landing: "bench-landing", Staging: "bench-staging"}, Codec: "snappy"}, dictionary.Default(), gcs, nil)
	if err != nil {
		b.Fatal(err)
	}
	o := ingest.Object{Bucket: "bench-landing", Name: "hired_employees.csv", Generation: 1, Size: int64(len(data))}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0, err := procstat.CPUTimeOf(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := stager.StageFrom(context.Background(), o, bytes.NewReader(data), io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if st.RowsRead != rows {
			b.Fatalf("staged %d rows, want %d", st.RowsRead, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	// CPU time, on every core, tells the work apart from the wait on a
	// busy machine.
	if cpu1, err := procstat.CPUTimeOf(os.Getpid()); err == nil {
		b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(rows*b.N), "cpu-ns/row")
	}
}
