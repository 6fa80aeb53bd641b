package gcs_test

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// roundRobin returns Targets that name urls in turn, as the local stack
// picks a function's instances, and counts its calls.
func roundRobin(urls ...string) (gcs.Targets, func() int) {
	var mu sync.Mutex
	next := 0
	pick := func(n int) []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for i := range min(n, len(urls)) {
			out = append(out, urls[(next+i)%len(urls)])
		}
		next++
		return out
	}
	calls := func() int {
		mu.Lock()
		defer mu.Unlock()
		return next
	}
	return pick, calls
}

// deadURL returns the URL of a port that refuses connections.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestServer_ForwardTo_redeliversToTwoTargets(t *testing.T) {
	t.Parallel()
	s, logs := start(t, gcs.Options{Redeliver: 1})
	c := client(t, s)
	bucket(t, s, "landing")
	a, b := newReceiver(t), newReceiver(t)
	pick, _ := roundRobin(a.url, b.url)
	if err := s.ForwardTo("landing", pick); err != nil {
		t.Fatalf("ForwardTo: %v", err)
	}

	attrs := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
	da, db := a.next(t), b.next(t)
	a.quiet(t, quietFor)
	b.quiet(t, 0)

	if da.event.ID() != db.event.ID() {
		t.Errorf("the two deliveries carry ids %s and %s, want the same", da.event.ID(), db.event.ID())
	}
	ingestion := fmt.Sprintf("gs://landing/jobs.csv#%d", attrs.Generation)
	if n := logs.count(t, "INFO", "delivered", ingestion); n != 2 {
		t.Errorf("%d INFO lines about deliveries of %s, want 2", n, ingestion)
	}
	if n := logs.count(t, "INFO", "twice", ingestion); n != 1 {
		t.Errorf("%d INFO lines about the redelivery of %s, want 1", n, ingestion)
	}
}

func TestServer_ForwardTo_retriesOnAnotherTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		redeliver float64
		want      int // deliveries that reach the live target
	}{
		{"one delivery", 0, 1},
		{"two deliveries", 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, logs := start(t, gcs.Options{Redeliver: tc.redeliver})
			c := client(t, s)
			bucket(t, s, "landing")
			live, dead := newReceiver(t), deadURL(t)
			pick, calls := roundRobin(dead, live.url)
			if err := s.ForwardTo("landing", pick); err != nil {
				t.Fatalf("ForwardTo: %v", err)
			}

			attrs := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
			ids := map[string]bool{}
			for range tc.want {
				ids[live.next(t).event.ID()] = true
			}
			live.quiet(t, quietFor)

			if len(ids) != 1 {
				t.Errorf("event ids %v, want one", ids)
			}
			ingestion := fmt.Sprintf("gs://landing/jobs.csv#%d", attrs.Generation)
			if n := logs.count(t, "WARNING", "delivery failed", ingestion); n < 1 {
				t.Errorf("no WARNING line about the attempt on the dead target %s", dead)
			}
			if n := logs.count(t, "INFO", "delivered", ingestion); n != tc.want {
				t.Errorf("%d INFO lines about deliveries of %s, want %d", n, ingestion, tc.want)
			}
			if calls() < 2 {
				t.Errorf("targets were picked %d times, want once per attempt", calls())
			}
		})
	}
}

func TestServer_ForwardTo_invalid(t *testing.T) {
	t.Parallel()
	s, _ := start(t, gcs.Options{})
	pick, _ := roundRobin("http://127.0.0.1:8080/")
	if err := s.ForwardTo("", pick); err == nil {
		t.Error("ForwardTo with an empty bucket succeeded")
	}
	if err := s.ForwardTo("landing", nil); err == nil {
		t.Error("ForwardTo with no targets succeeded")
	}
}

func TestStart_invalidRedeliver(t *testing.T) {
	t.Parallel()
	for _, p := range []float64{-0.1, 1.5} {
		if s, err := gcs.Start(t.Context(), gcs.Options{Redeliver: p}); err == nil {
			s.Close(t.Context())
			t.Errorf("Start with Redeliver %v succeeded", p)
		}
	}
}
