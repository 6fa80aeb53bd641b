package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/uuid"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// Defaults of Options.
const (
	DefaultHost    = "127.0.0.1"
	DefaultProject = "local"
)

// cleanupTimeout bounds the release of a server's Pub/Sub topic, which Close
// does even after its context has expired.
const cleanupTimeout = 5 * time.Second

// Options configures Start. The zero value is an empty, in-memory Cloud
// Storage on a free port of 127.0.0.1.
type Options struct {
	// Host is the address to listen on; empty means DefaultHost.
	Host string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Dir, when set, keeps buckets and objects in this directory, created if
	// missing, so that they survive restarts; empty keeps them in memory. The
	// emulator owns the directory: files copied into it by hand are invisible
	// to it and break listing.
	Dir string
	// Project is the project of the buckets that CreateBucket creates and of
	// the server's Pub/Sub topic; empty means DefaultProject.
	Project string
	// Logger receives the logs of the Eventarc bridge; nil means
	// slog.Default().
	Logger *slog.Logger
	// Writer receives fake-gcs-server's own logs (one line per request, and
	// its notification errors); it must be safe for concurrent use. Nil
	// discards them.
	Writer io.Writer
	// RetryFor is how long a failed delivery is retried before the event is
	// dropped; 0 means DefaultRetryFor.
	RetryFor time.Duration
	// Redeliver is the fraction of events, from 0 to 1, that the bridge
	// delivers twice, concurrently, to two different targets when the
	// forwarded bucket's Targets name two; both copies carry the same event
	// id, as duplicates from Eventarc do. 0 delivers every event once.
	Redeliver float64
	// Transport makes the bridge's deliveries; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// Server is a running local Cloud Storage. Its methods are safe for
// concurrent use.
type Server struct {
	host    string
	url     string
	project string
	gcs     *fakestorage.Server
	http    *http.Server
	served  chan error
	channel *channel
	bridge  *bridge
	admin   *storage.Client

	closeOnce sync.Once
	closeErr  error
}

// Start starts a Cloud Storage emulator listening on opts.Host and opts.Port
// and its Eventarc bridge. On error nothing is left running, except the
// process's in-process Pub/Sub (see the package documentation). The server
// runs until Close; ctx only bounds the start.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("start gcs emulator: port %d out of range", opts.Port)
	}
	if opts.RetryFor < 0 {
		return nil, fmt.Errorf("start gcs emulator: negative RetryFor %v", opts.RetryFor)
	}
	if !(opts.Redeliver >= 0 && opts.Redeliver <= 1) {
		return nil, fmt.Errorf("start gcs emulator: Redeliver %v is not a fraction from 0 to 1", opts.Redeliver)
	}
	opts = withDefaults(opts)
	idSpace, err := startPubSub()
	if err != nil {
		return nil, fmt.Errorf("start gcs emulator: %w", err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("start gcs emulator: %w", err)
	}
	s, err := start(ctx, opts, l, idSpace)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start gcs emulator: %w", err), l.Close())
	}
	return s, nil
}

func withDefaults(opts Options) Options {
	if opts.Host == "" {
		opts.Host = DefaultHost
	}
	if opts.Project == "" {
		opts.Project = DefaultProject
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryFor == 0 {
		opts.RetryFor = DefaultRetryFor
	}
	return opts
}

// start serves fake-gcs-server on l. The listener is bound before
// fake-gcs-server is built because its public host must name the real port:
// the storage client reads objects from http://<public host>/<bucket>/<object>
// and fake-gcs-server routes such requests by their Host header.
func start(ctx context.Context, opts Options, l net.Listener, idSpace uuid.UUID) (*Server, error) {
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	host := net.JoinHostPort(opts.Host, strconv.Itoa(addr.Port))
	s := &Server{
		host:    host,
		url:     "http://" + host,
		project: opts.Project,
		served:  make(chan error, 1),
	}
	var err error
	s.channel, err = openChannel(ctx, opts.Project)
	if err != nil {
		return nil, err
	}
	s.gcs, err = fakestorage.NewServerWithOptions(fakestorage.Options{
		StorageRoot: opts.Dir,
		Scheme:      "http",
		NoListener:  true,
		ExternalURL: s.url,
		PublicHost:  host,
		Writer:      opts.Writer,
		EventOptions: fakestorage.EventManagerOptions{
			ProjectID: opts.Project,
			TopicName: s.channel.topicID,
			NotifyOn:  fakestorage.EventNotificationOptions{Finalize: true},
		},
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("fakestorage.NewServerWithOptions: %w", err), s.closeChannel(ctx))
	}
	s.admin, err = s.Client(ctx)
	if err != nil {
		s.gcs.Stop()
		return nil, errors.Join(err, s.closeChannel(ctx))
	}
	errorLog := io.Discard
	if opts.Writer != nil {
		errorLog = opts.Writer
	}
	s.http = &http.Server{
		Handler:           conform(keepChunks(s.gcs.HTTPHandler())),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(errorLog, "fake-gcs-server: ", log.LstdFlags),
	}
	go func() { s.served <- s.http.Serve(l) }()
	s.bridge = startBridge(s.channel, s.url, idSpace, opts)
	return s, nil
}

// Host returns the host:port to put in STORAGE_EMULATOR_HOST.
func (s *Server) Host() string { return s.host }

// URL returns the base URL of the server, http://host:port.
func (s *Server) URL() string { return s.url }

// Client returns a new Cloud Storage client connected to the server over
// HTTP without authentication, whatever STORAGE_EMULATOR_HOST says. The
// caller closes it.
func (s *Server) Client(ctx context.Context) (*storage.Client, error) {
	c, err := storage.NewClient(ctx,
		option.WithEndpoint(s.url+"/storage/v1/"),
		option.WithoutAuthentication(),
	)
	if err != nil {
		return nil, fmt.Errorf("storage.NewClient: %w", err)
	}
	return c, nil
}

// CreateBucket creates the bucket name. It is idempotent: a bucket that
// already exists is left as it is and is not an error. An invalid name is.
func (s *Server) CreateBucket(ctx context.Context, name string) error {
	err := s.admin.Bucket(name).Create(ctx, s.project, nil)
	var apiErr *googleapi.Error
	if errors.As(err, &apiErr) && apiErr.Code == http.StatusConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return nil
}

// Forward sends every object finalized in bucket from now on to target, an
// absolute http or https URL, as the CloudEvent that Eventarc delivers for
// google.cloud.storage.object.v1.finalized. Several buckets may be forwarded;
// forwarding a bucket again replaces its target. It fails on an empty bucket
// name or an invalid target.
func (s *Server) Forward(bucket, target string) error {
	return s.bridge.forward(bucket, target)
}

// ForwardTo is Forward to the targets that pick names, asked again for each
// delivery attempt: the events of a function that runs as several instances
// reach the instance pick chooses, and a retry or a redelivery (see
// Options.Redeliver) may reach another. It fails on an empty bucket name or a
// nil pick.
func (s *Server) ForwardTo(bucket string, pick Targets) error {
	return s.bridge.forwardTo(bucket, pick)
}

// Close stops the server. It stops accepting requests and waits for those in
// progress, then stops receiving notifications and waits for the deliveries
// in flight; when ctx is done first it cancels what is left and returns an
// error after it has stopped. It then releases the server's Pub/Sub topic.
// Objects in Options.Dir are kept. Close is idempotent: later calls return
// the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Server) close(ctx context.Context) error {
	var errs []error
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shut down HTTP server: %w", err), s.http.Close())
	}
	if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	s.gcs.Stop()
	if err := s.admin.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close storage client: %w", err))
	}
	errs = append(errs, s.bridge.close(ctx), s.closeChannel(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close gcs emulator: %w", err)
	}
	return nil
}

// closeChannel releases the server's topic even when ctx has expired, so
// that a Close that ran out of time leaks nothing in the process's Pub/Sub.
func (s *Server) closeChannel(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	return s.channel.close(ctx)
}
