// Package stack runs the whole of hiring-pipeline on one machine: the
// BigQuery and Cloud Storage emulators, the buckets, the dataset and tables,
// and the functions, behind one HTTP server.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
}

// Start starts the emulators, provisions buckets, dataset and tables, and
// serves the stack. On error, whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts = withDefaults(opts)
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
	s.gcs, err = gcsemu.Start(ctx, gcsemu.Options{Host: opts.Host, Port: opts.StoragePort, Dir: gcsDir, Project: opts.Project, Logger: opts.Logger})
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
	base := "http://" + l.Addr().String()
	s.cfg, err = newConfig(opts, base, s.gcs.Host(), gl.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	for _, d := range opts.Functions {
		s.cfg.Functions[d.Name] = base + "/" + d.Name + "/"
	}
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
	return s, nil
}

// mount builds a function with the stack's configuration and serves it at
// /<name>/.
func (s *Stack) mount(ctx context.Context, d function.Definition, logger *slog.Logger) error {
	lookup := config.FromMap(s.cfg.Env)
	logger = logger.With("function", d.Name)
	path := "/" + d.Name + "/"
	switch {
	case d.Event != nil:
		h, err := d.Event(ctx, lookup, logger)
		if err != nil {
			return err
		}
		bucket, ok := map[string]string{"landing": s.cfg.Buckets.Landing, "staging": s.cfg.Buckets.Staging, "backups": s.cfg.Buckets.Backups}[d.TriggerBucket]
		if !ok {
			return fmt.Errorf("unknown trigger bucket %q", d.TriggerBucket)
		}
		s.mux.Handle(path, function.EventHTTP(h, logger))
		if err := s.gcs.Forward(bucket, s.cfg.Functions[d.Name]); err != nil {
			return err
		}
	case d.HTTP != nil:
		h, err := d.HTTP(ctx, lookup, logger)
		if err != nil {
			return err
		}
		s.mux.Handle(path, http.StripPrefix("/"+d.Name, h))
	default:
		return errors.New("neither an HTTP nor a CloudEvent function")
	}
	return nil
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
		writeJSON(w, http.StatusOK, s.cfg)
	})
	mux.Handle("/bigquery/v2/", s.bq)
	return mux
}

// Storage returns a Cloud Storage client connected to the stack's emulator,
// whatever STORAGE_EMULATOR_HOST says.
func (s *Stack) Storage(ctx context.Context) (*storage.Client, error) { return s.gcs.Client(ctx) }

// Config returns what clients need to reach the stack.
func (s *Stack) Config() Config { return s.cfg }

// Done reports the HTTP server's end: nil after Close, else why it stopped.
func (s *Stack) Done() <-chan error { return s.done }

// Close stops serving, waiting for requests in flight until ctx ends, then
// stops the emulators. State in DataDir is kept.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	if s.server != nil {
		if err := s.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http server: %w", err))
		}
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
	return errors.Join(errs...)
}
