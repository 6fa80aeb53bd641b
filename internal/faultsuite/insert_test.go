package faultsuite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	bqemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestConcurrentClients: 50 clients for 10 s; each batch has a key and is
// sent three times to three instances: twice at once, and once more after
// the first final answer. No row is lost or doubled, and every key is
// answered the same each time.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{insertrows.Definition}, nil)
	urls := e.urls(t, "insert-rows")
	const clients, valid, invalid = 50, 10, 1
	c := newClient()
	ctx := context.Background()
	stop := time.Now().Add(10 * time.Second)
	start := time.Now()
	var batches, retries, different, unreplayed atomic.Int64
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Go(func() {
			for b := 0; time.Now().Before(stop); b++ {
				key := fmt.Sprintf("client-%d-batch-%d", cl, b)
				body := employees(int64(cl)*1_000_000+int64(b)*100+1, valid, invalid)
				first := (cl + b) % instances
				answers := make([]answer, 3)
				errs := make([]error, 3)
				var pair sync.WaitGroup
				firstDone := make(chan struct{})
				var once sync.Once
				for i := range 2 {
					pair.Go(func() {
						answers[i], errs[i] = c.send(ctx, urls[(first+i)%instances], "hired_employees", key, body)
						once.Do(func() { close(firstDone) })
					})
				}
				<-firstDone
				answers[2], errs[2] = c.send(ctx, urls[(first+2)%instances], "hired_employees", key, body)
				pair.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("%s, send %d: %v", key, i, err)
						return
					}
				}
				batches.Add(1)
				fresh := 0
				for _, a := range answers {
					retries.Add(int64(a.retried()))
					if a.status != 200 || !bytes.Equal(a.body, answers[0].body) {
						different.Add(1)
						t.Errorf("%s answered %d %s and %d %s", key, a.status, a.body, answers[0].status, answers[0].body)
					}
					if !a.replayed {
						fresh++
					}
				}
				if fresh != 1 {
					unreplayed.Add(1)
					t.Errorf("%s: %d answers were not replays, want 1", key, fresh)
				}
			}
		})
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	c.check(t)
	n := batches.Load()
	view := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees")
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	rejected := e.count(t, "SELECT COUNT(*) FROM hiring.rejected_rows")
	t.Logf("%d clients, %.1fs: %d batches sent 3 times each, %d requests (%v), %d retries; %d rows in the view, %d raw, %d rejected",
		clients, seconds, n, sum(c.requests()), c.requests(), retries.Load(), view, raw, rejected)
	if want := n * valid; view != want || raw != want {
		t.Errorf("the view has %d rows and the raw table %d, want %d (%d batches of %d)", view, raw, want, n, valid)
	}
	if want := n * invalid; rejected != want {
		t.Errorf("rejected_rows has %d rows, want %d: one per batch", rejected, want)
	}
	e.checkCounts(t, counts{HiredEmployees: n * valid, RejectedRows: n * invalid})
	if n == 0 {
		t.Error("no batch was sent")
	}
}

// TestKeysAcrossInstances: the K2/K3/K2 scenario of issue #12, a key reused
// with another body, and A, B, A without keys, each request on another
// instance.
func TestKeysAcrossInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{insertrows.Definition}, nil)
	urls := e.urls(t, "insert-rows")
	c := newClient()
	ctx := context.Background()
	send := func(instance int, key, body string) answer {
		t.Helper()
		a, err := c.send(ctx, urls[instance%instances], "jobs", key, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	start := time.Now()
	k2 := send(0, "K2", `{"rows": [{"id": 710, "job": "Old name"}]}`)
	k3 := send(1, "K3", `{"rows": [{"id": 710, "job": "New name"}]}`)
	if k2.status != 200 || k3.status != 200 {
		t.Fatalf("K2 %d %s, K3 %d %s", k2.status, k2.body, k3.status, k3.body)
	}
	// 520 other requests, from 8 workers, over every instance.
	var wg sync.WaitGroup
	var others atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < 520; i += 8 {
				a, err := c.send(ctx, urls[i%instances], "jobs", fmt.Sprint("other-", i), []byte(fmt.Sprintf(`{"rows": [{"id": %d, "job": "Job %d"}]}`, 1000+i, i)))
				if err != nil || a.status != 200 {
					t.Errorf("other request %d: %v %d %s", i, err, a.status, a.body)
				}
				others.Add(1)
			}
		})
	}
	wg.Wait()
	again := send(2, "K2", `{"rows": [{"id": 710, "job": "Old name"}]}`)
	if again.status != 200 || !again.replayed || !bytes.Equal(again.body, k2.body) {
		t.Errorf("K2 again: %d replayed %t %s, want the first answer replayed: %s", again.status, again.replayed, again.body, k2.body)
	}
	reused := send(1, "K2", `{"rows": [{"id": 710, "job": "Other name"}]}`)
	if reused.status != 422 || !bytes.Contains(reused.body, []byte(`"code":"idempotency_key_reused"`)) {
		t.Errorf("K2 with another body: %d %s, want 422 idempotency_key_reused", reused.status, reused.body)
	}
	for i, job := range []string{"A", "B", "A"} {
		if a := send(i, "", `{"rows": [{"id": 720, "job": "`+job+`"}]}`); a.status != 200 {
			t.Fatalf("%s without a key: %d %s", job, a.status, a.body)
		}
	}
	t.Logf("%d requests in %.1fs (%v)", sum(c.requests()), time.Since(start).Seconds(), c.requests())
	c.check(t)
	got := testutil.Query(t, e.bq.Query("SELECT id, job FROM hiring.jobs WHERE id IN (710, 720) ORDER BY id"))
	if want := [][]bigquery.Value{{int64(710), "New name"}, {int64(720), "A"}}; !cmp.Equal(got, want) {
		t.Errorf("readers see %v, want %v", got, want)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM hiring.jobs_raw WHERE id = 710"); n != 2 {
		t.Errorf("jobs_raw has %d rows of id 710, want 2: K2 and K3 once each", n)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM hiring.jobs_raw WHERE id = 720"); n != 3 {
		t.Errorf("jobs_raw has %d rows of id 720, want 3: A, B, A", n)
	}
	e.checkCounts(t, counts{Jobs: 2 + others.Load()})
}

// TestKillInsertInstance: an instance of insert-rows is killed with SIGKILL
// while a request is in flight; the client retries with the same key, and
// the batch is applied exactly once.
func TestKillInsertInstance(t *testing.T) {
	t.Parallel()
	const lease = 3 * time.Second
	e := newEnv(t, []function.Definition{insertrows.Definition}, map[string]string{"HIRING_REQUEST_TIMEOUT": lease.String()})
	url := e.cfg.Functions["insert-rows"]
	c := newClient()
	ctx := context.Background()
	// Every BigQuery call is held for a second until the kill, so that the
	// kill finds the request in flight after its claim, appending.
	if err := e.st.SetBigQueryFaults(bqemu.Faults{Latency: time.Second}); err != nil {
		t.Fatal(err)
	}
	const rows = 1000
	var killedPID int
	var recovered time.Duration
	var killErr error
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		time.Sleep(1500 * time.Millisecond)
		in, err := e.waitBusy("insert-rows")
		if err != nil {
			killErr = err
			return
		}
		killedPID = in.PID
		if killErr = syscall.Kill(in.PID, syscall.SIGKILL); killErr != nil {
			return
		}
		at := time.Now()
		if killErr = e.st.SetBigQueryFaults(bqemu.Faults{}); killErr != nil {
			return
		}
		// A new request through the stack's URL, until one succeeds.
		for i := 0; time.Since(at) < time.Minute; i++ {
			a, err := c.send(ctx, url, "jobs", fmt.Sprint("probe-", i), []byte(`{"rows": [{"id": 1, "job": "probe"}]}`))
			if err == nil && a.status == 200 && a.retried() == 0 {
				recovered = time.Since(at)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		killErr = errors.New("no new request succeeded within a minute of the kill")
	}()
	start := time.Now()
	var sent int64
	var retried []map[string]int
	// Batches one after the other, until the killer is done: by then the
	// batch in flight at the kill has its final answer.
batches:
	for b := 0; ; b++ {
		select {
		case <-killed:
			break batches
		default:
		}
		a, err := c.send(ctx, url, "hired_employees", fmt.Sprint("kill-", b), employees(int64(b)*rows+1, rows, 0))
		if err != nil || a.status != 200 {
			t.Fatalf("batch %d: %v %d %s", b, err, a.status, a.body)
		}
		sent++
		if a.retried() > 0 {
			retried = append(retried, a.retries)
		}
	}
	if killErr != nil {
		t.Fatal(killErr)
	}
	c.check(t)
	view := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees")
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	distinct := e.count(t, "SELECT COUNT(DISTINCT CONCAT(_ingestion_id, '#', CAST(_ordinal AS STRING))) FROM hiring.hired_employees_raw")
	// A kill before the batch's claim would leave no trace but a resent
	// request (the proxy's transport resends a request with an
	// Idempotency-Key whose connection broke); after it, the client sees
	// 409s until the lease ends and another instance takes the batch over.
	t.Logf("killed pid %d; %d batches of %d rows in %.1fs, %d requests (%v), retries of the batch in flight %v; "+
		"a new request succeeded %.2fs after the kill; %d rows in the view, %d raw (%d distinct)",
		killedPID, sent, rows, time.Since(start).Seconds(), sum(c.requests()), c.requests(), retried, recovered.Seconds(), view, raw, distinct)
	if len(retried) == 0 {
		t.Error("no batch was retried: the kill did not find a batch after its claim")
	}
	if want := sent * rows; view != want || distinct != want {
		t.Errorf("the view has %d rows and the raw table %d distinct rows, want %d", view, distinct, want)
	}
	e.checkCounts(t, counts{HiredEmployees: sent * rows, Jobs: 1}) // the probes wrote job 1
	for _, in := range e.st.Instances()["insert-rows"] {
		if in.PID == killedPID {
			t.Errorf("the killed instance %d is still listed", killedPID)
		}
	}
	if n := len(e.st.Instances()["insert-rows"]); n != instances {
		t.Errorf("%d instances after the kill, want %d: the stack replaces a dead one", n, instances)
	}
}
