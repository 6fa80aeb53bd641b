package faultsuite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	// The instances serve the functions that the root package registers.
	_ "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestMain lets this test binary serve as the stacks' function instances.
func TestMain(m *testing.M) {
	function.ServeIfInstance()
	os.Exit(m.Run())
}

// instances is how many processes run each function in every test here.
const instances = 3

// env is a local stack whose functions run as instances processes each.
type env struct {
	st  *stack.Stack
	cfg stack.Config
	bq  *bigquery.Client
	gcs *storage.Client
	// logs has the instances' log lines, stackLogs the stack's (the
	// Eventarc bridge's among them).
	logs, stackLogs *testutil.SyncBuffer
}

func newEnv(t *testing.T, functions []function.Definition, vars map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	cmd, err := function.TestInstanceCommand()
	if err != nil {
		t.Fatal(err)
	}
	logs, stackLogs := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	start := time.Now()
	st, err := stack.Start(ctx, stack.Options{Functions: functions, Instances: instances, InstanceCommand: cmd, InstanceOutput: logs, Env: vars,
		Logger: logging.New(stackLogs, slog.LevelInfo)})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(context.Background()); err != nil {
			t.Errorf("stack.Close: %v", err)
		}
		if t.Failed() {
			t.Logf("the stack's logs:\n%s\ninstances' logs:\n%s", tail(stackLogs.String(), 4000), tail(logs.String(), 8000))
		}
	})
	t.Logf("stack with %d instances of %d function(s) started in %.1fs", instances, len(functions), time.Since(start).Seconds())
	cfg := st.Config()
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bq.Close() })
	gcs, err := st.Storage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gcs.Close() })
	return &env{st: st, cfg: cfg, bq: bq, gcs: gcs, logs: logs, stackLogs: stackLogs}
}

// attempts returns what the Eventarc bridge logged of its deliveries of an
// object: the attempts of each delivery it finished.
func (e *env) attempts(object string) string {
	var out []string
	for _, line := range strings.Split(e.stackLogs.String(), "\n") {
		var rec struct {
			Message     string `json:"message"`
			IngestionID string `json:"ingestion_id"`
			Attempts    int    `json:"attempts"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.IngestionID, "/"+object+"#") && strings.Contains(rec.Message, "event delivered") {
			out = append(out, strconv.Itoa(rec.Attempts))
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// urls returns the URL of each instance of a function.
func (e *env) urls(t *testing.T, name string) []string {
	t.Helper()
	var urls []string
	for _, in := range e.st.Instances()[name] {
		urls = append(urls, in.URL)
	}
	if len(urls) != instances {
		t.Fatalf("%s has %d instances, want %d", name, len(urls), instances)
	}
	return urls
}

// count runs a query whose answer is one integer.
func (e *env) count(t *testing.T, sql string, params ...bigquery.QueryParameter) int64 {
	t.Helper()
	q := e.bq.Query(sql)
	q.Parameters = params
	rows := testutil.Query(t, q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: %v, want one value", sql, rows)
	}
	n, ok := rows[0][0].(int64)
	if !ok {
		t.Fatalf("%s: %v is not an integer", sql, rows[0][0])
	}
	return n
}

// counts are the rows readers see in each view, and the rows of
// rejected_rows and ingest_log: what every test ends by checking.
type counts struct {
	Departments, Jobs, HiredEmployees, RejectedRows, IngestLog int64
}

// checkCounts fails the test unless the dataset holds exactly want.
func (e *env) checkCounts(t *testing.T, want counts) {
	t.Helper()
	rows := testutil.Query(t, e.bq.Query(`SELECT
		(SELECT COUNT(*) FROM hiring.departments), (SELECT COUNT(*) FROM hiring.jobs),
		(SELECT COUNT(*) FROM hiring.hired_employees), (SELECT COUNT(*) FROM hiring.rejected_rows),
		(SELECT COUNT(*) FROM hiring.ingest_log)`))
	r := rows[0]
	got := counts{r[0].(int64), r[1].(int64), r[2].(int64), r[3].(int64), r[4].(int64)}
	if got != want {
		t.Errorf("the dataset holds %+v, want %+v", got, want)
	}
}

// kill sends SIGKILL to an instance.
func kill(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

// busyInstance waits until an instance of a function has a request in
// flight and returns it.
func (e *env) busyInstance(t *testing.T, name string) stack.Instance {
	t.Helper()
	in, err := e.waitBusy(name)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// waitBusy is busyInstance for goroutines other than the test's.
func (e *env) waitBusy(name string) (stack.Instance, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, in := range e.st.Instances()[name] {
			if in.InFlight > 0 {
				return in, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return stack.Instance{}, fmt.Errorf("no instance of %s had a request in flight for 60s", name)
}

// answer is a final answer of insert-rows, and how many attempts it took.
type answer struct {
	status   int
	body     []byte
	replayed bool
	// retries counts the attempts before the final one, by what they got:
	// "409", "502", "503", "connection".
	retries map[string]int
}

// retried sums the retries.
func (a answer) retried() int {
	n := 0
	for _, v := range a.retries {
		n += v
	}
	return n
}

// client sends batches to insert-rows as a careful caller does: with an
// Idempotency-Key, retrying 409, 502, 503 and lost connections after
// Retry-After (or 200 ms), until a final answer or 2 minutes.
type client struct {
	http *http.Client
	// sawRetryAfter is false once a 409 or 503 came without Retry-After.
	mu            sync.Mutex
	missingRetry  int
	statuses      map[int]int
	internalError []string
}

func newClient() *client {
	return &client{http: &http.Client{Timeout: 90 * time.Second}, statuses: map[int]int{}}
}

func (c *client) send(ctx context.Context, url, table, key string, body []byte) (answer, error) {
	a := answer{retries: map[string]int{}}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		wait, retry, err := c.attempt(ctx, url, table, key, body, &a)
		if err != nil {
			return a, err
		}
		if retry == "" {
			return a, nil
		}
		a.retries[retry]++
		if time.Now().After(deadline) {
			return a, fmt.Errorf("key %s: no final answer after 2 minutes (%v)", key, a.retries)
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// attempt sends once; it returns what to wait and why to retry, or fills
// a with the final answer.
func (c *client) attempt(ctx context.Context, url, table, key string, body []byte, a *answer) (time.Duration, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/tables/"+table+"/rows", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", ctx.Err()
		}
		return 200 * time.Millisecond, "connection", nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 200 * time.Millisecond, "connection", nil
	}
	c.mu.Lock()
	c.statuses[resp.StatusCode]++
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
		c.internalError = append(c.internalError, fmt.Sprintf("%d %s", resp.StatusCode, data))
	}
	// A function's 5xx (the stack's proxy answers its own in plain text)
	// is generic, with an error_id.
	if resp.StatusCode >= 500 && resp.Header.Get("Content-Type") == "application/problem+json" && !bytes.Contains(data, []byte(`"error_id":"`)) {
		c.internalError = append(c.internalError, fmt.Sprintf("%d without an error_id: %s", resp.StatusCode, data))
	}
	c.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusConflict, http.StatusServiceUnavailable:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 {
			c.mu.Lock()
			c.missingRetry++
			c.mu.Unlock()
			secs = 1
		}
		return time.Duration(secs) * time.Second, strconv.Itoa(resp.StatusCode), nil
	case http.StatusBadGateway:
		return 200 * time.Millisecond, "502", nil
	}
	a.status, a.body, a.replayed = resp.StatusCode, data, resp.Header.Get(insert.ReplayedHeader) == "true"
	return 0, "", nil
}

// check fails the test for any answer a careful client must never get: a
// 5xx other than 502 and 503, or a 409 or 503 without Retry-After.
func (c *client) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.internalError) > 0 {
		t.Errorf("%d answers were server errors other than 502 and 503, or without an error_id, first: %s", len(c.internalError), c.internalError[0])
	}
	if c.missingRetry > 0 {
		t.Errorf("%d answers 409 or 503 had no Retry-After", c.missingRetry)
	}
}

// requests returns the answers the client got, by status.
func (c *client) requests() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for k, v := range c.statuses {
		out[k] = v
	}
	return out
}

func sum(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// employees returns a JSON batch of n valid hired_employees rows with ids
// from first, plus invalid rows with id 0.
func employees(first int64, n, invalid int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"rows": [`)
	for i := range n + invalid {
		if i > 0 {
			b.WriteByte(',')
		}
		id := first + int64(i)
		if i >= n {
			id = 0
		}
		fmt.Fprintf(&b, `{"id": %d, "name": "Employee %d", "datetime": "2021-%02d-15T10:00:00Z", "department_id": %d, "job_id": %d}`,
			id, id, 1+i%12, 1+i%12, 1+i%183)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// waitLoaded waits, up to 3 minutes, until ingest_log has a row for each
// object and returns their outcomes, rows loaded and rejected.
func (e *env) waitLoaded(t *testing.T, objects ...string) map[string][3]string {
	t.Helper()
	out := map[string][3]string{}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		for _, o := range objects {
			q := e.bq.Query("SELECT outcome, rows_loaded, rows_rejected FROM hiring.ingest_log WHERE object = @o")
			q.Parameters = []bigquery.QueryParameter{{Name: "o", Value: o}}
			rows := testutil.Query(t, q)
			if len(rows) > 1 {
				t.Fatalf("ingest_log has %d rows for %s", len(rows), o)
			}
			if len(rows) == 1 {
				out[o] = [3]string{fmt.Sprint(rows[0][0]), fmt.Sprint(rows[0][1]), fmt.Sprint(rows[0][2])}
			}
		}
		if len(out) == len(objects) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes, ingest_log has %v of %v", out, objects)
		}
	}
}

// upload writes data to the landing bucket as object and returns its
// generation.
func (e *env) upload(t *testing.T, object string, data []byte) int64 {
	t.Helper()
	w := e.gcs.Bucket(e.cfg.Buckets.Landing).Object(object).NewWriter(context.Background())
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Attrs().Generation
}
