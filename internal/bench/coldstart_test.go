package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

func TestColdStart(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("peak memory is read from Linux's /proc")
	}
	st := startStack(t, false)
	binary, err := bench.BuildFunction(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bench.ColdStart(context.Background(), bench.ColdStartOptions{Stack: st.Config(), Function: insertrows.Definition, Binary: binary, Requests: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.FunctionTarget != "InsertRows" || rep.Requests != 5 || rep.BuildSeconds != 0 || rep.BinaryBytes == 0 {
		t.Errorf("report %+v", rep)
	}
	if !(rep.ListenMs > 0 && rep.ColdStartMs >= rep.ListenMs && rep.WarmP50Ms > 0) {
		t.Errorf("listen %v ms, cold start %v ms, warm %v ms: want 0 < listen <= cold start, and warm > 0", rep.ListenMs, rep.ColdStartMs, rep.WarmP50Ms)
	}
	if !(rep.PeakRSSBytes > 0 && rep.PeakRSSAfterBytes >= rep.PeakRSSBytes) {
		t.Errorf("peak RSS %d then %d, want positive and not shrinking", rep.PeakRSSBytes, rep.PeakRSSAfterBytes)
	}
	cfg := st.Config()
	bq, err := bigquery.NewClient(context.Background(), cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	rows := testutil.Query(t, bq.Query("SELECT COUNT(*) FROM hiring.hired_employees"))
	if rows[0][0] != int64(6) {
		t.Errorf("hired_employees has %v rows, want the 6 that the function inserted", rows[0][0])
	}
}

func TestColdStart_Failures(t *testing.T) {
	t.Parallel()
	st := startStack(t, false)
	crash := filepath.Join(t.TempDir(), "crash")
	if err := os.WriteFile(crash, []byte("#!/bin/sh\necho cannot start >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts bench.ColdStartOptions
		want string
	}{
		{"no request for the function", bench.ColdStartOptions{Stack: st.Config(), Function: loadcsv.Definition, Binary: crash}, "only insert-rows"},
		{"no binary", bench.ColdStartOptions{Stack: st.Config(), Function: insertrows.Definition, Binary: "/nonexistent/function"}, "function binary"},
		{"exits at once", bench.ColdStartOptions{Stack: st.Config(), Function: insertrows.Definition, Binary: crash}, "exit status 3; its output:\ncannot start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bench.ColdStart(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
