package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestDev starts `hiring dev --port 0 --json --demo`, reads the printed
// configuration, checks the stack through it, and stops it as Ctrl+C would.
func TestDev(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		defer w.Close()
		code <- run(ctx, []string{"dev", "--port", "0", "--json", "--demo", "--demo-rows", "500"}, w, &stderr)
	}()

	var cfg stack.Config
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the configuration: %v; stderr:\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if err := json.Unmarshal([]byte(line), &cfg); err != nil {
		t.Fatalf("stdout %q is not the configuration: %v", line, err)
	}
	resp, err := http.Get(cfg.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %s", resp.Status)
	}
	resp, err = http.Get("http://" + cfg.StorageEmulatorHost + "/storage/v1/b/" + cfg.Buckets.Landing + "/o")
	if err != nil {
		t.Fatalf("list landing bucket: %v", err)
	}
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("list landing bucket: %v", err)
	}
	resp.Body.Close()
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if got := strings.Join(names, ","); got != "departments.csv,hired_employees.csv,jobs.csv" {
		t.Errorf("landing bucket holds %q, want the three demo files", got)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after interrupt, want 0; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hiring dev did not stop within 15 s of the interrupt")
	}
	if _, err := http.Get(cfg.URL + "/healthz"); err == nil {
		t.Error("the stack still answers after it stopped")
	}
}

func TestDev_PortInUse(t *testing.T) {
	t.Parallel()
	st, err := stack.Start(context.Background(), stack.Options{})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	defer st.Close(context.Background())
	port := st.Config().URL[strings.LastIndex(st.Config().URL, ":")+1:]
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"dev", "--port", port, "--storage-port", "0"}, &stdout, &stderr); c != 1 {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), "hint: another program may use the port") {
		t.Errorf("stderr has no hint:\n%s", stderr.String())
	}
}

// TestDev_Instances starts `hiring dev --instances 2 --port 0 --json` with
// BigQuery faults, which runs this test binary as each function's instances
// (see TestMain), checks that every function lists two running processes
// and that the faults are on, and stops it as Ctrl+C would: no instance is
// left.
func TestDev_Instances(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("the test signals processes as Unix does")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	stderr := &testutil.SyncBuffer{}
	code := make(chan int, 1)
	go func() {
		defer w.Close()
		code <- run(ctx, []string{"dev", "--instances", "2", "--port", "0", "--json", "--bigquery-fail-rate", "0.25", "--bigquery-fail-for", "1h"}, w, stderr)
	}()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the configuration: %v; stderr:\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	var cfg stack.Config
	if err := json.Unmarshal([]byte(line), &cfg); err != nil {
		t.Fatalf("stdout %q is not the configuration: %v", line, err)
	}
	var live stack.Config
	resp, err := http.Get(cfg.URL + "/dev/config")
	if err != nil {
		t.Fatalf("/dev/config: %v", err)
	}
	err = json.NewDecoder(resp.Body).Decode(&live)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/dev/config: %v", err)
	}
	var pids []int
	for name := range cfg.Functions {
		insts := live.Instances[name]
		if len(insts) != 2 {
			t.Errorf("/dev/config lists %d instances of %s, want 2: %v", len(insts), name, insts)
		}
		for _, inst := range insts {
			if !running(inst.PID) || inst.PID == os.Getpid() {
				t.Errorf("%s: instance pid %d is not a running child", name, inst.PID)
			}
			pids = append(pids, inst.PID)
		}
	}
	if len(cfg.Functions) == 0 {
		t.Error("no function is mounted")
	}
	var faults stack.FaultsDoc
	resp, err = http.Get(cfg.URL + "/dev/faults")
	if err != nil {
		t.Fatalf("/dev/faults: %v", err)
	}
	err = json.NewDecoder(resp.Body).Decode(&faults)
	resp.Body.Close()
	if err != nil || faults.BigQuery.Rate != 0.25 || faults.BigQuery.Until == nil || faults.BigQuery.Until.Before(time.Now().Add(50*time.Minute)) {
		t.Errorf("/dev/faults: %+v %v, want rate 0.25 for an hour", faults.BigQuery, err)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after interrupt, want 0; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hiring dev did not stop within 30 s of the interrupt")
	}
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("instance %d still runs after hiring dev stopped", pid)
		}
	}
}

// running reports whether process pid runs (or has not been waited for).
func running(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

func TestDev_InvalidFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"dev", "--instances", "0"}, "--instances must be at least 1"},
		{[]string{"dev", "--redeliver", "1.5"}, "--redeliver must be between 0 and 1"},
		{[]string{"dev", "--bigquery-fail-rate=-0.1"}, "--bigquery-fail-rate must be between 0 and 1"},
		{[]string{"dev", "--bigquery-fail-for=-1s"}, "--bigquery-fail-for must not be negative"},
		{[]string{"dev", "--bigquery-fail-mode", "slow"}, "--bigquery-fail-mode must be one of"},
		{[]string{"dev", "--bigquery-latency=-1s"}, "--bigquery-latency must not be negative"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), tc.args, &stdout, &stderr); c != 2 {
			t.Errorf("%v: exit code %d, want 2", tc.args, c)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q does not say %q", tc.args, stderr.String(), tc.want)
		}
	}
}
