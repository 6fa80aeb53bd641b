package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// functionPackage is the function binary's package (cmd/function), which
// ColdStart builds when it is given no binary.
const functionPackage = "github.com/hiring-pipeline/hiring-pipeline/cmd/function"

// ColdStartOptions configure ColdStart.
type ColdStartOptions struct {
	// Stack is the configuration (GET /dev/config) of a running stack: the
	// function gets its Env, as a deployment gets its own.
	Stack stack.Config
	// Function is the function to start; ColdStart knows a request for
	// insert-rows only: a 1-row POST to hired_employees.
	Function function.Definition
	// Binary is the function binary (see cmd/function). Empty builds
	// functionPackage with `go build` into a temporary folder, removed
	// after, which needs the working directory inside the module.
	Binary string
	// Requests is how many requests follow the first answer before the
	// peak memory is read again. Default (0) 100.
	Requests int
	// Log receives progress lines.
	Log io.Writer
}

// ColdStartReport is what ColdStart measured.
type ColdStartReport struct {
	Function       string `json:"function"`
	FunctionTarget string `json:"function_target"`
	// BuildSeconds is the time of `go build`, 0 with a given binary.
	BuildSeconds float64 `json:"build_seconds"`
	BinaryBytes  int64   `json:"binary_bytes"`
	// ListenMs runs from exec to the port accepting connections.
	ListenMs float64 `json:"listen_ms"`
	// ColdStartMs runs from exec to the end of the first 200 answer to a
	// real request, which builds the function's clients and opens its
	// streams; it is polled every millisecond until the port listens.
	ColdStartMs float64 `json:"cold_start_ms"`
	// PeakRSSBytes is the process's peak resident memory (VmHWM) at the
	// first answer.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// Requests more were sent one after the other after the first answer,
	// each answered 200 in WarmP50Ms at the median.
	Requests  int     `json:"requests"`
	WarmP50Ms float64 `json:"warm_p50_ms"`
	// PeakRSSAfterBytes is VmHWM after those requests.
	PeakRSSAfterBytes int64 `json:"peak_rss_after_bytes"`
}

// startTimeout bounds the wait for the first answer.
const startTimeout = 2 * time.Minute

// ColdStart runs a function alone, as Cloud Run does, against a running
// stack: it execs the function binary with the stack's Env, FUNCTION_TARGET
// (the entry point), PORT (a free port), K_SERVICE (the function's name),
// HOST=127.0.0.1 and HIRING_AUTH_MODE=off, and nothing of this process's
// environment. It measures the time to the first 200 answer of a real
// request and the process's peak memory then and after opts.Requests more
// requests, and kills the process. Every request inserts one new row.
func ColdStart(ctx context.Context, opts ColdStartOptions) (ColdStartReport, error) {
	if opts.Requests == 0 {
		opts.Requests = 100
	}
	rep := ColdStartReport{Function: opts.Function.Name, FunctionTarget: opts.Function.EntryPoint, Requests: opts.Requests}
	if opts.Function.Name != "insert-rows" {
		return rep, fmt.Errorf("bench: no cold-start request for function %q; only insert-rows has one", opts.Function.Name)
	}
	if opts.Requests < 0 {
		return rep, fmt.Errorf("bench: %d requests, want at least 1 (0 for the default)", opts.Requests)
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	binary := opts.Binary
	if binary == "" {
		dir, err := os.MkdirTemp("", "hiring-function-")
		if err != nil {
			return rep, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		logf("building %s...", functionPackage)
		start := time.Now()
		if binary, err = BuildFunction(ctx, dir); err != nil {
			return rep, err
		}
		rep.BuildSeconds = time.Since(start).Seconds()
	}
	info, err := os.Stat(binary)
	if err != nil {
		return rep, fmt.Errorf("bench: function binary: %w", err)
	}
	rep.BinaryBytes = info.Size()
	port, err := freePort(ctx)
	if err != nil {
		return rep, err
	}
	t, ok := dictionary.Default().Table("hired_employees")
	if !ok {
		return rep, errors.New("bench: no hired_employees table in the dictionary")
	}
	gen, err := newBatches(t, time.Now().UnixMilli()*1000, 1)
	if err != nil {
		return rep, err
	}

	logf("starting %s (FUNCTION_TARGET=%s) on port %d...", opts.Function.Name, opts.Function.EntryPoint, port)
	p, err := startFunction(ctx, binary, functionEnv(opts.Stack, opts.Function, port))
	if err != nil {
		return rep, err
	}
	defer p.kill()
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := p.waitListening(waitCtx, addr); err != nil {
		return rep, err
	}
	rep.ListenMs = msSince(p.started)

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	url := "http://" + addr + "/tables/" + t.Name + "/rows"
	if err := insertOne(waitCtx, client, url, gen, 0); err != nil {
		return rep, p.failure(fmt.Errorf("bench: the first request: %w", err))
	}
	rep.ColdStartMs = msSince(p.started)
	if rep.PeakRSSBytes, err = procstat.PeakRSSOf(p.cmd.Process.Pid); err != nil {
		return rep, err
	}

	warm := make([]float64, 0, opts.Requests)
	for i := range opts.Requests {
		start := time.Now()
		if err := insertOne(ctx, client, url, gen, int64(i+1)); err != nil {
			return rep, p.failure(fmt.Errorf("bench: request %d after the first: %w", i+1, err))
		}
		warm = append(warm, msSince(start))
	}
	slices.Sort(warm)
	rep.WarmP50Ms = warm[len(warm)/2]
	if rep.PeakRSSAfterBytes, err = procstat.PeakRSSOf(p.cmd.Process.Pid); err != nil {
		return rep, err
	}
	return rep, nil
}

// BuildFunction builds functionPackage into dir and returns the binary's
// path. The working directory must be inside the module.
func BuildFunction(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "function")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", path, functionPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("bench: go build %s (run it inside the repository, or give a binary): %w\n%s", functionPackage, err, out)
	}
	return path, nil
}

// functionEnv is the environment of the function process, sorted.
func functionEnv(cfg stack.Config, d function.Definition, port int) []string {
	env := map[string]string{}
	for k, v := range cfg.Env {
		env[k] = v
	}
	env["FUNCTION_TARGET"] = d.EntryPoint
	env["PORT"] = strconv.Itoa(port)
	env["K_SERVICE"] = d.Name
	env["HOST"] = "127.0.0.1"
	env["HIRING_AUTH_MODE"] = auth.ModeOff
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is a running function.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	output  *bytes.Buffer // written until exited is closed
	exited  chan struct{}
	err     error // set before exited is closed
}

// startFunction execs binary with env, and nothing else of this process's
// environment.
func startFunction(ctx context.Context, binary string, env []string) (*process, error) {
	p := &process{output: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, binary)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitListening dials addr until it accepts a connection, every
// millisecond, and fails when the process exits or ctx ends first.
func (p *process) waitListening(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.exited:
			return p.failure(errors.New("bench: the function exited before listening"))
		case <-ctx.Done():
			return p.failure(fmt.Errorf("bench: the function did not listen on %s: %w", addr, ctx.Err()))
		case <-time.After(time.Millisecond):
		}
	}
}

// failure kills the process and adds to err whether it had exited, and its
// output.
func (p *process) failure(err error) error {
	status := "was running"
	select {
	case <-p.exited:
		status = fmt.Sprint("had exited: ", p.err)
	default:
	}
	p.kill()
	return fmt.Errorf("%w (the function %s; its output:\n%s)", err, status, p.output.String())
}

// kill kills the process, if it still runs, and waits for its end and its
// output.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// insertOne posts batch n of gen (one row) and fails unless the answer is
// 200.
func insertOne(ctx context.Context, client *http.Client, url string, gen *batches, n int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(gen.body(n)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "cold-start-"+strconv.FormatInt(gen.base, 10)+"-"+strconv.FormatInt(n, 10))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t)) / float64(time.Millisecond) }
