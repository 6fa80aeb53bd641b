package gcs_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/storage"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// gcloudCLI runs Google's gcloud with a configuration of its own, pointed at
// an emulator.
type gcloudCLI struct {
	t    *testing.T
	path string
	env  []string
}

// newGCloud configures gcloud, in a new CLOUDSDK_CONFIG, to reach the
// emulator at url, in project, without credentials and to upload files larger than
// resumableThreshold with resumable uploads, as a user would with
// `gcloud config set`.
func newGCloud(t *testing.T, url, project, resumableThreshold string) *gcloudCLI {
	t.Helper()
	g := &gcloudCLI{t: t, path: testutil.Tool(t, "gcloud")}
	g.env = append(os.Environ(),
		"CLOUDSDK_CONFIG="+t.TempDir(),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true",
	)
	g.run("", "config", "set", "core/project", project)
	g.run("", "config", "set", "auth/disable_credentials", "true")
	g.run("", "config", "set", "api_endpoint_overrides/storage", url+"/storage/v1/")
	g.run("", "config", "set", "storage/resumable_threshold", resumableThreshold)
	return g
}

// exec runs gcloud with args and stdin, and returns its stdout and stderr.
func (g *gcloudCLI) exec(stdin string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(g.t.Context(), g.path, args...)
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// run runs gcloud and fails the test unless it exits 0; it returns stdout
// and stderr together with the command, for the assertions' messages.
func (g *gcloudCLI) run(stdin string, args ...string) (stdout, stderr string) {
	g.t.Helper()
	stdout, stderr, err := g.exec(stdin, args...)
	if err != nil {
		g.t.Fatalf("gcloud %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

// fail runs gcloud, fails the test unless it exits 1, and returns stderr.
func (g *gcloudCLI) fail(args ...string) string {
	g.t.Helper()
	stdout, stderr, err := g.exec("", args...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		g.t.Fatalf("gcloud %s: %v, want exit status 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stderr
}

// TestServer_gcloudStorage drives the emulator with the real `gcloud
// storage`, an independent client of the Cloud Storage JSON API, and checks
// each command's output and the objects through the Go client.
func TestServer_gcloudStorage(t *testing.T) {
	t.Parallel()
	requests := &syncBuffer{}
	s, _ := start(t, gcs.Options{Writer: requests})
	bucket(t, s, "landing")
	c := client(t, s)
	g := newGCloud(t, s.URL(), gcs.DefaultProject, "256KiB")
	dir := t.TempDir()

	small := []byte("1,Recruiting\n2,Engineering\n")
	large := bytes.Repeat([]byte("3,Data Platform\n"), 64<<10) // 1 MiB, above the threshold
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(name string) []byte {
		r, err := c.Bucket("landing").Object(name).NewReader(t.Context())
		if err != nil {
			t.Fatalf("read gs://landing/%s: %v", name, err)
		}
		defer r.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(r); err != nil {
			t.Fatalf("read gs://landing/%s: %v", name, err)
		}
		return b.Bytes()
	}

	// cp upload, a simple upload and a resumable one.
	_, stderr := g.run("", "storage", "cp", write("small.csv", small), "gs://landing/departments/small.csv")
	if !strings.Contains(stderr, "to gs://landing/departments/small.csv") {
		t.Errorf("cp small: stderr does not name the destination:\n%s", stderr)
	}
	if got := read("departments/small.csv"); !bytes.Equal(got, small) {
		t.Errorf("cp small: the object holds %q, want %q", got, small)
	}
	g.run("", "storage", "cp", write("large.csv", large), "gs://landing/departments/large.csv")
	if got := read("departments/large.csv"); !bytes.Equal(got, large) {
		t.Errorf("cp large: the object holds %d bytes, want the %d uploaded", len(got), len(large))
	}
	if !strings.Contains(requests.String(), "/upload/storage/v1/b/landing/o?") || !strings.Contains(requests.String(), "uploadType=resumable") {
		t.Errorf("cp large: no resumable upload reached the emulator; requests:\n%s", requests)
	}

	// cp from stdin: a streamed upload of unknown size.
	g.run(string(small), "storage", "cp", "-", "gs://landing/streamed.csv")
	if got := read("streamed.csv"); !bytes.Equal(got, small) {
		t.Errorf("cp -: the object holds %q, want %q", got, small)
	}

	// ls: buckets, a prefix, and the long form.
	if stdout, _ := g.run("", "storage", "ls"); !strings.Contains(stdout, "gs://landing/\n") {
		t.Errorf("ls: %q does not list gs://landing/", stdout)
	}
	stdout, _ := g.run("", "storage", "ls", "gs://landing/departments/")
	if want := "gs://landing/departments/large.csv\ngs://landing/departments/small.csv\n"; stdout != want {
		t.Errorf("ls gs://landing/departments/ = %q, want %q", stdout, want)
	}
	stdout, _ = g.run("", "storage", "ls", "-l", "gs://landing/departments/small.csv")
	if fields := strings.Fields(stdout); len(fields) < 3 || fields[0] != strconv.Itoa(len(small)) || fields[2] != "gs://landing/departments/small.csv" ||
		!strings.Contains(stdout, fmt.Sprintf("TOTAL: 1 objects, %d bytes", len(small))) {
		t.Errorf("ls -l = %q, want the size %d, a time, the URL and a total", stdout, len(small))
	}

	// cat and cp download, small and large.
	if stdout, _ := g.run("", "storage", "cat", "gs://landing/departments/small.csv"); stdout != string(small) {
		t.Errorf("cat = %q, want %q", stdout, small)
	}
	for name, want := range map[string][]byte{"small.csv": small, "large.csv": large} {
		local := filepath.Join(dir, "downloaded-"+name)
		g.run("", "storage", "cp", "gs://landing/departments/"+name, local)
		if got, err := os.ReadFile(local); err != nil || !bytes.Equal(got, want) {
			t.Errorf("cp download of %s: %d bytes (%v), want the %d uploaded", name, len(got), err, len(want))
		}
	}

	// objects describe, against the Go client's view of the object.
	attrs, err := c.Bucket("landing").Object("departments/small.csv").Attrs(t.Context())
	if err != nil {
		t.Fatalf("Attrs: %v", err)
	}
	stdout, _ = g.run("", "storage", "objects", "describe", "gs://landing/departments/small.csv", "--format=json")
	var described struct {
		Bucket      string `json:"bucket"`
		Name        string `json:"name"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
		MD5         string `json:"md5_hash"`
		CRC32C      string `json:"crc32c_hash"`
		Generation  string `json:"generation"`
		StorageURL  string `json:"storage_url"`
	}
	if err := json.Unmarshal([]byte(stdout), &described); err != nil {
		t.Fatalf("objects describe: %v in %s", err, stdout)
	}
	sum := md5.Sum(small)
	gen := strconv.FormatInt(attrs.Generation, 10)
	if described.Bucket != "landing" || described.Name != "departments/small.csv" || described.Size != int64(len(small)) ||
		described.ContentType != "text/csv" || described.MD5 != base64.StdEncoding.EncodeToString(sum[:]) || described.CRC32C == "" ||
		described.Generation != gen || described.StorageURL != "gs://landing/departments/small.csv#"+gen {
		t.Errorf("objects describe = %+v, want gs://landing/departments/small.csv, %d bytes, text/csv, MD5 %x, generation %s", described, len(small), sum, gen)
	}

	// rm, then the object is gone for gcloud and the Go client alike.
	_, stderr = g.run("", "storage", "rm", "gs://landing/departments/small.csv")
	if !strings.Contains(stderr, "Removing gs://landing/departments/small.csv") {
		t.Errorf("rm: stderr does not name the object:\n%s", stderr)
	}
	if _, err := c.Bucket("landing").Object("departments/small.csv").Attrs(t.Context()); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("after rm, Attrs: %v, want ErrObjectNotExist", err)
	}

	// Errors: what is missing is named.
	if stderr := g.fail("storage", "cat", "gs://landing/departments/small.csv"); !strings.Contains(stderr, "matched no objects") {
		t.Errorf("cat of a removed object: stderr %q does not say it matched no objects", stderr)
	}
	if stderr := g.fail("storage", "objects", "describe", "gs://landing/missing.csv"); !strings.Contains(stderr, "gs://landing/missing.csv not found: 404") {
		t.Errorf("describe of a missing object: stderr %q does not say not found: 404", stderr)
	}
	if stderr := g.fail("storage", "ls", "gs://no-such-bucket/"); !strings.Contains(stderr, "gs://no-such-bucket not found: 404") {
		t.Errorf("ls of a missing bucket: stderr %q does not say not found: 404", stderr)
	}
}

// TestServer_deleteAnswersNoContent checks the delete answer that Google's
// clients expect: 204 and no body, as Cloud Storage answers.
func TestServer_deleteAnswersNoContent(t *testing.T) {
	t.Parallel()
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	c := client(t, s)
	put(t, c, "landing", "a.csv", []byte("1,a\n"), 0)
	cases := []struct {
		name   string
		url    string
		status int
		body   bool
	}{
		{"existing object", s.URL() + "/storage/v1/b/landing/o/a.csv", 204, false},
		{"missing object", s.URL() + "/storage/v1/b/landing/o/a.csv", 404, true},
	}
	for _, tc := range cases {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (len(body) > 0) != tc.body {
			t.Errorf("%s: DELETE answered %d with body %q, want %d (body: %v)", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}
