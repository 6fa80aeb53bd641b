package stack

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// testFleet is a fleet whose instances are the test's servers, served by
// the fleet's proxy, with its logs.
type testFleet struct {
	*fleet
	url  string
	logs *testutil.SyncBuffer
}

func newTestFleet(t *testing.T) *testFleet {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	tr := newTracker()
	f := newFleet(function.Definition{Name: "f"}, nil, tr, logging.New(logs, slog.LevelDebug))
	srv := httptest.NewServer(f.proxy())
	t.Cleanup(func() {
		srv.Close()
		tr.base.CloseIdleConnections()
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
	})
	return &testFleet{fleet: f, url: srv.URL, logs: logs}
}

// instanceAt adds an instance with pid that listens at rawURL.
func (f *testFleet) instanceAt(t *testing.T, pid int, rawURL string) *instance {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	inst := &instance{id: "f-" + strconv.Itoa(pid), pid: pid, host: u.Host, url: rawURL, exited: make(chan struct{})}
	f.add(inst)
	return inst
}

// serve adds an instance with pid served by h.
func (f *testFleet) serve(t *testing.T, pid int, h http.HandlerFunc) *instance {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return f.instanceAt(t, pid, srv.URL)
}

// refusing returns a URL whose port refuses connections.
func refusing(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Path", r.URL.Path)
	_, _ = w.Write(body)
}

// post sends body to path through the fleet's proxy and returns the answer.
func (f *testFleet) post(t *testing.T, path, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(f.url+path, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return resp, string(got)
}

func TestProxy_retriesARefusedConnectionOnTheNextInstance(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t)
	f.instanceAt(t, 1, refusing(t))
	f.serve(t, 2, echo)

	body := strings.Repeat("row,", 1000)
	resp, got := f.post(t, "/tables/jobs/rows", body)
	if resp.StatusCode != http.StatusOK || got != body {
		t.Fatalf("answer %s with %d bytes, want 200 with the %d bytes sent", resp.Status, len(got), len(body))
	}
	if pid := resp.Header.Get(InstanceHeader); pid != "2" {
		t.Errorf("%s = %q, want the live instance, 2", InstanceHeader, pid)
	}
	if path := resp.Header.Get("X-Path"); path != "/tables/jobs/rows" {
		t.Errorf("the instance saw path %q", path)
	}
	if !strings.Contains(f.logs.String(), "instance unreachable") {
		t.Error("no log line about the unreachable instance")
	}
}

func TestProxy_roundRobin(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t)
	for pid := range 3 {
		f.serve(t, pid+1, echo)
	}
	var got []string
	for range 6 {
		resp, _ := f.post(t, "/", "x")
		got = append(got, resp.Header.Get(InstanceHeader))
	}
	if s := strings.Join(got, ","); s != "1,2,3,1,2,3" {
		t.Errorf("instances that answered: %s, want 1,2,3,1,2,3", s)
	}
}

func TestProxy_failureAfterSendingIs502(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t)
	f.serve(t, 1, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close() // dies without answering
	})
	if resp, _ := f.post(t, "/", "x"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("answer %s, want 502", resp.Status)
	}
}

func TestProxy_countsRequestsInFlight(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t)
	release := make(chan struct{})
	f.serve(t, 1, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		<-release
	})
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(f.url+"/", "text/plain", bytes.NewReader([]byte("x")))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for f.snapshot()[0].InFlight != want {
			if time.Now().After(deadline) {
				t.Fatalf("in flight: %d after 10 s, want %d", f.snapshot()[0].InFlight, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(1)
	close(release)
	if status := <-answered; status != http.StatusOK {
		t.Errorf("answer %d, want 200", status)
	}
	waitFor(0)
}

func TestProxy_waitsForAnInstance(t *testing.T) {
	t.Parallel()
	f := newTestFleet(t)
	answered := make(chan string, 1)
	go func() {
		resp, err := http.Post(f.url+"/", "text/plain", strings.NewReader("late"))
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answered <- resp.Status + " " + string(body)
	}()
	time.Sleep(100 * time.Millisecond) // let the request wait
	f.serve(t, 1, echo)
	if got := <-answered; got != "200 OK late" {
		t.Errorf("answer %q, want 200 OK late", got)
	}
}
