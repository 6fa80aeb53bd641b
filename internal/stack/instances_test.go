package stack_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// functions returns the definitions of the named functions.
func functions(t *testing.T, names ...string) []function.Definition {
	t.Helper()
	var out []function.Definition
	for _, d := range hiringpipeline.Functions {
		if slices.Contains(names, d.Name) {
			out = append(out, d)
		}
	}
	if len(out) != len(names) {
		t.Fatalf("found %d of the functions %v", len(out), names)
	}
	return out
}

// instanceCommand is the command that runs this test binary as an instance.
func instanceCommand(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the tests of instances signal processes as Unix does")
	}
	cmd, err := function.TestInstanceCommand()
	if err != nil {
		t.Fatal(err)
	}
	return cmd
}

// alive reports whether process pid runs (or has not been waited for).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

// get sends GET url and returns the status and the InstanceHeader of the
// answer.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get(stack.InstanceHeader)
}

// TestStack_Instances runs two functions as three processes each, checks
// that each process serves and that the stack's URL spreads requests over
// them, kills one and sees it replaced, and closes the stack.
func TestStack_Instances(t *testing.T) {
	t.Parallel()
	logs := &testutil.SyncBuffer{}
	output := &testutil.SyncBuffer{}
	st, err := stack.Start(t.Context(), stack.Options{
		Instances:       3,
		InstanceCommand: instanceCommand(t),
		InstanceOutput:  output,
		Functions:       functions(t, "insert-rows", "metrics"),
		Logger:          logging.New(logs, slog.LevelInfo),
	})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			st.Close(context.Background())
		}
		if t.Failed() {
			t.Logf("stack logs:\n%s\ninstances' output:\n%s", logs, output)
		}
	})

	var cfg stack.Config
	getJSON(t, st.Config().URL+"/dev/config", &cfg)
	seen := map[int]bool{}
	for _, name := range []string{"insert-rows", "metrics"} {
		insts := cfg.Instances[name]
		if len(insts) != 3 {
			t.Fatalf("/dev/config lists %d instances of %s, want 3: %v", len(insts), name, insts)
		}
		for _, inst := range insts {
			if seen[inst.PID] || inst.PID == os.Getpid() || !alive(inst.PID) {
				t.Errorf("%s: instance pid %d is repeated, the test's own, or not running", name, inst.PID)
			}
			seen[inst.PID] = true
			if status, _ := get(t, inst.URL+"/openapi.json"); status != http.StatusOK {
				t.Errorf("%s: instance %d at %s answers GET /openapi.json with %d", name, inst.PID, inst.URL, status)
			}
		}
	}

	pids := func() []int {
		var out []int
		for _, inst := range st.Instances()["insert-rows"] {
			out = append(out, inst.PID)
		}
		return out
	}
	through := cfg.Functions["insert-rows"] + "openapi.json"
	answered := map[string]int{}
	for range 6 {
		status, pid := get(t, through)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", through, status)
		}
		answered[pid]++
	}
	for _, pid := range pids() {
		if answered[fmt.Sprint(pid)] == 0 {
			t.Errorf("instance %d answered none of 6 requests through the stack (answers by pid: %v)", pid, answered)
		}
	}

	victim := pids()[0]
	p, err := os.FindProcess(victim)
	if err != nil {
		t.Fatalf("FindProcess(%d): %v", victim, err)
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("kill instance %d: %v", victim, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for now := pids(); len(now) != 3 || slices.Contains(now, victim); now = pids() {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after instance %d was killed, the instances are %v; want 3 without it", victim, now)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range pids() {
		seen[pid] = true
	}
	for i := range 6 {
		if status, _ := get(t, through); status != http.StatusOK {
			t.Errorf("request %d after the replacement: %d", i, status)
		}
	}
	if !strings.Contains(logs.String(), fmt.Sprintf(`"old_pid":%d,"exit":"signal: killed"`, victim)) {
		t.Errorf("no log line about the replacement of instance %d", victim)
	}

	closed = true
	if err := st.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	for pid := range seen {
		if alive(pid) {
			t.Errorf("instance %d still runs after Close", pid)
		}
	}
}

// TestStack_Instances_failToStart starts a function whose entry point no
// instance knows: the instances exit at once, and Start says why.
func TestStack_Instances_failToStart(t *testing.T) {
	t.Parallel()
	ghost := functions(t, "metrics")[0]
	ghost.Name, ghost.EntryPoint = "ghost", "NoSuchEntryPoint"
	st, err := stack.Start(t.Context(), stack.Options{Instances: 2, InstanceCommand: instanceCommand(t), Functions: []function.Definition{ghost}})
	if err == nil {
		st.Close(context.Background())
		t.Fatal("Start succeeded with instances that cannot serve")
	}
	for _, want := range []string{"ghost", "exited before listening", "NoSuchEntryPoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start: %v; want it to mention %q", err, want)
		}
	}
}

func TestStack_Instances_invalid(t *testing.T) {
	t.Parallel()
	for _, opts := range []stack.Options{{Instances: -1}, {Instances: 2}} {
		if st, err := stack.Start(t.Context(), opts); err == nil {
			st.Close(context.Background())
			t.Errorf("Start with %d instances and command %q succeeded", opts.Instances, opts.InstanceCommand)
		}
	}
}

// TestStack_Instances_inProcess checks what the stack lists when it serves
// the functions itself.
func TestStack_Instances_inProcess(t *testing.T) {
	t.Parallel()
	st := start(t, stack.Options{Functions: functions(t, "metrics")})
	var cfg stack.Config
	getJSON(t, st.Config().URL+"/dev/config", &cfg)
	want := []stack.Instance{{PID: os.Getpid(), URL: cfg.URL + "/metrics"}}
	if got := cfg.Instances["metrics"]; !slices.Equal(got, want) {
		t.Fatalf("/dev/config instances of metrics = %v, want %v", got, want)
	}
	status, pid := get(t, want[0].URL+"/openapi.json")
	if status != http.StatusOK || pid != fmt.Sprint(os.Getpid()) {
		t.Errorf("GET %s/openapi.json: %d from instance %q, want 200 from %d", want[0].URL, status, pid, os.Getpid())
	}
}
