package bigquery_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	storage "cloud.google.com/go/bigquery/storage/apiv1"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
)

// callKey is the context key of the call state of a call tried once (see
// onceCtx).
type callKey struct{}

// onceCall is the state of one call tried once: the function that cancels
// it, the number of its requests on the wire, and the first 503 it got.
type onceCall struct {
	cancel   context.CancelFunc
	mu       sync.Mutex
	inFlight int
	fault    *http.Response
	body     []byte
}

// onceTransport is the transport of a client whose calls are tried once.
// When a request of a call is answered 503, every later request of that
// call gets the same answer without reaching the server, and once none of
// its requests is on the wire the call's context is canceled: the client
// gives up at its next retry's backoff and returns that answer (inside its
// retry error) instead of retrying until the faults end. A call may send
// requests at once (a table read gets the schema and the rows); canceling
// while one is on the wire, or letting a retry reach the wire after the
// cancel, would make the call fail with the bare cancellation.
type onceTransport struct{}

func (onceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	call, _ := req.Context().Value(callKey{}).(*onceCall)
	if call == nil {
		return http.DefaultTransport.RoundTrip(req)
	}
	call.mu.Lock()
	if call.fault != nil {
		resp := *call.fault
		resp.Header = call.fault.Header.Clone()
		resp.Body = io.NopCloser(bytes.NewReader(call.body))
		resp.Request = req
		call.mu.Unlock()
		return &resp, nil
	}
	call.inFlight++
	call.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	var body []byte
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		// Read the answer before the context is canceled, which would
		// abort the reading.
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	call.inFlight--
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable && call.fault == nil {
		call.fault, call.body = resp, body
	}
	if call.fault != nil && call.inFlight == 0 {
		call.cancel()
	}
	return resp, err
}

// onceClient returns a client of e's emulator whose calls, made with a
// context from onceCtx, are tried once.
func onceClient(t testing.TB, e *env) *bigquery.Client {
	t.Helper()
	c, err := bigquery.NewClient(context.Background(), project, option.WithEndpoint(e.url),
		option.WithHTTPClient(&http.Client{Transport: onceTransport{}}))
	if err != nil {
		t.Fatalf("bigquery.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// onceCtx returns the context of one call of a client from onceClient.
func onceCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return context.WithValue(ctx, callKey{}, &onceCall{cancel: cancel})
}

// setFaults sets the faults of e's emulator.
func setFaults(t testing.TB, srv *emulator.Server, f emulator.Faults) {
	t.Helper()
	if err := srv.SetFaults(f); err != nil {
		t.Fatalf("SetFaults(%+v): %v", f, err)
	}
}

// wantFault asserts that err is the 503 of a faulted REST call.
func wantFault(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want a 503")
	}
	apiError(t, err, http.StatusServiceUnavailable, "backendError")
	var ge *googleapi.Error
	if errors.As(err, &ge) && !strings.Contains(ge.Body, `"status":"UNAVAILABLE"`) {
		t.Errorf("body %s has no status UNAVAILABLE", ge.Body)
	}
}

// faultyDataset starts an emulator with the dataset d and the table d.t of
// two rows, and a client whose calls are tried once.
func faultyDataset(t testing.TB) (*env, *bigquery.Client) {
	t.Helper()
	e := newEnv(t, "")
	e.dataset(t, "d")
	if err := e.client.Dataset("d").Table("t").Create(context.Background(), &bigquery.TableMetadata{Schema: hiredSchema}); err != nil {
		t.Fatalf("Create d.t: %v", err)
	}
	e.insertHired(t, "t", 1, 2)
	return e, onceClient(t, e)
}

func TestServer_SetFaults(t *testing.T) {
	t.Parallel()
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		set     emulator.Faults
		want    emulator.Faults
		wantErr bool
	}{
		{"default mode", emulator.Faults{Rate: 0.5}, emulator.Faults{Rate: 0.5, Mode: emulator.FaultUnavailable}, false},
		{"drop until", emulator.Faults{Rate: 1, Until: until, Mode: emulator.FaultDrop}, emulator.Faults{Rate: 1, Until: until, Mode: emulator.FaultDrop}, false},
		{"off", emulator.Faults{}, emulator.Faults{Mode: emulator.FaultUnavailable}, false},
		{"negative rate", emulator.Faults{Rate: -0.1}, emulator.Faults{}, true},
		{"rate above 1", emulator.Faults{Rate: 1.5}, emulator.Faults{}, true},
		{"NaN rate", emulator.Faults{Rate: math.NaN()}, emulator.Faults{}, true},
		{"unknown mode", emulator.Faults{Rate: 1, Mode: "slow"}, emulator.Faults{}, true},
		{"latency alone", emulator.Faults{Latency: time.Second}, emulator.Faults{Mode: emulator.FaultUnavailable, Latency: time.Second}, false},
		{"negative latency", emulator.Faults{Latency: -time.Second}, emulator.Faults{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, err := emulator.New(context.Background(), emulator.Options{})
			if err != nil {
				t.Fatalf("emulator.New: %v", err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			before := emulator.Faults{Rate: 0.25, Mode: emulator.FaultDrop}
			setFaults(t, srv, before)
			err = srv.SetFaults(tc.set)
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("SetFaults(%+v) error = %v, want an error: %v", tc.set, err, tc.wantErr)
			}
			want := tc.want
			if tc.wantErr {
				want = before // a refused setting changes nothing
			}
			if diff := cmp.Diff(want, srv.Faults()); diff != "" {
				t.Errorf("Faults() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFaults_RESTUnavailable(t *testing.T) {
	t.Parallel()
	e, c := faultyDataset(t)
	setFaults(t, e.server, emulator.Faults{Rate: 1})
	ds := c.Dataset("d")
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"datasets.insert", func(ctx context.Context) error { return c.Dataset("new").Create(ctx, nil) }},
		{"datasets.get", func(ctx context.Context) error { _, err := ds.Metadata(ctx); return err }},
		{"tables.insert", func(ctx context.Context) error {
			return ds.Table("t2").Create(ctx, &bigquery.TableMetadata{Schema: hiredSchema})
		}},
		{"tables.delete", func(ctx context.Context) error { return ds.Table("t").Delete(ctx) }},
		{"jobs.insert of an INSERT", func(ctx context.Context) error {
			q := c.Query("INSERT d.t (id, name, datetime) VALUES (3, 'three', CURRENT_TIMESTAMP())")
			_, err := q.Run(ctx)
			return err
		}},
		{"jobs.query", func(ctx context.Context) error { _, err := c.Query("SELECT 1").Read(ctx); return err }},
		{"jobs.list", func(ctx context.Context) error { _, err := c.Jobs(ctx).Next(); return err }},
		{"tabledata.list", func(ctx context.Context) error {
			var row []bigquery.Value
			return ds.Table("t").Read(ctx).Next(&row)
		}},
	}
	t.Run("calls", func(t *testing.T) {
		for _, tc := range calls {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				wantFault(t, tc.call(onceCtx(t)))
			})
		}
	})
	// A call may make more than one request (a table read gets the
	// table's schema and its rows at once), each faulted.
	if got, want := e.server.InjectedFaults(), int64(len(calls)); got < want {
		t.Errorf("InjectedFaults() = %d, want at least %d, one per call", got, want)
	}
	setFaults(t, e.server, emulator.Faults{})
	ctx := context.Background()
	_, err := e.client.Dataset("new").Metadata(ctx)
	apiError(t, err, http.StatusNotFound, "notFound")
	_, err = e.client.Dataset("d").Table("t2").Metadata(ctx)
	apiError(t, err, http.StatusNotFound, "notFound")
	if got := e.ids(t, "t"); !cmp.Equal(got, []int64{1, 2}) {
		t.Errorf("ids of d.t = %v, want [1 2]: a faulted call changed the table", got)
	}
}

func TestFaults_Window(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		faults func() emulator.Faults
		// wait returns when the faults are over.
		wait func(f emulator.Faults)
	}{
		{"rate 0", func() emulator.Faults { return emulator.Faults{Rate: 0} }, func(emulator.Faults) {}},
		{"until in the past", func() emulator.Faults {
			return emulator.Faults{Rate: 1, Until: time.Now().Add(-time.Second)}
		}, func(emulator.Faults) {}},
		{"until passed", func() emulator.Faults {
			return emulator.Faults{Rate: 1, Until: time.Now().Add(200 * time.Millisecond)}
		}, func(f emulator.Faults) { time.Sleep(time.Until(f.Until)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, c := faultyDataset(t)
			f := tc.faults()
			setFaults(t, e.server, f)
			tc.wait(f)
			before := e.server.InjectedFaults()
			if _, err := c.Dataset("d").Metadata(onceCtx(t)); err != nil {
				t.Errorf("datasets.get: %v", err)
			}
			q := c.Query("INSERT d.t (id, name, datetime) VALUES (3, 'three', CURRENT_TIMESTAMP())")
			job, err := q.Run(onceCtx(t))
			if err != nil {
				t.Fatalf("jobs.insert: %v", err)
			}
			if status, err := job.Wait(onceCtx(t)); err != nil || status.Err() != nil {
				t.Fatalf("INSERT: %v %v", err, status.Err())
			}
			if got := e.server.InjectedFaults(); got != before {
				t.Errorf("InjectedFaults() = %d after the faults, want %d", got, before)
			}
		})
	}
}

// TestFaults_Retried checks that a client's retries get through a window of
// faults, and that the faulted attempts wrote nothing: the retried INSERT
// lands once.
func TestFaults_Retried(t *testing.T) {
	t.Parallel()
	e, _ := faultyDataset(t)
	setFaults(t, e.server, emulator.Faults{Rate: 1, Until: time.Now().Add(300 * time.Millisecond)})
	e.exec(t, "INSERT d.t (id, name, datetime) VALUES (3, 'three', CURRENT_TIMESTAMP())")
	if got := e.ids(t, "t"); !cmp.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("ids of d.t = %v, want [1 2 3]", got)
	}
}

func TestFaults_Rate(t *testing.T) {
	t.Parallel()
	const calls = 200
	cases := []struct {
		name string
		// caller returns a function that makes one call, tried once, and
		// reports whether it was faulted; any other error fails the test.
		caller func(t *testing.T, e *writeEnv) func() bool
	}{
		{"REST", func(t *testing.T, e *writeEnv) func() bool {
			ds := onceClient(t, e.env).Dataset("d")
			return func() bool {
				_, err := ds.Metadata(onceCtx(t))
				if err != nil {
					wantFault(t, err)
				}
				return err != nil
			}
		}},
		{"gRPC", func(t *testing.T, e *writeEnv) func() bool {
			c := onceWriteClient(t, e)
			req := &storagepb.GetWriteStreamRequest{Name: defaultStream("h")}
			return func() bool {
				_, err := c.GetWriteStream(context.Background(), req)
				if err != nil {
					wantStatus(t, err, codes.Unavailable, "injected")
				}
				return err != nil
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newWriteEnv(t)
			e.createTable(t, "h", hiredSchema)
			call := tc.caller(t, e)
			setFaults(t, e.server, emulator.Faults{Rate: 0.5})
			failed := 0
			for range calls {
				if call() {
					failed++
				}
			}
			// Each bound fails with probability 2^-200.
			if failed < 1 || failed > calls-1 {
				t.Errorf("%d of %d calls failed at rate 0.5", failed, calls)
			}
			if got := e.server.InjectedFaults(); got != int64(failed) {
				t.Errorf("InjectedFaults() = %d, want %d", got, failed)
			}
		})
	}
}

// onceWriteClient returns the Storage Write API client that managedwriter
// wraps, connected to e's emulator, with its retries off: its unary calls
// are tried once, where they would retry codes.Unavailable.
func onceWriteClient(t testing.TB, e *writeEnv) *storage.BigQueryWriteClient {
	t.Helper()
	c, err := storage.NewBigQueryWriteClient(context.Background(), grpcOptions(e.addr)...)
	if err != nil {
		t.Fatalf("NewBigQueryWriteClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.CallOptions.GetWriteStream = nil
	return c
}

func TestFaults_RESTDrop(t *testing.T) {
	t.Parallel()
	e, c := faultyDataset(t)
	setFaults(t, e.server, emulator.Faults{Rate: 1, Mode: emulator.FaultDrop})
	cases := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"GET", func(ctx context.Context) error { _, err := c.Dataset("d").Metadata(ctx); return err }},
		{"POST", func(ctx context.Context) error { return c.Dataset("new").Create(ctx, nil) }},
	}
	t.Run("calls", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				err := tc.call(onceCtx(t))
				var ue *url.Error
				var ge *googleapi.Error
				switch {
				case err == nil:
					t.Fatal("no error, want a transport error")
				case errors.As(err, &ge):
					t.Errorf("error %v is an answer, want a transport error", err)
				case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
					t.Errorf("error %v: the client retried the dropped call", err)
				case !errors.As(err, &ue):
					t.Errorf("error %v (%T) is not a *url.Error", err, err)
				}
			})
		}
	})
	if e.server.InjectedFaults() < int64(len(cases)) {
		t.Errorf("InjectedFaults() = %d, want at least %d", e.server.InjectedFaults(), len(cases))
	}
	setFaults(t, e.server, emulator.Faults{})
	_, err := e.client.Dataset("new").Metadata(context.Background())
	apiError(t, err, http.StatusNotFound, "notFound")
}

func TestFaults_GRPC(t *testing.T) {
	t.Parallel()
	for _, mode := range []emulator.FaultMode{emulator.FaultUnavailable, emulator.FaultDrop} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newWriteEnv(t)
			e.createTable(t, "h", hiredSchema)
			md, dp := writerSchema(t, hiredSchema)
			ms := e.open(t, "h", dp)
			setFaults(t, e.server, emulator.Faults{Rate: 1, Mode: mode})

			_, err := onceWriteClient(t, e).GetWriteStream(context.Background(), &storagepb.GetWriteStreamRequest{Name: defaultStream("h")})
			wantStatus(t, err, codes.Unavailable, "injected")
			_, err = appendRows(ms, hiredRows(t, md, 1, 3))
			wantStatus(t, err, codes.Unavailable, "injected")
			if got := e.server.InjectedFaults(); got != 2 {
				t.Errorf("InjectedFaults() = %d, want 2", got)
			}
			if got := strings.Count(e.logs.String(), "injected a fault"); got != 2 {
				t.Errorf("%d DEBUG lines about injected faults, want 2:\n%s", got, e.logs.String())
			}

			setFaults(t, e.server, emulator.Faults{})
			if n := e.count(t, "h"); n != 0 {
				t.Errorf("d.h has %d rows after a faulted append, want 0", n)
			}
			mustAppend(t, ms, hiredRows(t, md, 4, 2))
			if n := e.count(t, "h"); n != 2 {
				t.Errorf("d.h has %d rows, want the 2 of the append after the faults", n)
			}
		})
	}
}

// TestFaults_AppendRowsMidStream checks that a faulted request ends an
// AppendRows call whose earlier requests landed, and only those.
func TestFaults_AppendRowsMidStream(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	e.createTable(t, "h", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)
	ms := e.open(t, "h", dp)
	mustAppend(t, ms, hiredRows(t, md, 1, 2))
	setFaults(t, e.server, emulator.Faults{Rate: 1})
	_, err := appendRows(ms, hiredRows(t, md, 3, 2))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("append during faults: %v, want Unavailable", err)
	}
	setFaults(t, e.server, emulator.Faults{})
	if got := e.ids(t, "h"); !cmp.Equal(got, []int64{1, 2}) {
		t.Errorf("ids of d.h = %v, want [1 2]", got)
	}
}

// TestFaults_Latency: a held call that its caller abandons does nothing; one
// that its caller waits for is served.
func TestFaults_Latency(t *testing.T) {
	t.Parallel()
	e, _ := faultyDataset(t)
	setFaults(t, e.server, emulator.Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	q := e.client.Query("INSERT d.t (id, name, datetime, department_id, job_id) VALUES (3, 'n', TIMESTAMP '2021-01-01 00:00:00+00', 1, NULL)")
	if _, err := q.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call held for an hour, abandoned: %v, want the caller's deadline", err)
	}
	setFaults(t, e.server, emulator.Faults{Latency: 50 * time.Millisecond})
	if got := e.read(t, "SELECT COUNT(*) FROM d.t"); got[0][0] != int64(2) {
		t.Errorf("d.t has %v rows, want 2: the abandoned insert did nothing", got[0][0])
	}
}
