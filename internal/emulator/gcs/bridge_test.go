package gcs_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// quietFor is how long a test waits to be sure that nothing more arrives.
const quietFor = time.Second

func TestServer_Forward_finalizedEvent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		object string
		size   int
		chunk  int
		onDisk bool
	}{
		{"single request upload", "departments.csv", 11, 0, false},
		{"resumable upload in chunks", "hired employees/2021 Q1.csv", 600 << 10, 256 << 10, false},
		{"filesystem backend", "jobs.csv", 11, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts gcs.Options
			if tc.onDisk {
				opts.Dir = t.TempDir()
			}
			s, _ := start(t, opts)
			c := client(t, s)
			bucket(t, s, "landing")
			r := newReceiver(t)
			if err := s.Forward("landing", r.url); err != nil {
				t.Fatalf("Forward: %v", err)
			}
			data := bytes.Repeat([]byte("1,x\n"), tc.size/4+1)[:tc.size]

			put(t, c, "landing", tc.object, data, tc.chunk)
			d := r.next(t)
			attrs, err := c.Bucket("landing").Object(tc.object).Attrs(t.Context())
			if err != nil {
				t.Fatalf("Attrs: %v", err)
			}

			ev := d.event
			gen := strconv.FormatInt(attrs.Generation, 10)
			for _, f := range []struct{ name, got, want string }{
				{"specversion", ev.SpecVersion(), "1.0"},
				{"type", ev.Type(), "google.cloud.storage.object.v1.finalized"},
				{"source", ev.Source(), "//storage.googleapis.com/projects/_/buckets/landing"},
				{"subject", ev.Subject(), "objects/" + tc.object},
				{"datacontenttype", ev.DataContentType(), "application/json"},
				{"bucket extension", fmt.Sprint(ev.Extensions()["bucket"]), "landing"},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
				}
			}
			if ev.ID() == "" {
				t.Error("empty id")
			}
			if !ev.Time().Equal(attrs.Updated) {
				t.Errorf("time = %v, want the object's update time %v", ev.Time(), attrs.Updated)
			}

			for k, want := range map[string]time.Time{"timeCreated": attrs.Created, "updated": attrs.Updated} {
				s, _ := d.body[k].(string)
				got, err := time.Parse(time.RFC3339Nano, s)
				if err != nil || !got.Equal(want) {
					t.Errorf("%s = %q, want %v", k, s, want)
				}
				delete(d.body, k)
			}
			crc := binary.BigEndian.AppendUint32(nil, attrs.CRC32C)
			want := map[string]any{
				"kind":           "storage#object",
				"id":             "landing/" + tc.object + "/" + gen,
				"selfLink":       s.URL() + "/storage/v1/b/landing/o/" + url.PathEscape(tc.object),
				"mediaLink":      s.URL() + "/download/storage/v1/b/landing/o/" + url.PathEscape(tc.object) + "?generation=" + gen + "&alt=media",
				"name":           tc.object,
				"bucket":         "landing",
				"generation":     gen,
				"metageneration": "1",
				"contentType":    "text/csv",
				"storageClass":   "STANDARD",
				"size":           strconv.Itoa(tc.size),
				"md5Hash":        base64.StdEncoding.EncodeToString(attrs.MD5),
				"crc32c":         base64.StdEncoding.EncodeToString(crc),
				"etag":           attrs.Etag,
				"metadata":       map[string]any{"source": "test"},
			}
			if diff := cmp.Diff(want, d.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if got := get(t, want["mediaLink"].(string)); !bytes.Equal(got, data) {
				t.Errorf("mediaLink serves %d bytes, want the %d uploaded", len(got), len(data))
			}
			r.quiet(t, quietFor)
		})
	}
}

// get returns the body of a GET of u, which must answer 200.
func get(t *testing.T, u string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	return b
}

func TestServer_Forward_onlyForwardedBuckets(t *testing.T) {
	t.Parallel()
	s, _ := start(t, gcs.Options{})
	c := client(t, s)
	bucket(t, s, "landing")
	bucket(t, s, "staging")
	bucket(t, s, "backups")
	landing, backups := newReceiver(t), newReceiver(t)
	for b, r := range map[string]*receiver{"landing": landing, "backups": backups} {
		if err := s.Forward(b, r.url); err != nil {
			t.Fatalf("Forward(%s): %v", b, err)
		}
	}

	put(t, c, "staging", "jobs.avro", []byte("avro"), 0)
	first := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
	d1 := landing.next(t)
	second := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n2,Analyst\n"), 0)
	d2 := landing.next(t)
	third := put(t, c, "backups", "manifest.json", []byte("{}"), 0)
	d3 := backups.next(t)

	if second.Generation == first.Generation {
		t.Fatalf("overwrite kept generation %d", first.Generation)
	}
	for i, tc := range []struct {
		d        delivery
		subject  string
		gen      int64
		size     int64
		bucketID string
	}{
		{d1, "objects/jobs.csv", first.Generation, first.Size, "landing"},
		{d2, "objects/jobs.csv", second.Generation, second.Size, "landing"},
		{d3, "objects/manifest.json", third.Generation, third.Size, "backups"},
	} {
		if tc.d.event.Subject() != tc.subject || tc.d.body["bucket"] != tc.bucketID {
			t.Errorf("delivery %d: %s in %v, want %s in %s", i, tc.d.event.Subject(), tc.d.body["bucket"], tc.subject, tc.bucketID)
		}
		if tc.d.body["generation"] != strconv.FormatInt(tc.gen, 10) {
			t.Errorf("delivery %d: generation %v, want %d", i, tc.d.body["generation"], tc.gen)
		}
		if tc.d.body["size"] != strconv.FormatInt(tc.size, 10) {
			t.Errorf("delivery %d: size %v, want %d", i, tc.d.body["size"], tc.size)
		}
	}
	if d1.event.ID() == d2.event.ID() {
		t.Errorf("two generations share event id %s", d1.event.ID())
	}
	landing.quiet(t, quietFor)
	backups.quiet(t, 0)
}

func TestServer_Forward_retries(t *testing.T) {
	t.Parallel()
	s, logs := start(t, gcs.Options{})
	c := client(t, s)
	bucket(t, s, "landing")
	r := newReceiver(t, http.StatusInternalServerError, http.StatusInternalServerError)
	if err := s.Forward("landing", r.url); err != nil {
		t.Fatalf("Forward: %v", err)
	}

	attrs := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
	ids := []string{r.next(t).event.ID(), r.next(t).event.ID(), r.next(t).event.ID()}
	r.quiet(t, quietFor)

	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("ids of one event's deliveries = %v, want three times the same", ids)
	}
	ingestion := fmt.Sprintf("gs://landing/jobs.csv#%d", attrs.Generation)
	if n := logs.count(t, "WARNING", "delivery failed", ingestion); n != 2 {
		t.Errorf("%d WARNING lines about failed deliveries of %s, want 2", n, ingestion)
	}
	if n := logs.count(t, "INFO", "delivered", ingestion); n != 1 {
		t.Errorf("%d INFO lines about the delivery of %s, want 1", n, ingestion)
	}
}

func TestServer_Forward_givesUp(t *testing.T) {
	t.Parallel()
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		u := "http://" + l.Addr().String()
		l.Close()
		return u
	}
	cases := []struct {
		name   string
		target func(t *testing.T) (url string, deliveries chan delivery)
	}{
		{"target answers 503", func(t *testing.T) (string, chan delivery) {
			r := newReceiver(t, slices.Repeat([]int{http.StatusServiceUnavailable}, 100)...)
			return r.url, r.deliveries
		}},
		{"connection refused", func(t *testing.T) (string, chan delivery) { return refused(t), nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, logs := start(t, gcs.Options{RetryFor: 500 * time.Millisecond})
			c := client(t, s)
			bucket(t, s, "landing")
			target, deliveries := tc.target(t)
			if err := s.Forward("landing", target); err != nil {
				t.Fatalf("Forward: %v", err)
			}

			attrs := put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
			ingestion := fmt.Sprintf("gs://landing/jobs.csv#%d", attrs.Generation)
			deadline := time.Now().Add(10 * time.Second)
			for logs.count(t, "ERROR", "dropped", ingestion) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no ERROR line about dropping %s within 10s", ingestion)
				}
				time.Sleep(50 * time.Millisecond)
			}

			if n := logs.count(t, "WARNING", "delivery failed", ingestion); n < 2 {
				t.Errorf("%d failed attempts logged, want at least 2", n)
			}
			if n := len(deliveries); deliveries != nil && n < 2 {
				t.Errorf("%d attempts received, want at least 2", n)
			}
			for range len(deliveries) {
				<-deliveries
			}
			select {
			case <-deliveries:
				t.Error("delivery after the event was dropped")
			case <-time.After(quietFor):
			}
		})
	}
}

func TestServer_Forward_instancesIsolated(t *testing.T) {
	t.Parallel()
	a, _ := start(t, gcs.Options{})
	b, _ := start(t, gcs.Options{})
	ra, rb := newReceiver(t), newReceiver(t)
	for _, x := range []struct {
		s *gcs.Server
		r *receiver
	}{{a, ra}, {b, rb}} {
		bucket(t, x.s, "landing")
		if err := x.s.Forward("landing", x.r.url); err != nil {
			t.Fatalf("Forward: %v", err)
		}
	}

	put(t, client(t, a), "landing", "from-a.csv", []byte("a"), 0)
	put(t, client(t, b), "landing", "from-b.csv", []byte("b"), 0)

	if got := ra.next(t).event.Subject(); got != "objects/from-a.csv" {
		t.Errorf("a delivered %s, want objects/from-a.csv", got)
	}
	if got := rb.next(t).event.Subject(); got != "objects/from-b.csv" {
		t.Errorf("b delivered %s, want objects/from-b.csv", got)
	}
	ra.quiet(t, quietFor)
	rb.quiet(t, 0)
}

func TestServer_Forward_invalid(t *testing.T) {
	t.Parallel()
	s, _ := start(t, gcs.Options{})
	cases := []struct {
		name, bucket, target string
		wantErr              bool
	}{
		{"http target", "landing", "http://127.0.0.1:8080/load-csv", false},
		{"https target", "landing", "https://example.com/", false},
		{"empty bucket", "", "http://127.0.0.1:8080/", true},
		{"relative target", "landing", "/load-csv", true},
		{"other scheme", "landing", "ftp://127.0.0.1/", true},
		{"unparsable target", "landing", "http://[::1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := s.Forward(tc.bucket, tc.target)
			if (err != nil) != tc.wantErr {
				t.Errorf("Forward(%q, %q) = %v, want error: %t", tc.bucket, tc.target, err, tc.wantErr)
			}
		})
	}
}

func TestServer_Close_deliveriesInFlight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		answerIn  time.Duration // how long the target takes to answer 200
		closeWait time.Duration // how long Close may wait
		wantErr   bool
	}{
		{"waits for a delivery", 300 * time.Millisecond, 10 * time.Second, false},
		{"cancels a delivery at its deadline", time.Hour, 300 * time.Millisecond, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := gcs.Start(t.Context(), gcs.Options{})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			received, answered := make(chan struct{}, 1), make(chan struct{}, 1)
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The server notices a canceled request only once the body is read.
				_, _ = io.Copy(io.Discard, r.Body)
				received <- struct{}{}
				select {
				case <-time.After(tc.answerIn):
					answered <- struct{}{}
				case <-r.Context().Done():
				}
			}))
			defer target.Close()
			bucket(t, s, "landing")
			if err := s.Forward("landing", target.URL); err != nil {
				t.Fatalf("Forward: %v", err)
			}
			c, err := s.Client(t.Context())
			if err != nil {
				t.Fatalf("Client: %v", err)
			}
			put(t, c, "landing", "jobs.csv", []byte("1,Engineer\n"), 0)
			c.Close()
			select {
			case <-received:
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery within 10s")
			}

			ctx, cancel := context.WithTimeout(t.Context(), tc.closeWait)
			defer cancel()
			begin := time.Now()
			err = s.Close(ctx)
			took := time.Since(begin)
			if (err != nil) != tc.wantErr {
				t.Errorf("Close = %v, want error: %t", err, tc.wantErr)
			}
			if tc.wantErr && took > tc.closeWait+2*time.Second {
				t.Errorf("Close took %v, past its deadline of %v", took, tc.closeWait)
			}
			if !tc.wantErr && len(answered) != 1 {
				t.Error("Close returned before the delivery in flight was answered")
			}
			if again := s.Close(t.Context()); (again == nil) != (err == nil) {
				t.Errorf("second Close = %v, first = %v", again, err)
			}
		})
	}
}
