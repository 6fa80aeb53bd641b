// Package function describes the deployed Cloud Functions once, so that the
// root package registers them with functions-framework-go and the local
// stack mounts the very same handlers.
package function

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// EventHandler handles a CloudEvent. A returned error asks for the event to
// be delivered again; permanent failures are logged and return nil.
type EventHandler func(ctx context.Context, e event.Event) error

// Definition is one deployed function.
type Definition struct {
	// Name is the function's name in Terraform, and its path in the local
	// stack: /<name>/.
	Name string
	// EntryPoint is the name registered with functions-framework-go, which
	// is Terraform's entry_point.
	EntryPoint string
	// TriggerBucket, for a CloudEvent function, is the bucket whose
	// finalized objects trigger it: "landing", "staging" or "backups".
	TriggerBucket string
	// Config is a zero value of the configuration struct the function reads
	// (see package config), so that tests can check that every variable it
	// reads is documented and set by Terraform.
	Config any
	// HTTP builds an HTTP function from configuration found by lookup.
	HTTP func(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error)
	// Event builds a CloudEvent function from configuration found by lookup.
	Event func(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (EventHandler, error)
}

// Lazy builds a value on first use and keeps it once built; a failed build
// is tried again on the next use, so that an instance recovers from a
// transient failure at start.
type Lazy[T any] struct {
	mu    sync.Mutex
	build func() (T, error)
	value T
	built bool
}

// NewLazy returns a Lazy that builds with build.
func NewLazy[T any](build func() (T, error)) *Lazy[T] { return &Lazy[T]{build: build} }

// Get returns the value, building it if needed.
func (l *Lazy[T]) Get() (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.built {
		return l.value, nil
	}
	v, err := l.build()
	if err != nil {
		return v, err
	}
	l.value, l.built = v, true
	return v, nil
}

// EventHTTP serves a CloudEvent function over HTTP as the Functions
// Framework does: a binary or structured CloudEvent in, 204 when the handler
// succeeds, 500 when it asks for a retry, 400 for a request that is not a
// CloudEvent.
func EventHTTP(h EventHandler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			httpapi.RenderProblem(httpapi.Errorf(http.StatusBadRequest, "not_a_cloudevent", "the request is not a CloudEvent: %v", err)).Write(w)
			return
		}
		if err := h(r.Context(), *e); err != nil {
			httpapi.Fail(logger, httpapi.ServerProblem(http.StatusInternalServerError, "event_failed",
				"the event was not handled; it will be delivered again", err), "event_id", e.ID()).Write(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Register registers d with functions-framework-go under its entry point.
// The function is built from the process environment on its first call, so
// that a deployment with missing configuration fails loudly in its logs
// rather than at import. In an instance of a local stack (InstanceVar set),
// its log lines name the instance.
func Register(d Definition) {
	logger := logging.New(os.Stdout, slog.LevelInfo).With("function", d.Name)
	if id := os.Getenv(InstanceVar); id != "" {
		logger = logger.With("instance", id, "pid", os.Getpid())
	}
	switch {
	case d.Event != nil:
		h := NewLazy(func() (EventHandler, error) { return d.Event(context.Background(), nil, logger) })
		functions.CloudEvent(d.EntryPoint, func(ctx context.Context, e event.Event) error {
			fn, err := h.Get()
			if err != nil {
				logger.Error("function cannot start", "error", err)
				return err
			}
			return fn(ctx, e)
		})
	case d.HTTP != nil:
		h := NewLazy(func() (http.Handler, error) { return d.HTTP(context.Background(), nil, logger) })
		functions.HTTP(d.EntryPoint, func(w http.ResponseWriter, r *http.Request) {
			fn, err := h.Get()
			if err != nil {
				httpapi.Fail(logger, httpapi.ServerProblem(http.StatusInternalServerError, "cannot_start",
					"the function cannot start; its logs have the error under error_id", err)).Write(w)
				return
			}
			fn.ServeHTTP(w, r)
		})
	}
}
