package gcs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// syncBuffer collects log lines from several goroutines.
type syncBuffer struct{ testutil.SyncBuffer }

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// count returns how many log lines have severity and a message containing
// msg, and carry ingestion id id.
func (b *syncBuffer) count(t *testing.T, severity, msg, id string) int {
	t.Helper()
	n := 0
	for _, l := range b.lines(t) {
		m, _ := l[logging.KeyMessage].(string)
		if l[logging.KeySeverity] == severity && strings.Contains(m, msg) && l[logging.KeyIngestionID] == id {
			n++
		}
	}
	return n
}

// start starts a server that is closed when the test ends, logging to the
// returned buffer, which the test log shows if the test fails.
func start(t testing.TB, opts gcs.Options) (*gcs.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = logging.New(logs, slog.LevelDebug)
	s, err := gcs.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator logs:\n%s", logs)
		}
	})
	return s, logs
}

// client returns s.Client, closed when the test ends.
func client(t testing.TB, s *gcs.Server) *storage.Client {
	t.Helper()
	c, err := s.Client(t.Context())
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// bucket creates a bucket on s.
func bucket(t testing.TB, s *gcs.Server, name string) {
	t.Helper()
	if err := s.CreateBucket(t.Context(), name); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

// put writes data to bucket/name through c, in chunks of chunk bytes when
// chunk is not zero (a resumable upload), and returns the new object's
// attributes.
func put(t *testing.T, c *storage.Client, bucket, name string, data []byte, chunk int) *storage.ObjectAttrs {
	t.Helper()
	w := c.Bucket(bucket).Object(name).NewWriter(t.Context())
	w.ChunkSize = chunk
	w.ContentType = "text/csv"
	w.Metadata = map[string]string{"source": "test"}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write gs://%s/%s: %v", bucket, name, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close writer of gs://%s/%s: %v", bucket, name, err)
	}
	return w.Attrs()
}

// delivery is one request received by a receiver.
type delivery struct {
	event cloudevents.Event
	body  map[string]any
}

// receiver is an event target that records what it receives and answers
// with the given statuses in turn, then 200.
type receiver struct {
	url        string
	deliveries chan delivery

	mu       sync.Mutex
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{deliveries: make(chan delivery, 100), statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("read delivery: %v", err)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		ev, err := cloudevents.NewEventFromHTTPRequest(req)
		if err != nil {
			t.Errorf("NewEventFromHTTPRequest: %v", err)
		}
		d := delivery{}
		if ev != nil {
			d.event = *ev
		}
		if err := json.Unmarshal(raw, &d.body); err != nil {
			t.Errorf("body %q is not a JSON object: %v", raw, err)
		}
		r.deliveries <- d
		w.WriteHeader(r.status())
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *receiver) status() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.statuses) == 0 {
		return http.StatusOK
	}
	s := r.statuses[0]
	r.statuses = r.statuses[1:]
	return s
}

// next waits for the next delivery.
func (r *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-r.deliveries:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
		return delivery{}
	}
}

// quiet fails if anything is delivered within d.
func (r *receiver) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-r.deliveries:
		t.Errorf("unexpected delivery %s of %s", got.event.ID(), got.event.Subject())
	case <-time.After(d):
	}
}
