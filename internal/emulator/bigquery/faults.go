package bigquery

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FaultMode is how a call that the server fails on purpose fails.
type FaultMode string

const (
	// FaultUnavailable answers a faulted REST call with HTTP 503, reason
	// backendError and status UNAVAILABLE, in BigQuery's JSON error shape,
	// and a faulted gRPC call with codes.Unavailable.
	FaultUnavailable FaultMode = "unavailable"
	// FaultDrop closes the connection of a faulted REST call without an
	// answer, as a network failure would: the client sees a transport
	// error. gRPC calls share one connection, so a faulted gRPC call ends
	// with codes.Unavailable, which is what a gRPC client reports for a
	// connection that went away.
	FaultDrop FaultMode = "drop"
)

// Faults makes the server fail a fraction of the calls it receives, REST
// and gRPC alike, for testing how clients cope with an unavailable
// BigQuery. A faulted call is failed before any of its work is done, so it
// changes nothing.
type Faults struct {
	// Rate is the probability, from 0 to 1, that a call fails: 0 turns
	// faults off, 1 fails every call. Each call is drawn independently.
	Rate float64
	// Until ends the faults: calls received at or after it are served.
	// The zero time means no end.
	Until time.Time
	// Mode is how a faulted call fails; empty means FaultUnavailable.
	Mode FaultMode
	// Latency holds every call (a REST request, a gRPC unary call, an
	// AppendRows request) this long before it is served or failed, until
	// Until, so that a caller stays in flight long enough to be killed
	// mid-call in a test. A caller that goes away while held gets nothing
	// done. 0 adds nothing.
	Latency time.Duration
}

// faultState is the fault setting and the count of faults injected.
type faultState struct {
	setting atomic.Pointer[Faults] // nil: no faults
	count   atomic.Int64
}

// SetFaults replaces the server's fault setting; it applies to the calls
// received after SetFaults returns. Faults{} (or any Rate of 0) turns
// faults off. A Rate outside [0, 1] or an unknown Mode is an error, and
// then the setting does not change. Safe for concurrent use.
func (s *Server) SetFaults(f Faults) error {
	if math.IsNaN(f.Rate) || f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("bigquery emulator: set faults: rate %v is not between 0 and 1", f.Rate)
	}
	if f.Latency < 0 {
		return fmt.Errorf("bigquery emulator: set faults: latency %v is negative", f.Latency)
	}
	switch f.Mode {
	case "":
		f.Mode = FaultUnavailable
	case FaultUnavailable, FaultDrop:
	default:
		return fmt.Errorf("bigquery emulator: set faults: unknown mode %q (want %q or %q)", f.Mode, FaultUnavailable, FaultDrop)
	}
	s.faults.setting.Store(&f)
	return nil
}

// Faults returns the current fault setting, with Mode filled in. A setting
// whose Until has passed is still returned; it fails no call.
func (s *Server) Faults() Faults {
	if f := s.faults.setting.Load(); f != nil {
		return *f
	}
	return Faults{Mode: FaultUnavailable}
}

// InjectedFaults returns how many calls (REST requests, gRPC unary calls
// and AppendRows requests) the server has failed on purpose since it was
// created.
func (s *Server) InjectedFaults() int64 { return s.faults.count.Load() }

// fault decides whether the call named call fails, and if so counts it,
// logs it and returns how it fails.
func (s *Server) fault(call string) (FaultMode, bool) {
	f := s.faults.setting.Load()
	if f == nil || f.Rate == 0 {
		return "", false
	}
	if !f.Until.IsZero() && !time.Now().Before(f.Until) {
		return "", false
	}
	if rand.Float64() >= f.Rate {
		return "", false
	}
	n := s.faults.count.Add(1)
	s.log.Debug("bigquery emulator injected a fault", "call", call, "mode", f.Mode, "faults", n)
	return f.Mode, true
}

// holding reports whether calls are held now (see Faults.Latency).
func (s *Server) holding() bool { return s.latency() > 0 }

// latency is how long a call received now is held.
func (s *Server) latency() time.Duration {
	f := s.faults.setting.Load()
	if f == nil || (!f.Until.IsZero() && !time.Now().Before(f.Until)) {
		return 0
	}
	return f.Latency
}

// hold waits the setting's Latency; it returns the caller's context error
// if the caller went away meanwhile, and then the call must do nothing.
func (s *Server) hold(ctx context.Context) error {
	d := s.latency()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// faultMessage is the message of a faulted call's error.
const faultMessage = "The service is currently unavailable (a fault injected by the emulator). Retrying may solve the problem."

// failREST fails a REST call as mode says, before anything else reads the
// request.
func failREST(w http.ResponseWriter, r *http.Request, mode FaultMode) {
	if mode == FaultUnavailable {
		writeError(w, newError(http.StatusServiceUnavailable, "backendError", faultMessage))
		return
	}
	// Reading the body first lets the connection close cleanly (a FIN,
	// not a reset) whatever the client had sent.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, or a wrapper that hides it): the
		// server aborts the response instead, resetting the stream or
		// closing the connection.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// errFault is a faulted gRPC call's status.
func errFault() error { return status.Error(codes.Unavailable, faultMessage) }

// unaryFaults fails faulted unary gRPC calls before their handler runs.
func (s *Server) unaryFaults(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.hold(ctx); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	if _, ok := s.fault(info.FullMethod); ok {
		return nil, errFault()
	}
	return handler(ctx, req)
}

// streamFaults fails streaming gRPC calls at a faulted request: the
// request is received but never reaches the handler, whose receive fails
// with the fault's status, which ends the call.
func (s *Server) streamFaults(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &faultyStream{ServerStream: ss, s: s, method: info.FullMethod})
}

// faultyStream is a server stream whose received messages may be faulted.
type faultyStream struct {
	grpc.ServerStream
	s      *Server
	method string
}

func (f *faultyStream) RecvMsg(m any) error {
	if err := f.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if err := f.s.hold(f.Context()); err != nil {
		return status.FromContextError(err).Err()
	}
	if _, ok := f.s.fault(f.method); ok {
		return errFault()
	}
	return nil
}
