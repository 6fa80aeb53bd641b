package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
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

// startDev runs hiring dev with args, its stdout and stderr on one screen as
// on a terminal, until the summary's last line; it stops the stack when the
// test ends and checks that it exits 0.
func startDev(t *testing.T, args ...string) *testutil.SyncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	screen := &testutil.SyncBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, append([]string{"dev"}, args...), screen, screen) }()
	t.Cleanup(func() {
		cancel()
		select {
		case c := <-code:
			if c != 0 {
				t.Errorf("exit code %d after interrupt, want 0; screen:\n%s", c, screen)
			}
		case <-time.After(30 * time.Second):
			t.Error("hiring dev did not stop within 30 s of the interrupt")
		}
	})
	err := testutil.WaitFor(t.Context(), func() (bool, error) {
		select {
		case c := <-code:
			return false, fmt.Errorf("hiring dev exited with %d", c)
		default:
		}
		return strings.Contains(screen.String(), "Press Ctrl+C to stop.\n"), nil
	})
	if err != nil {
		t.Fatalf("waiting for the summary: %v; screen:\n%s", err, screen)
	}
	return screen
}

// exported returns the value the summary exports for name.
func exported(t *testing.T, screen, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(screen, "export "+name+"=")
	if !ok {
		t.Fatalf("the summary exports no %s:\n%s", name, screen)
	}
	value, _, _ := strings.Cut(rest, "\n")
	return value
}

// drop uploads data to the landing bucket of the stack on screen as object,
// and returns the object's ingestion id.
func drop(t *testing.T, screen, object string, data []byte) string {
	t.Helper()
	gcs, err := clients.Storage(t.Context(), exported(t, screen, "STORAGE_EMULATOR_HOST"))
	if err != nil {
		t.Fatal(err)
	}
	defer gcs.Close()
	bucket := exported(t, screen, "HIRING_LANDING_BUCKET")
	w := gcs.Bucket(bucket).Object(object).NewWriter(t.Context())
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload %s: %v", object, err)
	}
	return fmt.Sprintf("gs://%s/%s#%d", bucket, object, w.Attrs().Generation)
}

// consoleLine is a log line of the terminal: time, level, function, message.
var consoleLine = regexp.MustCompile(`^\d\d:\d\d:\d\d (DEBUG|INFO |WARN |ERROR) \S+ +\S`)

// TestDev_Terminal runs `hiring dev --demo` as a person would and checks the
// screen: no JSON, the demo's refusals counted by the summary rather than
// logged one by one, the summary last; then a file dropped in the landing
// bucket shows as readable log lines, and --log-file kept everything.
func TestDev_Terminal(t *testing.T) {
	t.Parallel()
	logFile := filepath.Join(t.TempDir(), "dev.log")
	screen := startDev(t, "--port", "0", "--demo", "--demo-rows", "500", "--log-file", logFile)
	ready := screen.String()
	if !strings.HasSuffix(ready, "Press Ctrl+C to stop.\n") {
		t.Errorf("the summary is not the last thing on screen:\n%s", ready)
	}
	if strings.Contains(ready, "{\"") || strings.Contains(ready, "row rejected") {
		t.Errorf("the screen shows JSON or the demo's refused rows one by one:\n%s", ready)
	}
	table := regexp.MustCompile(`(?m)^hired_employees\.csv +hired_employees +LOADED +500 +\d+ +([1-9]\d*) +required`)
	if !table.MatchString(ready) {
		t.Errorf("the summary does not count the demo's refused rows:\n%s", ready)
	}
	if !strings.Contains(ready, "eval \"$(go run ./cmd/hiring dev --print-env --port ") {
		t.Errorf("the summary does not show how to point gcloud and bq at the stack:\n%s", ready)
	}

	id := drop(t, screen.String(), "departments.csv", []byte("1,Sales\n0,Nobody\n"))
	err := testutil.WaitFor(t.Context(), func() (bool, error) {
		return strings.Contains(screen.String(), "file loaded  ingestion_id="+id), nil
	})
	if err != nil {
		t.Fatalf("no log line of %s: %v; screen:\n%s", id, err, screen)
	}
	after := strings.TrimPrefix(screen.String(), ready)
	lines := strings.Split(strings.TrimSuffix(after, "\n"), "\n")
	wantRejected := "WARN  load-csv      row rejected  ingestion_id=" + id + "  table=departments  line=2  errors=[{"
	sawRejected := false
	for _, line := range lines {
		if !consoleLine.MatchString(line) || !strings.Contains(line, id) {
			t.Errorf("after the summary, %q is not a log line of %s", line, id)
		}
		sawRejected = sawRejected || strings.Contains(line, wantRejected)
	}
	if !sawRejected {
		t.Errorf("no line %q among:\n%s", wantRejected, after)
	}

	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	demoRejected := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("--log-file line %q is not JSON: %v", line, err)
		}
		if rec["message"] == "row rejected" && rec["severity"] == "WARNING" && rec["ingestion_id"] != id {
			demoRejected++
		}
	}
	if demoRejected == 0 {
		t.Errorf("--log-file has none of the demo's refused rows:\n%.2000s", data)
	}
}

// TestDev_LogFormatJSON checks that --log-format json writes the deployed
// JSON lines, and --log-level debug the demo's refused rows too.
func TestDev_LogFormatJSON(t *testing.T) {
	t.Parallel()
	screen := startDev(t, "--port", "0", "--demo", "--demo-rows", "300", "--log-format", "json", "--log-level", "debug")
	rejected := 0
	for line := range strings.SplitSeq(screen.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["message"] == "row rejected" && rec["severity"] == "WARNING" && rec["function"] == "load-csv" {
			rejected++
		}
	}
	if rejected == 0 {
		t.Errorf("no WARNING JSON line of a refused row at --log-level debug:\n%.3000s", screen)
	}
}

// TestDev_PrintEnv evaluates `hiring dev --print-env` in a shell, as the
// README says, and uses the real gcloud and bq it configures.
func TestDev_PrintEnv(t *testing.T) {
	t.Parallel()
	screen := startDev(t, "--port", "0")
	url := exported(t, screen.String(), "HIRING_BIGQUERY_ENDPOINT")
	port := url[strings.LastIndex(url, ":")+1 : strings.Index(url, "/bigquery")]
	var env, stderr bytes.Buffer
	if c := run(t.Context(), []string{"dev", "--print-env", "--port", port}, &env, &stderr); c != 0 {
		t.Fatalf("--print-env: exit %d: %s", c, stderr.String())
	}
	if want := "export HIRING_STACK=http://127.0.0.1:" + port + "\n"; !strings.Contains(env.String(), want) {
		t.Errorf("--print-env does not point hiring's commands at the stack with %q:\n%s", want, env.String())
	}
	testutil.Tool(t, "gcloud")
	testutil.Tool(t, "bq")
	bash := testutil.Tool(t, "bash")
	script := filepath.Join(t.TempDir(), "env.sh")
	if err := os.WriteFile(script, env.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bash, "-c", `eval "$(cat "$1")" && gcloud storage ls && bq ls --format=json hiring`, "bash", script)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gcloud and bq with the printed environment: %v\n%s\nenvironment:\n%s", err, out, env.String())
	}
	for _, want := range []string{"gs://hiring-local-landing/\n", "gs://hiring-local-backups/\n", `"tableId":"hired_employees_raw"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not show %q:\n%s", want, out)
		}
	}

	var none bytes.Buffer
	if c := run(t.Context(), []string{"dev", "--print-env", "--port", "1"}, &none, &stderr); c != 1 || !strings.Contains(stderr.String(), "hint: start the stack first") {
		t.Errorf("--print-env without a stack: exit %d, stderr %q; want 1 and a hint", c, stderr.String())
	}
}
