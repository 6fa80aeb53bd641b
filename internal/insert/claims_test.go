package insert_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// gateAppender holds every append to a raw table until its gate opens, and
// counts the rows appended per table; it ignores cancellation, like an
// instance that hangs.
type gateAppender struct {
	gate    chan struct{}
	entered chan struct{}
	mu      sync.Mutex
	rows    map[string]int
}

func newGateAppender() *gateAppender {
	return &gateAppender{gate: make(chan struct{}), entered: make(chan struct{}, 16), rows: map[string]int{}}
}

func (g *gateAppender) Append(_ context.Context, table string, _ bigquery.Schema, rows [][]byte) error {
	if table != warehouse.RejectedRows {
		g.entered <- struct{}{}
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rows[table] += len(rows)
	return nil
}

func (g *gateAppender) count(table string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rows[table]
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, url, key string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/tables/jobs/rows", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return answer{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	testutil.ValidateResponse(t, insert.OpenAPI(dictionary.Default()), req, resp.StatusCode, resp.Header, data)
	return answer{resp.StatusCode, resp.Header, data}
}

// TestInsert_InProgress: while a batch is being written, the same key
// answers 409 with Retry-After; once written, it answers the first answer.
// When the writing instance outlives its lease, the next request takes the
// batch over; both append the same rows and answer the same, and the
// refused row is recorded once.
func TestInsert_InProgress(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	g := newGateAppender()
	svc, err := insert.NewService(insert.Options{Dictionary: dictionary.Default(), Appender: g, Transient: func(error) bool { return true },
		Claims: newClaimsWithLease(t, lease), MaxBodyBytes: 1 << 20, Timeout: lease})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Mounted at /insert-rows/ as in the local stack, where the OpenAPI
	// validation expects it.
	mux := http.NewServeMux()
	mux.Handle("/insert-rows/", http.StripPrefix("/insert-rows", svc.Handler(guard)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/insert-rows"
	body := jsonRows(`{"id": 1, "job": "A"}`, `{"id": 0, "job": "refused"}`)

	late := make(chan answer, 1)
	go func() { late <- post(t, url, "k", body) }()
	<-g.entered
	busy := post(t, url, "k", body)
	if busy.status != http.StatusConflict || !strings.Contains(string(busy.body), `"code":"request_in_progress"`) || busy.header.Get("Retry-After") != "1" {
		t.Errorf("while in progress: %d Retry-After %q %s", busy.status, busy.header.Get("Retry-After"), busy.body)
	}

	time.Sleep(lease + 100*time.Millisecond) // the first attempt outlives its lease
	taker := make(chan answer, 1)
	go func() { taker <- post(t, url, "k", body) }()
	<-g.entered
	close(g.gate)
	took, lost := <-taker, <-late
	if took.status != http.StatusOK {
		t.Fatalf("the takeover answered %d %s", took.status, took.body)
	}
	if lost.status != http.StatusOK || !bytes.Equal(lost.body, took.body) {
		t.Errorf("the late attempt answered %d %s, want the takeover's answer %s", lost.status, lost.body, took.body)
	}
	replay := post(t, url, "k", body)
	if replay.status != http.StatusOK || !bytes.Equal(replay.body, took.body) || replay.header.Get(insert.ReplayedHeader) != "true" {
		t.Errorf("replay: %d %q %s, want the takeover's answer %s", replay.status, replay.header.Get(insert.ReplayedHeader), replay.body, took.body)
	}
	if n := g.count(warehouse.RejectedRows); n != 1 {
		t.Errorf("rejected_rows got %d rows, want 1", n)
	}
}
