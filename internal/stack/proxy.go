package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// InstanceHeader is the header of every answer that a function gives through
// the stack's URL: the process id of the instance that answered.
const InstanceHeader = "X-Hiring-Instance"

// Bounds of the proxy in front of a function's instances.
const (
	// maxProxiedBody is the largest request body the proxy holds to resend
	// it; larger ones are answered 413.
	maxProxiedBody = 32 << 20
	// noInstanceWait is how long a request waits for a live instance when
	// none can take it, as Cloud Run holds requests during a cold start.
	noInstanceWait = 10 * time.Second
	// dialTimeout bounds the connection to an instance, on this machine.
	dialTimeout = 2 * time.Second
)

// errNoInstance fails a request that no live instance could take.
var errNoInstance = errors.New("no live instance could take the request")

// tracker counts the requests in flight to each instance, whoever sends
// them: it is the transport of the proxy and of the Eventarc bridge.
type tracker struct {
	base *http.Transport

	mu     sync.RWMutex
	byHost map[string]*instance
}

func newTracker() *tracker {
	return &tracker{
		base: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
		},
		byHost: map[string]*instance{},
	}
}

func (t *tracker) add(inst *instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byHost[inst.host] = inst
}

func (t *tracker) remove(inst *instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byHost[inst.host] == inst {
		delete(t.byHost, inst.host)
	}
}

// RoundTrip sends req; a request to a live instance is in flight until its
// answer's body is closed.
func (t *tracker) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.RLock()
	inst := t.byHost[req.URL.Host]
	t.mu.RUnlock()
	if inst == nil {
		return t.base.RoundTrip(req)
	}
	inst.inFlight.Add(1)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		inst.inFlight.Add(-1)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, count: &inst.inFlight}
	return resp, nil
}

// countedBody ends a request in flight when its answer is closed.
type countedBody struct {
	io.ReadCloser
	count *atomic.Int64
	once  sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.count.Add(-1) })
	return b.ReadCloser.Close()
}

// proxy serves a function's routes at its root through its live instances,
// as Cloud Run's load balancer does: each request goes to the next instance,
// round-robin; one that cannot be reached is tried on the next; a failure
// after the request was sent is answered 502 (the client retries), and no
// live instance within noInstanceWait 503. The body is held in memory so
// that it can be sent again.
func (f *fleet) proxy() http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.SetXForwarded()
		},
		Transport: fleetTransport{f},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			if errors.Is(err, errNoInstance) {
				status = http.StatusServiceUnavailable
				w.Header().Set("Retry-After", "1")
			}
			if r.Context().Err() == nil {
				f.logger.Warn("stack: proxy: request failed", "method", r.Method, "path", r.URL.Path, "status", status, logging.KeyError, err.Error())
			}
			http.Error(w, fmt.Sprintf("%s: %v", f.def.Name, err), status)
		},
		ErrorLog: slog.NewLogLogger(f.logger.Handler(), slog.LevelWarn),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProxiedBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, fmt.Sprintf("request body larger than %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body, r.GetBody = http.NoBody, nil
		if len(body) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		}
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
		rp.ServeHTTP(w, r)
	})
}

// fleetTransport sends each request to an instance of the fleet.
type fleetTransport struct{ f *fleet }

// RoundTrip sends req to the next live instance, and to the next one while
// an instance refuses the connection; it waits up to noInstanceWait for an
// instance when none is left to try.
func (t fleetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tried := map[*instance]bool{}
	var deadline <-chan time.Time
	for {
		inst, changed := t.f.pick(tried)
		if inst == nil {
			if deadline == nil {
				timer := time.NewTimer(noInstanceWait)
				defer timer.Stop()
				deadline = timer.C
			}
			select {
			case <-changed:
				continue
			case <-deadline:
				return nil, errNoInstance
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
		out := req.Clone(req.Context())
		out.URL.Host = inst.host
		if out.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		resp, err := t.f.tracker.RoundTrip(out)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				t.f.logger.Warn("stack: proxy: instance unreachable; trying another", "pid", inst.pid, "url", inst.url, logging.KeyError, err.Error())
				tried[inst] = true
				continue
			}
			return nil, err
		}
		resp.Header.Set(InstanceHeader, strconv.Itoa(inst.pid))
		return resp, nil
	}
}
