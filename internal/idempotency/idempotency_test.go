package idempotency_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/idempotency"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

const bucket = "claims"

// newClient starts a Cloud Storage emulator with the claims' bucket and
// returns a client of it.
func newClient(tb testing.TB) *storage.Client {
	tb.Helper()
	return testutil.Storage(tb, bucket)
}

// clock is a settable time shared by several Stores: instances whose
// clocks agree.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newStore(t testing.TB, gcs *storage.Client, clk *clock) *idempotency.Store {
	t.Helper()
	s, err := idempotency.New(gcs, bucket, idempotency.Options{Prefix: "idempotency/", Lease: time.Minute, Retention: 24 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func request(key, body string) idempotency.Request {
	return idempotency.Request{Scope: "jobs", Caller: "static:writer", Key: key, Fingerprint: idempotency.Fingerprint([]byte(body))}
}

func begin(t *testing.T, s *idempotency.Store, req idempotency.Request, want idempotency.Outcome) idempotency.Result {
	t.Helper()
	res, err := s.Begin(context.Background(), req)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if res.Outcome != want {
		t.Fatalf("Begin: outcome %d, want %d", res.Outcome, want)
	}
	return res
}

var answer = httpapi.Answer{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"inserted":2}` + "\n")}

func TestStore_Lifecycle(t *testing.T) {
	t.Parallel()
	gcs, clk := newClient(t), newClock()
	a, b := newStore(t, gcs, clk), newStore(t, gcs, clk) // two instances
	ctx := context.Background()

	first := begin(t, a, request("k1", "A"), idempotency.Claimed)
	if got := first.Claim.Attempt(); got != 1 {
		t.Errorf("first attempt is %d", got)
	}
	received := first.Claim.ReceivedAt()
	if !received.Equal(clk.Now()) {
		t.Errorf("ReceivedAt %v, want %v", received, clk.Now())
	}
	busy := begin(t, b, request("k1", "A"), idempotency.Busy)
	if busy.RetryAfter <= 0 || busy.RetryAfter > time.Second {
		t.Errorf("RetryAfter %v, want (0, 1s]", busy.RetryAfter)
	}
	begin(t, b, request("k1", "B"), idempotency.Reused)
	other := idempotency.Request{Scope: "jobs", Caller: "someone-else", Key: "k1", Fingerprint: idempotency.Fingerprint([]byte("B"))}
	begin(t, b, other, idempotency.Claimed)
	otherTable := request("k1", "B")
	otherTable.Scope = "departments"
	begin(t, b, otherTable, idempotency.Claimed)

	if err := first.Claim.Finish(ctx, answer); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	clk.Advance(23 * time.Hour)
	replay := begin(t, b, request("k1", "A"), idempotency.Replay)
	if diff := cmp.Diff(answer, replay.Answer); diff != "" {
		t.Errorf("replayed answer (-want +got):\n%s", diff)
	}
	begin(t, b, request("k1", "B"), idempotency.Reused)

	clk.Advance(2 * time.Hour) // past the retention: a new batch
	again := begin(t, b, request("k1", "A"), idempotency.Claimed)
	if again.Claim.Attempt() != 1 || !again.Claim.ReceivedAt().Equal(clk.Now()) {
		t.Errorf("after the retention: attempt %d received %v, want 1 and %v", again.Claim.Attempt(), again.Claim.ReceivedAt(), clk.Now())
	}
	begin(t, a, request("k1", "A"), idempotency.Busy) // not the former answer
}

// TestStore_Takeover: an attempt whose instance died is taken over after
// its lease, keeping the first received time and the steps done; the dead
// attempt can no longer release the claim, and can only record the same
// answer.
func TestStore_Takeover(t *testing.T) {
	t.Parallel()
	gcs, clk := newClient(t), newClock()
	a, b := newStore(t, gcs, clk), newStore(t, gcs, clk)
	ctx := context.Background()

	dead := begin(t, a, request("k", "A"), idempotency.Claimed).Claim
	if done, err := dead.Done(ctx, "rejected_rows"); err != nil || done {
		t.Fatalf("a new claim has rejected_rows done: %t %v", done, err)
	}
	for range 2 { // recording a step again is no error
		if err := dead.Step(ctx, "rejected_rows"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(59 * time.Second)
	begin(t, b, request("k", "A"), idempotency.Busy)
	clk.Advance(2 * time.Second)
	taker := begin(t, b, request("k", "A"), idempotency.Claimed).Claim
	done, err := taker.Done(ctx, "rejected_rows")
	if err != nil || taker.Attempt() != 2 || !taker.ReceivedAt().Equal(dead.ReceivedAt()) || !done {
		t.Errorf("takeover: attempt %d, received %v (first %v), rejected_rows done %t %v", taker.Attempt(), taker.ReceivedAt(), dead.ReceivedAt(), done, err)
	}
	if done, err := taker.Done(ctx, "other"); err != nil || done {
		t.Errorf("a step never recorded is done: %t %v", done, err)
	}
	if err := dead.Release(ctx); !errors.Is(err, idempotency.ErrLost) {
		t.Errorf("Release by the dead attempt: %v, want ErrLost", err)
	}
	if err := taker.Release(ctx); err != nil {
		t.Fatal(err)
	}
	// Released: the next request takes over at once.
	third := begin(t, a, request("k", "A"), idempotency.Claimed).Claim
	if third.Attempt() != 3 {
		t.Errorf("after a release: attempt %d", third.Attempt())
	}
	if err := third.Finish(ctx, answer); err != nil {
		t.Fatal(err)
	}
	if err := dead.Finish(ctx, answer); err != nil {
		t.Errorf("the dead attempt's same answer: %v", err)
	}
	other := answer
	other.Status = http.StatusUnprocessableEntity
	if err := dead.Finish(ctx, other); !errors.Is(err, idempotency.ErrLost) {
		t.Errorf("the dead attempt's other answer: %v, want ErrLost", err)
	}
	if got := begin(t, b, request("k", "A"), idempotency.Replay).Answer; !cmp.Equal(got, answer) {
		t.Errorf("replayed %+v, want %+v", got, answer)
	}
}

// TestStore_Race: many instances begin the same key at once, first while
// nobody holds it, then when its lease has ended: each time exactly one
// wins.
func TestStore_Race(t *testing.T) {
	t.Parallel()
	gcs, clk := newClient(t), newClock()
	const instances = 12
	stores := make([]*idempotency.Store, instances)
	for i := range stores {
		stores[i] = newStore(t, gcs, clk)
	}
	race := func() (claimed int, busy int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, s := range stores {
			wg.Go(func() {
				res, err := s.Begin(context.Background(), request("race", "A"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Errorf("Begin: %v", err)
				case res.Outcome == idempotency.Claimed:
					claimed++
				case res.Outcome == idempotency.Busy:
					busy++
				default:
					t.Errorf("outcome %d", res.Outcome)
				}
			})
		}
		wg.Wait()
		return claimed, busy
	}
	for round, name := range []string{"new key", "expired lease"} {
		if round > 0 {
			clk.Advance(2 * time.Minute)
		}
		claimed, busy := race()
		if claimed != 1 || busy != instances-1 {
			t.Errorf("%s: %d claimed and %d busy, want 1 and %d", name, claimed, busy, instances-1)
		}
	}
}

func TestNew_Refuses(t *testing.T) {
	t.Parallel()
	gcs := newClient(t)
	for _, o := range []idempotency.Options{
		{Lease: 0, Retention: time.Hour},
		{Lease: time.Hour, Retention: time.Minute},
	} {
		if _, err := idempotency.New(gcs, bucket, o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	if _, err := idempotency.New(gcs, "", idempotency.Options{Lease: time.Second, Retention: time.Hour}); err == nil {
		t.Error("New without a bucket succeeded")
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	if idempotency.Fingerprint([]byte("ab"), []byte("c")) == idempotency.Fingerprint([]byte("a"), []byte("bc")) {
		t.Error("the parts' boundaries do not count")
	}
	// Claims keep fingerprints: every instance, of this version and the
	// next, must compute the same one, each part's length and bytes in turn.
	if got, want := idempotency.Fingerprint([]byte("x"), nil, []byte("yz")), sha256.Sum256([]byte("1:x0:2:yz")); got != want {
		t.Errorf("Fingerprint(x, nil, yz) = %x, want %x", got, want)
	}
}

// BenchmarkClaim measures what a key costs a request on the local Cloud
// Storage: Begin (one create), then Finish (one rewrite).
func BenchmarkClaim(b *testing.B) {
	gcs := newClient(b)
	s, err := idempotency.New(gcs, bucket, idempotency.Options{Prefix: "idempotency/", Lease: time.Minute, Retention: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		res, err := s.Begin(ctx, request(fmt.Sprint("bench-", i), "A"))
		if err != nil || res.Outcome != idempotency.Claimed {
			b.Fatalf("Begin: %v %d", err, res.Outcome)
		}
		if err := res.Claim.Finish(ctx, answer); err != nil {
			b.Fatal(err)
		}
	}
}
