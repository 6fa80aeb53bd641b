package bench

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// TestBatches checks that generated bodies hold valid rows of every table,
// with the keys of their batch.
func TestBatches(t *testing.T) {
	t.Parallel()
	const base, rows = 1_700_000_000_000_000, 7
	for _, table := range dictionary.Default().Tables() {
		t.Run(table.Name, func(t *testing.T) {
			t.Parallel()
			g, err := newBatches(table, base, rows)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int64{0, 1, 1000} {
				var body struct {
					Rows []json.RawMessage `json:"rows"`
				}
				if err := json.Unmarshal(g.body(n), &body); err != nil {
					t.Fatalf("batch %d is not JSON: %v\n%s", n, err, g.body(n))
				}
				if len(body.Rows) != rows {
					t.Fatalf("batch %d has %d rows, want %d", n, len(body.Rows), rows)
				}
				for i, raw := range body.Rows {
					values := make([]dictionary.Value, len(table.Fields))
					if rerr := table.ParseObjectValues(int64(i), raw, values); rerr != nil {
						t.Fatalf("batch %d row %d %s is invalid: %+v", n, i, raw, rerr.Errors)
					}
					if want := int64(base + n*rows + int64(i)); values[0].Int != want {
						t.Errorf("batch %d row %d: key %v, want %d", n, i, values[0].Int, want)
					}
				}
			}
		})
	}
}

// TestCPUMeter counts the CPU time of a busy process listed as the function's
// instance, and of this process when an answer names it.
func TestCPUMeter(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("CPU times are read from Linux's /proc")
	}
	busy := exec.Command("sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = busy.Process.Kill()
		_ = busy.Wait()
	})
	cfg := stack.Config{URL: "http://127.0.0.1:8080", Instances: map[string][]stack.Instance{
		"insert-rows": {{PID: busy.Process.Pid, URL: "http://127.0.0.1:9999"}},
	}}
	before, err := procstat.CPUTimeOf(busy.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	m := startCPU(cfg, "insert-rows")
	start := time.Now()
	// Wait for 100 ms more of the busy process's CPU time, however long a
	// busy machine takes to give it.
	for {
		cpu, err := procstat.CPUTimeOf(busy.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if cpu-before >= 100*time.Millisecond {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wall := time.Since(start).Seconds()
	c := m.finish(10, wall)
	if c.Unavailable != "" || c.Shared || !slices.Equal(c.PIDs, []int{busy.Process.Pid}) {
		t.Errorf("CPU %+v, want the busy process's, not shared", c)
	}
	// At least the 100 ms waited for, less a tick of 10 ms; at most the
	// wall time and a tick.
	if c.Seconds < 0.09 || c.Seconds > wall+0.01 || math.Abs(c.MsPerBatch-c.Seconds*100) > 1e-9 || math.Abs(c.Cores-c.Seconds/wall) > 1e-9 {
		t.Errorf("CPU %+v over %.3f s, want at least 0.09 s, at most the wall time, a tenth of it per batch in ms, up to 1 core", c, wall)
	}

	m = startCPU(cfg, "insert-rows")
	m.see(strconv.Itoa(os.Getpid()))
	m.see("not a pid")
	if c := m.finish(1, 1); !c.Shared || len(c.PIDs) != 2 || c.Seconds <= 0 {
		t.Errorf("CPU %+v, want this process and the busy one, shared", c)
	}

	cfg.URL = "https://insert-rows.example.com"
	if c := startCPU(cfg, "insert-rows").finish(1, 1); c.Unavailable == "" || len(c.PIDs) != 0 {
		t.Errorf("CPU of a remote stack %+v, want none", c)
	}
}
