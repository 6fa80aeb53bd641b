// Package stack runs the whole of hiring-pipeline on one machine: the
// BigQuery and Cloud Storage emulators, the buckets, the dataset and tables,
// and the functions, behind one HTTP server. The functions run in the
// stack's process, or each as several processes of its own, as Cloud Run
// runs instances (Options.Instances).
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/grpc"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	bqemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Options configure a Stack. The zero value is an in-memory stack on free
// ports of 127.0.0.1.
type Options struct {
	// Host is the interface to listen on. Default 127.0.0.1.
	Host string
	// Port is the port of the stack's HTTP server; 0 picks a free one.
	Port int
	// StoragePort is the port of the Cloud Storage emulator; 0 picks a free
	// one.
	StoragePort int
	// StorageWritePort is the gRPC port of the BigQuery Storage Write API
	// emulator; 0 picks a free one.
	StorageWritePort int
	// Auth makes the HTTP functions require bearer tokens, one per role,
	// generated at start and listed in Config; without it they check
	// nothing.
	Auth bool
	// DataDir keeps the state of both emulators between runs; empty keeps
	// everything in memory.
	DataDir string
	// Project and Dataset name the local project and BigQuery dataset.
	// Defaults "hiring-local" and "hiring".
	Project, Dataset string
	// Logger receives the stack's logs. Default: discard.
	Logger *slog.Logger
	// Functions are built from the stack's configuration and mounted at
	// /<name>/; CloudEvent functions receive the events of their trigger
	// bucket through the Eventarc bridge.
	Functions []function.Definition
	// Instances is how many processes serve each function. 0 or 1 builds
	// every function in the stack's own process. N > 1 runs each function as
	// N processes of InstanceCommand, as Cloud Run runs instances: /<name>/
	// becomes a round-robin proxy over the function's live instances, the
	// bridge delivers each event attempt to one of them, and an instance
	// that exits is replaced by a new process.
	Instances int
	// InstanceCommand is the program and arguments of an instance, required
	// when Instances > 1: a program that serves one function as
	// function.Serve does, such as `hiring function`, or a test binary (see
	// function.ServeIfInstance). It runs with the stack's Config.Env,
	// FUNCTION_TARGET (the entry point), PORT (a free port), HOST=127.0.0.1,
	// K_SERVICE (the function's name) and function.InstanceVar, and nothing
	// else of the stack's environment.
	InstanceCommand []string
	// InstanceOutput receives the stdout and stderr of the instances (their
	// JSON log lines), whole lines at a time. Default: discard.
	InstanceOutput io.Writer
	// Redeliver is the fraction of storage events, from 0 to 1, that the
	// Eventarc bridge delivers twice, concurrently, to two instances when
	// there are two (see gcs.Options.Redeliver).
	Redeliver float64
	// Env adds variables to the functions' configuration (Config.Env), such
	// as a short HIRING_REQUEST_TIMEOUT for a test. It may not change the
	// variables the stack sets: they point the functions at its emulators.
	Env map[string]string
}

// Stack is a running local system.
type Stack struct {
	cfg       Config
	bq        *bqemu.Server
	gcs       *gcsemu.Server
	gcsClient *storage.Client
	grpc      *grpc.Server
	mux       *http.ServeMux
	server    *http.Server
	done      chan error
	// fleets run the functions as processes (Options.Instances > 1), whose
	// requests tracker counts; local counts the requests in flight of each
	// function otherwise.
	fleets  *fleets
	tracker *tracker
	local   map[string]*atomic.Int64
}

// Start starts the emulators, provisions buckets, dataset and tables, and
// serves the stack. On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts = withDefaults(opts)
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s := &Stack{done: make(chan error, 1)}
	defer func() {
		if err != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	bqPath := ""
	gcsDir := ""
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("stack: data dir: %w", err)
		}
		bqPath = filepath.Join(opts.DataDir, "bigquery.duckdb")
		gcsDir = filepath.Join(opts.DataDir, "storage")
	}
	gcsOpts := gcsemu.Options{Host: opts.Host, Port: opts.StoragePort, Dir: gcsDir, Project: opts.Project, Logger: opts.Logger, Redeliver: opts.Redeliver}
	if opts.Instances > 1 {
		s.tracker = newTracker()
		gcsOpts.Transport = s.tracker
	}
	s.gcs, err = gcsemu.Start(ctx, gcsOpts)
	if err != nil {
		return nil, fmt.Errorf("stack: storage emulator: %w", err)
	}
	if s.gcsClient, err = s.gcs.Client(ctx); err != nil {
		return nil, fmt.Errorf("stack: storage client: %w", err)
	}
	s.bq, err = bqemu.New(ctx, bqemu.Options{Path: bqPath, Logger: opts.Logger, Storage: s.gcsClient})
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	gl, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.StorageWritePort)))
	if err != nil {
		return nil, fmt.Errorf("stack: listen on port %d: %w", opts.StorageWritePort, err)
	}
	s.grpc = s.bq.NewGRPCServer()
	go func() { _ = s.grpc.Serve(gl) }()
	l, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("stack: listen on port %d: %w", opts.Port, err)
	}
	// Addresses name opts.Host, as the storage emulator's do: with 0.0.0.0
	// the listeners' own addresses would say [::].
	base := "http://" + advertised(opts.Host, l)
	s.cfg, err = newConfig(opts, base, s.gcs.Host(), advertised(opts.Host, gl))
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	for _, d := range opts.Functions {
		s.cfg.Functions[d.Name] = base + "/" + d.Name + "/"
	}
	s.prepareInstances(opts)
	s.server = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.server.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	if err := s.provision(ctx); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	for _, d := range opts.Functions {
		if err := s.mount(ctx, d, opts.Logger); err != nil {
			return nil, fmt.Errorf("stack: function %s: %w", d.Name, err)
		}
	}
	if s.fleets != nil {
		if err := s.fleets.startAll(opts.Instances); err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
	}
	return s, nil
}

// validate checks what withDefaults cannot default.
func (opts Options) validate() error {
	switch {
	case opts.Instances < 0:
		return fmt.Errorf("%d instances per function; want 1 or more", opts.Instances)
	case opts.Instances > 1 && len(opts.InstanceCommand) == 0:
		return fmt.Errorf("%d instances per function need an InstanceCommand to run them", opts.Instances)
	}
	return nil
}

// prepareInstances sets up what runs and counts the functions' instances,
// before the stack serves /dev/config.
func (s *Stack) prepareInstances(opts Options) {
	if opts.Instances <= 1 {
		s.local = map[string]*atomic.Int64{}
		for _, d := range opts.Functions {
			s.local[d.Name] = &atomic.Int64{}
		}
		return
	}
	env := make([]string, 0, len(s.cfg.Env))
	for k, v := range s.cfg.Env {
		env = append(env, k+"="+v)
	}
	running, stop := context.WithCancel(context.Background())
	l := &launcher{command: opts.InstanceCommand, env: env, output: &syncWriter{w: opts.InstanceOutput}, ctx: running}
	s.fleets = &fleets{byName: map[string]*fleet{}, stop: stop}
	for _, d := range opts.Functions {
		s.fleets.byName[d.Name] = newFleet(d, l, s.tracker, opts.Logger)
	}
}

// mount serves a function at /<name>/ and forwards the events of a
// CloudEvent function's trigger bucket to it.
func (s *Stack) mount(ctx context.Context, d function.Definition, logger *slog.Logger) error {
	logger = logger.With("function", d.Name)
	h, err := s.handler(ctx, d, logger)
	if err != nil {
		return err
	}
	s.mux.Handle("/"+d.Name+"/", http.StripPrefix("/"+d.Name, h))
	if d.Event == nil {
		return nil
	}
	bucket, ok := map[string]string{"landing": s.cfg.Buckets.Landing, "staging": s.cfg.Buckets.Staging, "backups": s.cfg.Buckets.Backups}[d.TriggerBucket]
	if !ok {
		return fmt.Errorf("unknown trigger bucket %q", d.TriggerBucket)
	}
	if s.fleets != nil {
		return s.gcs.ForwardTo(bucket, s.fleets.byName[d.Name].urls)
	}
	return s.gcs.Forward(bucket, s.cfg.Functions[d.Name])
}

// handler returns what serves a function's routes at its root: the proxy
// over its instances, or the function built in process with the stack's
// configuration.
func (s *Stack) handler(ctx context.Context, d function.Definition, logger *slog.Logger) (http.Handler, error) {
	if d.Event == nil && d.HTTP == nil {
		return nil, errors.New("neither an HTTP nor a CloudEvent function")
	}
	if s.fleets != nil {
		return s.fleets.byName[d.Name].proxy(), nil
	}
	lookup := config.FromMap(s.cfg.Env)
	var h http.Handler
	if d.Event != nil {
		eh, err := d.Event(ctx, lookup, logger)
		if err != nil {
			return nil, err
		}
		h = function.EventHTTP(eh, logger)
	} else {
		var err error
		if h, err = d.HTTP(ctx, lookup, logger); err != nil {
			return nil, err
		}
	}
	return counted(h, s.local[d.Name]), nil
}

// counted counts the requests in flight of a function served in process,
// and names the process in InstanceHeader as the proxy does.
func counted(h http.Handler, n *atomic.Int64) http.Handler {
	pid := strconv.Itoa(os.Getpid())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		w.Header().Set(InstanceHeader, pid)
		h.ServeHTTP(w, r)
	})
}

// advertised is the host:port that clients use to reach l: host, with the
// port l was given.
func advertised(host string, l net.Listener) string {
	return net.JoinHostPort(host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
}

func withDefaults(opts Options) Options {
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Project == "" {
		opts.Project = "hiring-local"
	}
	if opts.Dataset == "" {
		opts.Dataset = "hiring"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InstanceOutput == nil {
		opts.InstanceOutput = io.Discard
	}
	return opts
}

// provision creates the buckets, the dataset and the tables that do not
// exist yet, through the same clients the functions use.
func (s *Stack) provision(ctx context.Context) error {
	for _, b := range []string{s.cfg.Buckets.Landing, s.cfg.Buckets.Staging, s.cfg.Buckets.Backups} {
		if err := s.gcs.CreateBucket(ctx, b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	g, err := config.Load[config.Google](ctx, config.FromMap(s.cfg.Env))
	if err != nil {
		return err
	}
	bq, err := clients.BigQuery(ctx, g)
	if err != nil {
		return err
	}
	defer bq.Close()
	return warehouse.Provision(ctx, bq, g.Dataset, dictionary.Default())
}

func (s *Stack) routes() http.Handler {
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /dev/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Config())
	})
	mux.HandleFunc("GET /dev/faults", s.getFaults)
	mux.HandleFunc("PUT /dev/faults", s.putFaults)
	mux.Handle("/bigquery/v2/", s.bq)
	mux.Handle("/upload/bigquery/v2/", s.bq)
	return mux
}

// Storage returns a Cloud Storage client connected to the stack's emulator,
// whatever STORAGE_EMULATOR_HOST says.
func (s *Stack) Storage(ctx context.Context) (*storage.Client, error) { return s.gcs.Client(ctx) }

// Config returns what clients need to reach the stack, with the instances
// running now.
func (s *Stack) Config() Config {
	c := s.cfg
	c.Instances = s.Instances()
	return c
}

// Instances lists the running instances of each mounted function, by name,
// as they are now: the processes that are ready and have not been seen to
// exit (Options.Instances > 1), or one entry for the stack's own process.
// The instances with requests in flight are those with InFlight > 0.
func (s *Stack) Instances() map[string][]Instance {
	out := map[string][]Instance{}
	if s.fleets != nil {
		for name, f := range s.fleets.byName {
			out[name] = f.snapshot()
		}
		return out
	}
	for name, n := range s.local {
		out[name] = []Instance{{PID: os.Getpid(), URL: s.cfg.URL + "/" + name, InFlight: int(n.Load())}}
	}
	return out
}

// Done reports the HTTP server's end: nil after Close, else why it stopped.
func (s *Stack) Done() <-chan error { return s.done }

// Close stops serving, waiting for requests in flight until ctx ends, then
// stops the functions' instances (SIGTERM, then SIGKILL after a few seconds)
// and waits for their ends, then stops the emulators. State in DataDir is
// kept.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if s.server != nil {
		if err := s.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http server: %w", err))
		}
	}
	if s.fleets != nil {
		s.fleets.close()
	}
	if s.grpc != nil {
		// Appends run inside HTTP requests, finished above; what remains are
		// the functions' idle AppendRows streams, which never end by
		// themselves, so a graceful stop would wait forever.
		s.grpc.Stop()
	}
	if s.gcs != nil {
		if err := s.gcs.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("storage emulator: %w", err))
		}
	}
	if s.bq != nil {
		if err := s.bq.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bigquery emulator: %w", err))
		}
	}
	if s.gcsClient != nil {
		if err := s.gcsClient.Close(); err != nil {
			errs = append(errs, fmt.Errorf("storage client: %w", err))
		}
	}
	if s.tracker != nil {
		s.tracker.base.CloseIdleConnections()
	}
	return errors.Join(errs...)
}
