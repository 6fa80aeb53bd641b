package gcs_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
)

// TestResumable_chunkedEqualsSingle uploads the same bytes in one request
// and in chunks of several sizes: the objects read back the same and carry
// the same checksums, content type and metadata.
func TestResumable_chunkedEqualsSingle(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	c := client(t, s)
	data := make([]byte, 900<<10+17)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	want := put(t, c, "landing", "single.bin", data, 0)
	if sum := md5.Sum(data); !bytes.Equal(want.MD5, sum[:]) {
		t.Fatalf("single upload MD5 %x, want %x", want.MD5, sum)
	}
	if crc := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)); want.CRC32C != crc {
		t.Fatalf("single upload CRC32C %d, want %d", want.CRC32C, crc)
	}
	for _, chunk := range []int{256 << 10, 512 << 10, 1 << 20} {
		name := "chunked-" + strings.Repeat("x", chunk>>18) + ".bin"
		got := put(t, c, "landing", name, data, chunk)
		if got.Size != want.Size || !bytes.Equal(got.MD5, want.MD5) || got.CRC32C != want.CRC32C ||
			got.ContentType != want.ContentType || got.Metadata["source"] != want.Metadata["source"] {
			t.Errorf("chunk %d: attrs size %d md5 %x crc32c %d type %q metadata %v, single upload %d %x %d %q %v",
				chunk, got.Size, got.MD5, got.CRC32C, got.ContentType, got.Metadata,
				want.Size, want.MD5, want.CRC32C, want.ContentType, want.Metadata)
		}
		if back := read(t, c.Bucket("landing").Object(name)); !bytes.Equal(back, data) {
			t.Errorf("chunk %d: read back %d bytes, not the %d uploaded", chunk, len(back), len(data))
		}
	}
}

// TestResumable_preconditions: a chunked upload's preconditions hold at its
// last chunk, as they do for one request.
func TestResumable_preconditions(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "staging")
	c := client(t, s)
	o := c.Bucket("staging").Object("valid.avro")
	first := put(t, c, "staging", "valid.avro", []byte("first"), 0)
	large := bytes.Repeat([]byte("second "), 100<<10)

	w := o.If(storage.Conditions{DoesNotExist: true}).NewWriter(t.Context())
	w.ChunkSize = 256 << 10
	if _, err := w.Write(large); err != nil {
		t.Fatalf("Write: %v", err)
	}
	var gerr *googleapi.Error
	if err := w.Close(); !errors.As(err, &gerr) || gerr.Code != http.StatusPreconditionFailed {
		t.Fatalf("Close of a chunked upload If(DoesNotExist) over an object = %v, want 412", err)
	}
	if got := read(t, o); string(got) != "first" {
		t.Fatalf("object after the refused upload = %q, want %q", got, "first")
	}

	w = o.If(storage.Conditions{GenerationMatch: first.Generation}).NewWriter(t.Context())
	w.ChunkSize = 256 << 10
	if _, err := w.Write(large); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close of a chunked upload If(GenerationMatch) of the current generation: %v", err)
	}
	if got := read(t, o); !bytes.Equal(got, large) {
		t.Fatalf("object after the accepted upload has %d bytes, want %d", len(got), len(large))
	}
}

// session drives a resumable upload by hand, as a client whose answers get
// lost would.
type session struct {
	t   *testing.T
	uri string
}

func startSession(t *testing.T, s *gcs.Server, object, metadata string) *session {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.URL()+"/upload/storage/v1/b/landing/o?uploadType=resumable&name="+object, strings.NewReader(metadata))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") == "" {
		t.Fatalf("start: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return &session{t: t, uri: resp.Header.Get("Location")}
}

// put sends one request to the session URI, without Content-Range when
// contentRange is empty, and returns its status, its Range header and its
// body.
func (s *session) put(contentRange, body string) (int, string, string) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), http.MethodPut, s.uri, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentRange != "" {
		req.Header.Set("Content-Range", contentRange)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Range"), string(b)
}

// TestResumable_protocol checks the session's answers chunk by chunk: a
// chunk sent again is not stored twice, an overlapping chunk keeps the bytes
// already received, a gap or a short body is refused with nothing stored, a
// status query names what was received, and a last chunk sent again gets
// the same object.
func TestResumable_protocol(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	sess := startSession(t, s, "raw.bin", `{"contentType": "application/x-test", "metadata": {"k": "v"}}`)
	steps := []struct {
		name, contentRange, body string
		status                   int
		rng                      string
	}{
		{"first chunk", "bytes 0-9/*", "0123456789", http.StatusPermanentRedirect, "bytes=0-9"},
		{"first chunk sent again", "bytes 0-9/*", "0123456789", http.StatusPermanentRedirect, "bytes=0-9"},
		{"overlapping chunk", "bytes 5-14/*", "XXXXXabcde", http.StatusPermanentRedirect, "bytes=0-14"},
		{"gap", "bytes 20-24/*", "vwxyz", http.StatusBadRequest, ""},
		{"body shorter than its range", "bytes 15-19/*", "fgh", http.StatusBadRequest, ""},
		{"body longer than its range", "bytes 15-19/*", "fghijk", http.StatusBadRequest, ""},
		{"status query", "bytes */*", "", http.StatusPermanentRedirect, "bytes=0-14"},
		{"invalid Content-Range", "bytes 15-", "fghij", http.StatusBadRequest, ""},
		{"finalized short", "bytes */30", "", http.StatusBadRequest, ""},
		{"last chunk", "bytes 15-19/20", "fghij", http.StatusOK, ""},
	}
	var final string
	for _, st := range steps {
		status, rng, body := sess.put(st.contentRange, st.body)
		if status != st.status || rng != st.rng {
			t.Fatalf("%s (%s): %d, Range %q, body %s; want %d, Range %q", st.name, st.contentRange, status, rng, body, st.status, st.rng)
		}
		final = body
	}
	var obj struct {
		Size        string            `json:"size"`
		ContentType string            `json:"contentType"`
		Metadata    map[string]string `json:"metadata"`
		Generation  string            `json:"generation"`
	}
	if err := json.Unmarshal([]byte(final), &obj); err != nil {
		t.Fatalf("last chunk's answer %s: %v", final, err)
	}
	if obj.Size != "20" || obj.ContentType != "application/x-test" || obj.Metadata["k"] != "v" {
		t.Errorf("object resource %+v, want size 20, type application/x-test, metadata k=v", obj)
	}
	if got := read(t, client(t, s).Bucket("landing").Object("raw.bin")); string(got) != "0123456789abcdefghij" {
		t.Errorf("object = %q, want %q", got, "0123456789abcdefghij")
	}
	status, _, again := sess.put("bytes 15-19/20", "fghij")
	if status != http.StatusOK || again != final {
		t.Errorf("last chunk sent again: %d %s, want 200 and the same object %s", status, again, final)
	}
	attrs, err := client(t, s).Bucket("landing").Object("raw.bin").Attrs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if gen := attrs.Generation; obj.Generation != strconv.FormatInt(gen, 10) {
		t.Errorf("object generation %d after the last chunk was sent again, want %s (no second object)", gen, obj.Generation)
	}
}

// TestResumable_declaredChecksum: an upload whose content does not match a
// checksum its start declared is refused at its last chunk, and no object is
// created; one that matches is created, also when a chunk was sent again
// (its repeated bytes are not counted twice).
func TestResumable_declaredChecksum(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	md5Of := func(text string) string { sum := md5.Sum([]byte(text)); return b64(sum[:]) }
	crcOf := func(text string) string {
		return b64(binary.BigEndian.AppendUint32(nil, crc32.Checksum([]byte(text), crc32.MakeTable(crc32.Castagnoli))))
	}
	cases := []struct {
		name, metadata, refusal string
	}{
		{"md5-mismatch.bin", `{"md5Hash": "` + md5Of("something else") + `"}`, "MD5"},
		{"crc32c-mismatch.bin", `{"crc32c": "` + crcOf("something else") + `"}`, "CRC32C"},
		{"both-match.bin", `{"md5Hash": "` + md5Of("hello world") + `", "crc32c": "` + crcOf("hello world") + `"}`, ""},
	}
	for _, tc := range cases {
		sess := startSession(t, s, tc.name, tc.metadata)
		sess.hello()
		if status, _, body := sess.put("bytes 3-6/*", "lo w"); status != http.StatusPermanentRedirect {
			t.Fatalf("%s: chunk sent again with 2 new bytes: %d %s", tc.name, status, body)
		}
		status, _, body := sess.put("bytes 7-10/11", "orld")
		if tc.refusal != "" {
			if status != http.StatusBadRequest || !strings.Contains(body, tc.refusal) {
				t.Errorf("%s: last chunk: %d %s, want 400 naming the %s", tc.name, status, body, tc.refusal)
			}
			absent(t, s, tc.name)
			continue
		}
		if status != http.StatusOK {
			t.Fatalf("%s: last chunk: %d %s, want 200", tc.name, status, body)
		}
		attrs, err := client(t, s).Bucket("landing").Object(tc.name).Attrs(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := b64(attrs.MD5); attrs.Size != 11 || got != md5Of("hello world") {
			t.Errorf("%s: size %d MD5 %s, want 11 bytes of MD5 %s", tc.name, attrs.Size, got, md5Of("hello world"))
		}
	}
}

// TestResumable_cancel: a deleted session takes no more chunks.
func TestResumable_cancel(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	sess := startSession(t, s, "cancelled.bin", "")
	sess.hello()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, sess.uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if status, _, body := sess.put("bytes 5-10/11", " world"); status != http.StatusNotFound {
		t.Fatalf("last chunk after the session was deleted: %d %s, want 404", status, body)
	}
	absent(t, s, "cancelled.bin")
}

// hello sends the first 5 bytes of an upload of unknown size.
func (s *session) hello() {
	s.t.Helper()
	if status, _, body := s.put("bytes 0-4/*", "hello"); status != http.StatusPermanentRedirect {
		s.t.Fatalf("chunk: %d %s", status, body)
	}
}

// absent fails unless gs://landing/name does not exist.
func absent(t *testing.T, s *gcs.Server, name string) {
	t.Helper()
	if _, err := client(t, s).Bucket("landing").Object(name).Attrs(t.Context()); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Fatalf("Attrs(%s) = %v, want ErrObjectNotExist", name, err)
	}
}

// TestResumable_wholeWithoutRange: a request without Content-Range carries
// the whole object, and a large start body reaches fake-gcs-server whole.
func TestResumable_wholeWithoutRange(t *testing.T) {
	s, _ := start(t, gcs.Options{})
	bucket(t, s, "landing")
	large := `{"contentType": "text/plain", "contentLanguage": "` + strings.Repeat("x", 1<<20) + `"}`
	for name, metadata := range map[string]string{"whole.txt": "", "large-start.txt": large} {
		sess := startSession(t, s, name, metadata)
		if status, _, body := sess.put("", "all of it"); status != http.StatusOK {
			t.Fatalf("%s: a request without Content-Range: %d %s", name, status, body)
		}
		if got := read(t, client(t, s).Bucket("landing").Object(name)); string(got) != "all of it" {
			t.Errorf("%s: object = %q, want %q", name, got, "all of it")
		}
	}
}

// BenchmarkResumableUpload uploads a 128 MiB object in 8 MiB chunks, as
// load-csv stages its Avro files, and deletes it: the emulator's side of a
// staging upload, where a fresh heap costs most on a VM.
func BenchmarkResumableUpload(b *testing.B) {
	s, _ := start(b, gcs.Options{})
	bucket(b, s, "staging")
	c := client(b, s)
	data := make([]byte, 128<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		o := c.Bucket("staging").Object("valid.avro")
		w := o.NewWriter(b.Context())
		w.ChunkSize = 8 << 20
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := o.Delete(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
