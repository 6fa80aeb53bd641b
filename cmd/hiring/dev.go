package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	bqemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// devCmd runs the local stack until interrupted.
type devCmd struct {
	Host        string  `help:"Address the stack's three ports listen on, and that its printed URLs name; 0.0.0.0 listens on every interface, as in a container." default:"127.0.0.1" placeholder:"ADDR"`
	Port        int     `help:"Port of the stack's HTTP server (functions, BigQuery emulator, /healthz, /dev/config)." default:"8080"`
	StoragePort int     `help:"Port of the Cloud Storage emulator; default: --port + 1, or a free port when --port is 0." default:"-1" placeholder:"PORT"`
	WritePort   int     `help:"gRPC port of the BigQuery Storage Write API emulator; default: --port + 2, or a free port when --port is 0." default:"-1" placeholder:"PORT"`
	Auth        bool    `help:"Require bearer tokens on the HTTP functions: one per role (reader, writer, admin), printed at start. Without it, nothing is checked."`
	DataDir     string  `help:"Keep the emulators' state in this folder between runs; default: in memory." type:"path" placeholder:"DIR"`
	Project     string  `help:"Local project id." default:"hiring-local"`
	Dataset     string  `help:"BigQuery dataset." default:"hiring"`
	Demo        bool    `help:"Generate demo data (see hiring gen) and load it through the landing bucket, as hiring load does."`
	DemoRows    int64   `help:"hired_employees rows of the demo data." default:"10000" placeholder:"N"`
	JSON        bool    `name:"json" help:"Print the stack's configuration as one JSON document instead of text."`
	Instances   int     `help:"Run each function as N processes (this program, in a hidden mode) behind a round-robin proxy at the function's URL, as Cloud Run runs instances; an instance that exits is replaced, and /dev/config lists the live ones. 1 serves every function in this process." default:"1" placeholder:"N"`
	Redeliver   float64 `help:"Fraction of storage events, from 0 to 1, delivered twice, concurrently, to two instances when there are two, as Eventarc's at-least-once delivery may. 0 delivers each event once." default:"0" placeholder:"P"`

	LogFormat string `help:"How the terminal shows the logs of the stack and its functions: text, one short line per event (coloured on a terminal); or json, the JSON lines of Cloud Logging, as deployed." default:"text" enum:"text,json"`
	LogLevel  string `help:"The least severe logs the terminal shows: debug, info, warn or error. The demo's expected refusals (--demo) show only at debug; the summary counts them." default:"info" enum:"debug,info,warn,error"`
	LogFile   string `help:"Also write every log, at every level and the demo's included, as JSON lines to this file." type:"path" placeholder:"FILE"`
	PrintEnv  bool   `help:"Print the shell commands that point gcloud storage, bq, hiring-pipeline's code and the hiring commands (HIRING_STACK) at the stack that runs on --host and --port, and exit: eval \"$(go run ./cmd/hiring dev --print-env)\"."`

	BigQueryFailRate float64       `name:"bigquery-fail-rate" help:"Fraction of the local BigQuery's REST and gRPC calls, from 0 to 1, answered 503 (UNAVAILABLE) before any work, once the stack (and the demo data) is ready. PUT /dev/faults changes it while the stack runs." default:"0" placeholder:"R"`
	BigQueryFailFor  time.Duration `name:"bigquery-fail-for" help:"How long the BigQuery faults last; 0: until the stack stops." default:"0" placeholder:"DURATION"`
	BigQueryFailMode string        `name:"bigquery-fail-mode" help:"How a faulted BigQuery call fails: unavailable (503, or gRPC UNAVAILABLE) or drop (the connection closed without an answer)." default:"unavailable" enum:"unavailable,drop"`
	BigQueryLatency  time.Duration `name:"bigquery-latency" help:"Hold every call of the local BigQuery this long before serving (or failing) it, for as long as --bigquery-fail-for says, so that requests stay in flight long enough to kill an instance mid-request." default:"0" placeholder:"DURATION"`
}

// Validate checks the flags before anything starts.
func (c *devCmd) Validate() error {
	var problems []string
	if c.Instances < 1 {
		problems = append(problems, fmt.Sprintf("--instances must be at least 1, got %d", c.Instances))
	}
	if !(c.Redeliver >= 0 && c.Redeliver <= 1) {
		problems = append(problems, fmt.Sprintf("--redeliver must be between 0 and 1, got %v", c.Redeliver))
	}
	if !(c.BigQueryFailRate >= 0 && c.BigQueryFailRate <= 1) {
		problems = append(problems, fmt.Sprintf("--bigquery-fail-rate must be between 0 and 1, got %v", c.BigQueryFailRate))
	}
	if c.BigQueryFailFor < 0 {
		problems = append(problems, fmt.Sprintf("--bigquery-fail-for must not be negative, got %v", c.BigQueryFailFor))
	}
	if c.BigQueryLatency < 0 {
		problems = append(problems, fmt.Sprintf("--bigquery-latency must not be negative, got %v", c.BigQueryLatency))
	}
	if c.PrintEnv && c.Port == 0 {
		problems = append(problems, "--print-env needs the --port of the running stack, not 0")
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Run starts the stack, prints how to reach it, and serves until the
// context ends (Ctrl+C or SIGTERM).
func (c *devCmd) Run(ctx context.Context, con *console) error {
	if c.PrintEnv {
		return c.printEnv(ctx, con.Stdout)
	}
	logs, err := c.newDevLogs(con.Stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := logs.Close(); err != nil {
			fmt.Fprintf(con.Stderr, "hiring dev: --log-file: %v\n", err)
		}
	}()
	opts := stack.Options{
		Host:             c.Host,
		Port:             c.Port,
		StoragePort:      c.derivedPort(c.StoragePort, 1),
		StorageWritePort: c.derivedPort(c.WritePort, 2),
		Auth:             c.Auth,
		DataDir:          c.DataDir,
		Project:          c.Project,
		Dataset:          c.Dataset,
		Logger:           slog.New(logs.Handler),
		Functions:        hiringpipeline.Functions,
		Instances:        c.Instances,
		Redeliver:        c.Redeliver,
	}
	if c.Instances > 1 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding this program to run the instances: %w", err)
		}
		opts.InstanceCommand = []string{exe, "function"}
		opts.InstanceOutput = logs.Relay()
	}
	st, err := stack.Start(ctx, opts)
	if errors.Is(err, syscall.EADDRINUSE) {
		return withHint(err, "another program may use the port; choose others with --port, --storage-port and --write-port")
	}
	if err != nil {
		return err
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := st.Close(shutdown); err != nil {
			fmt.Fprintf(con.Stderr, "hiring dev: stopping: %v\n", err)
		}
	}()
	cfg := st.Config()
	var demo []loadResult
	if c.Demo {
		if demo, err = c.loadDemo(ctx, st, con, logs.Demo); err != nil {
			return err
		}
	}
	if c.BigQueryFailRate > 0 || c.BigQueryLatency > 0 {
		f := bqemu.Faults{Rate: c.BigQueryFailRate, Mode: bqemu.FaultMode(c.BigQueryFailMode), Latency: c.BigQueryLatency}
		if c.BigQueryFailFor > 0 {
			f.Until = time.Now().Add(c.BigQueryFailFor)
		}
		if err := st.SetBigQueryFaults(f); err != nil {
			return err
		}
	}
	if c.JSON {
		if err := json.NewEncoder(con.Stdout).Encode(cfg); err != nil {
			return err
		}
	} else if err := c.printStack(con.Stdout, cfg, demo); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(con.Stderr, "hiring dev: stopping")
		return nil
	case err := <-st.Done():
		return err
	}
}

// derivedPort returns flag, or --port + offset when flag is unset (-1), or 0
// (a free port) when --port is 0.
func (c *devCmd) derivedPort(flag, offset int) int {
	switch {
	case flag >= 0:
		return flag
	case c.Port == 0:
		return 0
	}
	return c.Port + offset
}

// loadDemo generates the demo files and loads them through the landing
// bucket, as hiring load does, and names them to quiet.
func (c *devCmd) loadDemo(ctx context.Context, st *stack.Stack, con *console, quiet *demoFiles) ([]loadResult, error) {
	dir, err := os.MkdirTemp("", "hiring-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s, err := gen.Write(ctx, gen.Options{Dir: dir, Rows: c.DemoRows, Departments: 12, Jobs: 183, InvalidRatio: 0.05, Seed: 1})
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	var files, objects []string
	for _, f := range s.Files {
		files = append(files, f.Path)
		objects = append(objects, filepath.Base(f.Path))
	}
	quiet.expect(st.Config().Buckets.Landing, objects)
	results, err := loadFiles(ctx, st.Config(), files, 10*time.Minute, con.Stderr)
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	var ids []string
	for _, r := range results {
		ids = append(ids, r.IngestionID)
	}
	quiet.loaded(ids)
	return results, nil
}

// printStack tells a person where everything is.
func (c *devCmd) printStack(w io.Writer, cfg stack.Config, demo []loadResult) error {
	state := "in memory (gone when it stops; keep it with --data-dir)"
	if c.DataDir != "" {
		state = "kept in " + c.DataDir
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hiring-pipeline is running locally; state is %s.\n\n", state)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Stack\t%s\n", cfg.URL)
	fmt.Fprintf(tw, "  Health\t%s/healthz\n", cfg.URL)
	fmt.Fprintf(tw, "  Configuration\t%s/dev/config\n", cfg.URL)
	fmt.Fprintf(tw, "  BigQuery\t%s\t(project %s, dataset %s)\n", cfg.BigQueryEndpoint, cfg.Project, cfg.Dataset)
	fmt.Fprintf(tw, "  BigQuery Storage Write\t%s\t(gRPC, plaintext)\n", cfg.BigQueryStorageEndpoint)
	fmt.Fprintf(tw, "  Cloud Storage\t%s\t(buckets %s, %s, %s)\n", cfg.StorageEmulatorHost, cfg.Buckets.Landing, cfg.Buckets.Staging, cfg.Buckets.Backups)
	names := make([]string, 0, len(cfg.Functions))
	for name := range cfg.Functions {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(tw, "  Function %s\t%s\n", name, cfg.Functions[name])
		if c.Instances > 1 {
			for _, inst := range cfg.Instances[name] {
				fmt.Fprintf(tw, "    instance, pid %d\t%s\n", inst.PID, inst.URL)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Instances > 1 {
		fmt.Fprintf(&b, "\nEach function runs as %d processes behind its URL, which spreads requests over them;\n"+
			"an instance that exits is replaced by a new process. %s/dev/config lists the live ones.\n", c.Instances, cfg.URL)
	}
	if c.Redeliver > 0 {
		fmt.Fprintf(&b, "\n%g%% of storage events are delivered twice, concurrently, as Eventarc may redeliver them.\n", c.Redeliver*100)
	}
	if c.BigQueryFailRate > 0 || c.BigQueryLatency > 0 {
		until := "until the stack stops"
		if c.BigQueryFailFor > 0 {
			until = "for " + c.BigQueryFailFor.String()
		}
		fmt.Fprintf(&b, "\nThe local BigQuery fails %g%% of its calls (%s) and holds each for %s, %s; %s/dev/faults shows and changes that.\n",
			c.BigQueryFailRate*100, c.BigQueryFailMode, c.BigQueryLatency, until, cfg.URL)
	}
	if cfg.Auth.Mode == auth.ModeOff {
		b.WriteString("\n!! AUTHENTICATION IS OFF: anyone who reaches this machine's ports can call the functions.\n" +
			"!! Start with --auth to require a bearer token per role, as the deployed functions do.\n")
	} else {
		b.WriteString("\nAuthentication is on: send Authorization: Bearer <token> with the token of the role:\n")
		for _, role := range auth.Roles {
			fmt.Fprintf(&b, "  %-7s %s\n", role, cfg.Auth.Tokens[string(role)])
		}
	}
	if demo != nil {
		fmt.Fprintf(&b, "\nDemo data loaded through gs://%s/:\n", cfg.Buckets.Landing)
		if err := printLoads(&b, demo); err != nil {
			return err
		}
	}
	if url, ok := reportURL(cfg); ok {
		fmt.Fprintf(&b, "\nOpen the report in a browser: %s\n", url)
		if cfg.Auth.Mode != auth.ModeOff {
			b.WriteString("  (it needs the reader token: save it with `hiring report --out report.html` and open the file)\n")
		}
	}
	fmt.Fprintf(&b, "\nPoint gcloud storage, bq and hiring-pipeline's code at it, in another terminal:\n"+
		"  eval \"$(go run ./cmd/hiring dev --print-env%s)\"\n"+
		"  gcloud storage cp departments.csv gs://%s/    (the file's name picks the table)\n"+
		"  bq query --nouse_legacy_sql 'SELECT COUNT(*) FROM %s.hired_employees'\n", stackFlags(cfg.URL), cfg.Buckets.Landing, cfg.Dataset)
	b.WriteString("\nThe variables it sets, which hiring-pipeline's code and Google's client libraries read:\n")
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  export %s=%s\n", k, cfg.Env[k])
	}
	b.WriteString("\nPress Ctrl+C to stop.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// hintError is an error with advice for the person at the terminal.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	var h *hintError
	if errors.As(err, &h) {
		return err
	}
	return &hintError{err: err, hint: hint}
}
