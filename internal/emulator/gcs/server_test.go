package gcs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// TestServer_clients drives every storage operation the project uses through
// each way of connecting a client. It sets STORAGE_EMULATOR_HOST, so it is not
// parallel.
func TestServer_clients(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	cases := []struct {
		name string
		env  string // STORAGE_EMULATOR_HOST; empty leaves it unset
		new  func(context.Context) (*storage.Client, error)
	}{
		{"Server.Client", "", s.Client},
		{"Server.Client ignores STORAGE_EMULATOR_HOST", "127.0.0.1:1", s.Client},
		{"storage.NewClient with STORAGE_EMULATOR_HOST=host:port", s.Host(), newClient},
		{"storage.NewClient with STORAGE_EMULATOR_HOST=http://host:port", s.URL(), newClient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("STORAGE_EMULATOR_HOST", tc.env)
			c, err := tc.new(t.Context())
			if err != nil {
				t.Fatalf("new client: %v", err)
			}
			defer c.Close()
			exercise(t, c, "landing", strings.ReplaceAll(tc.name, " ", "_")+"/")
		})
	}
}

func newClient(ctx context.Context) (*storage.Client, error) { return storage.NewClient(ctx) }

// exercise writes, reads, lists, stats and deletes objects under prefix.
func exercise(t *testing.T, c *storage.Client, bucket, prefix string) {
	t.Helper()
	ctx := t.Context()
	b := c.Bucket(bucket)
	small := []byte("1,Engineer\n")
	large := bytes.Repeat([]byte("2,Analyst\n"), 60<<10)
	objects := map[string][]byte{prefix + "small.csv": small, prefix + "large file.csv": large}

	gens := map[string]int64{}
	for name, data := range objects {
		gens[name] = put(t, c, bucket, name, data, 256<<10).Generation
	}
	for name, data := range objects {
		attrs, err := b.Object(name).Attrs(ctx)
		if err != nil {
			t.Fatalf("Attrs(%s): %v", name, err)
		}
		if attrs.Generation != gens[name] || attrs.Size != int64(len(data)) {
			t.Errorf("Attrs(%s): generation %d, size %d; want %d, %d", name, attrs.Generation, attrs.Size, gens[name], len(data))
		}
		for _, o := range []*storage.ObjectHandle{b.Object(name), b.Object(name).Generation(gens[name])} {
			if got := read(t, o); !bytes.Equal(got, data) {
				t.Errorf("read %s: %d bytes, want the %d written", name, len(got), len(data))
			}
		}
	}

	var listed []string
	it := b.Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		listed = append(listed, attrs.Name)
	}
	if want := []string{prefix + "large file.csv", prefix + "small.csv"}; !slices.Equal(listed, want) {
		t.Errorf("listed %q, want %q", listed, want)
	}

	for name := range objects {
		if err := b.Object(name).Delete(ctx); err != nil {
			t.Fatalf("Delete(%s): %v", name, err)
		}
		if _, err := b.Object(name).Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
			t.Errorf("Attrs(%s) after Delete = %v, want ErrObjectNotExist", name, err)
		}
	}
}

// read returns the content of o.
func read(t *testing.T, o *storage.ObjectHandle) []byte {
	t.Helper()
	r, err := o.NewReader(t.Context())
	if err != nil {
		t.Fatalf("NewReader(%s): %v", o.ObjectName(), err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", o.ObjectName(), err)
	}
	return b
}

func TestServer_CreateBucket(t *testing.T) {
	t.Parallel()
	s, _ := start(t, gcs.Options{})
	c := client(t, s)
	cases := []struct {
		name, bucket string
		wantErr      bool
	}{
		{"new bucket", "landing", false},
		{"existing bucket", "landing", false},
		{"invalid name", "Not_A_Bucket!", true},
	}
	for _, tc := range cases { // in order: the second case needs the first
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateBucket(t.Context(), tc.bucket)
			if (err != nil) != tc.wantErr {
				t.Fatalf("CreateBucket(%q) = %v, want error: %t", tc.bucket, err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if _, err := c.Bucket(tc.bucket).Attrs(t.Context()); err != nil {
				t.Errorf("bucket %s after CreateBucket: %v", tc.bucket, err)
			}
		})
	}
}

func TestStart_dirSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	objects := map[string][]byte{
		"departments.csv":          []byte("1,Supply Chain\n"),
		"hired_employees/2021.csv": []byte("1,Harold,2021-11-07T02:48:42Z,2,96\n"),
	}
	first, err := gcs.Start(t.Context(), gcs.Options{Dir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	bucket(t, first, "landing")
	c := client(t, first)
	gens := map[string]int64{}
	for name, data := range objects {
		gens[name] = put(t, c, "landing", name, data, 0).Generation
	}
	if err := first.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second, _ := start(t, gcs.Options{Dir: dir})
	bucket(t, second, "landing") // idempotent on a bucket from an earlier run
	b := client(t, second).Bucket("landing")
	var listed []string
	it := b.Objects(t.Context(), nil)
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		listed = append(listed, attrs.Name)
		if attrs.Generation != gens[attrs.Name] {
			t.Errorf("%s: generation %d after restart, want %d", attrs.Name, attrs.Generation, gens[attrs.Name])
		}
	}
	if want := []string{"departments.csv", "hired_employees/2021.csv"}; !slices.Equal(listed, want) {
		t.Errorf("listed %q after restart, want %q", listed, want)
	}
	for name, data := range objects {
		if got := read(t, b.Object(name)); !bytes.Equal(got, data) {
			t.Errorf("%s after restart = %q, want %q", name, got, data)
		}
	}
}

func TestStart_listens(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	s, _ := start(t, gcs.Options{Host: "localhost", Port: port})
	if want := net.JoinHostPort("localhost", strconv.Itoa(port)); s.Host() != want {
		t.Errorf("Host() = %q, want %q", s.Host(), want)
	}
	if want := "http://" + s.Host(); s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
	bucket(t, s, "landing")
	put(t, client(t, s), "landing", "jobs.csv", []byte("1,Engineer\n"), 0)

	if _, err := gcs.Start(t.Context(), gcs.Options{Host: "localhost", Port: port}); err == nil {
		t.Errorf("Start on the busy port %d succeeded", port)
	}
}

func TestStart_invalidOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts gcs.Options
	}{
		{"negative port", gcs.Options{Port: -1}},
		{"port above 65535", gcs.Options{Port: 65536}},
		{"negative RetryFor", gcs.Options{RetryFor: -time.Second}},
		{"unknown host", gcs.Options{Host: "no-such-host.invalid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := gcs.Start(t.Context(), tc.opts)
			if err == nil {
				s.Close(t.Context())
				t.Fatalf("Start(%+v) succeeded, want an error", tc.opts)
			}
		})
	}
}

func TestOptions_Writer(t *testing.T) {
	t.Parallel()
	var w syncBuffer
	s, _ := start(t, gcs.Options{Writer: &w})
	bucket(t, s, "landing")
	if !strings.Contains(w.String(), "/storage/v1/b") {
		t.Errorf("Writer got %q, want fake-gcs-server's request log", w.String())
	}
}
