package gcs

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/resumable"
)

// keepChunks wraps fake-gcs-server's handler so that the chunks of a
// resumable upload are kept by the wrapper, and the object is created at the
// last chunk by one streaming upload of the whole content.
//
// fake-gcs-server appends every chunk to the object and recomputes the MD5
// and CRC32C of everything received so far at each chunk, then reads the
// whole object into memory three more times to create it: a 100 MB staging
// file cost the emulator more CPU than the code under test spent making it.
// It also ignores where a chunk starts, so a chunk sent again after a lost
// answer was stored twice. Cloud Storage keeps the bytes at the offsets the
// Content-Range names: bytes a chunk sent again repeats are kept as they
// were, and a chunk that would leave a gap is refused. The wrapper does the
// same.
//
// fake-gcs-server still starts the session (it checks the bucket and answers
// the session URI), and still creates the object: the wrapper hands the
// content to its single-request media upload with the session's name,
// preconditions and metadata, so that preconditions, the new generation and
// the finalize notification are exactly its own. A session whose metadata
// that upload cannot carry (a storage class, a retention, a metadata key with
// capitals, a bucket in the body) is left to fake-gcs-server entirely, as
// are requests the wrapper does not recognise.
func keepChunks(h http.Handler) http.Handler {
	return &uploads{next: h, sessions: make(map[string]*session)}
}

type uploads struct {
	next     http.Handler
	mu       sync.Mutex
	sessions map[string]*session
}

// session is one resumable upload the wrapper keeps: what its start
// declared, and the bytes received so far, one part per chunk (parts are
// never copied into one buffer, which would copy everything received at
// each growth).
type session struct {
	bucket string
	// query and header make the media upload that creates the object.
	query  url.Values
	header http.Header
	// md5 and crc32c are the checksums the start declared, base64.
	md5, crc32c string

	mu    sync.Mutex
	parts [][]byte
	size  int64
	// crc is the CRC32C of the bytes received, and sum their MD5 when the
	// start declared one: both are kept up to date chunk by chunk, so that
	// the last chunk does not read everything again.
	crc uint32
	sum hash.Hash
	// final is the answer that ended the session, given again to any
	// later request to it (a last chunk sent again after a lost answer
	// gets the object, not a second one).
	final *recorded
}

// maxStartBody bounds the JSON body of a session's start that the wrapper
// reads: object metadata, a few KiB in practice.
const maxStartBody = 1 << 20

func (u *uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/upload/") {
		u.next.ServeHTTP(w, r)
		return
	}
	id := uploadID(r.URL)
	switch {
	case id == "" && r.Method == http.MethodPost && r.URL.Query().Get("uploadType") == "resumable":
		u.start(w, r)
	case id != "" && r.Method == http.MethodDelete:
		u.cancel(id)
		u.next.ServeHTTP(w, r)
	case id != "" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		u.chunk(w, r, id)
	default:
		u.next.ServeHTTP(w, r)
	}
}

// uploadID returns the upload id of a request to a session URI: the
// upload_id query parameter, or the last element of /upload/resumable/{id}.
func uploadID(u *url.URL) string {
	if id := u.Query().Get("upload_id"); id != "" {
		return id
	}
	if id, ok := strings.CutPrefix(u.Path, "/upload/resumable/"); ok && !strings.Contains(id, "/") {
		return id
	}
	return ""
}

func (u *uploads) lookup(id string) *session {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sessions[id]
}

// cancel ends a session that the client deleted: later requests to it are
// answered 404, as Cloud Storage answers them.
func (u *uploads) cancel(id string) {
	sess := u.lookup(id)
	if sess == nil {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.final == nil {
		rec := &recorder{header: http.Header{}}
		writeError(rec, http.StatusNotFound, "the upload was cancelled")
		sess.final, sess.parts = rec.result(), nil
	}
}

// startMetadata is the part of an object resource that a session's start
// may carry and the media upload can pass on.
type startMetadata struct {
	Name               string            `json:"name"`
	Bucket             string            `json:"bucket"`
	ContentType        string            `json:"contentType"`
	ContentEncoding    string            `json:"contentEncoding"`
	ContentDisposition string            `json:"contentDisposition"`
	ContentLanguage    string            `json:"contentLanguage"`
	CacheControl       string            `json:"cacheControl"`
	CustomTime         string            `json:"customTime"`
	MD5Hash            string            `json:"md5Hash"`
	CRC32C             string            `json:"crc32c"`
	Metadata           map[string]string `json:"metadata"`
	StorageClass       string            `json:"storageClass"`
	Retention          json.RawMessage   `json:"retention"`
}

// start passes a session's start to fake-gcs-server and, when it answers
// with a session URI, keeps a session for it.
func (u *uploads) start(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxStartBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "read the upload's metadata: "+err.Error())
		return
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	sess := newSession(r, body)
	if sess == nil {
		u.next.ServeHTTP(w, r)
		return
	}
	u.next.ServeHTTP(&startWriter{ResponseWriter: w, uploads: u, session: sess}, r)
}

// newSession returns the session a start describes, or nil when the media
// upload could not create its object as the start asks.
func newSession(r *http.Request, body []byte) *session {
	rest, ok := strings.CutPrefix(r.URL.Path, "/upload/storage/v1/b/")
	if !ok {
		return nil
	}
	bucket, tail, ok := strings.Cut(rest, "/")
	if !ok || (tail != "o" && tail != "o/") || len(body) > maxStartBody {
		return nil
	}
	var m startMetadata
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			return nil
		}
	}
	if (m.Bucket != "" && m.Bucket != bucket) || m.StorageClass != "" || len(m.Retention) > 0 {
		return nil
	}
	in := r.URL.Query()
	q := url.Values{"uploadType": {"media"}, "name": {cmp.Or(in.Get("name"), m.Name)}}
	if q.Get("name") == "" {
		return nil
	}
	for _, k := range []string{"ifGenerationMatch", "ifGenerationNotMatch", "predefinedAcl"} {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if v := cmp.Or(in.Get("contentEncoding"), m.ContentEncoding); v != "" {
		q.Set("contentEncoding", v)
	}
	if m.CustomTime != "" {
		q.Set("customTime", m.CustomTime)
	}
	h := http.Header{}
	for k, v := range map[string]string{
		"Content-Type":        m.ContentType,
		"Cache-Control":       m.CacheControl,
		"Content-Disposition": m.ContentDisposition,
		"Content-Language":    m.ContentLanguage,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	for k, v := range m.Metadata {
		// fake-gcs-server reads metadata from X-Goog-Meta- headers, whose
		// names it lowercases.
		if k == "" || strings.ToLower(k) != k {
			return nil
		}
		h.Set("X-Goog-Meta-"+k, v)
	}
	sess := &session{bucket: bucket, query: q, header: h, md5: m.MD5Hash, crc32c: m.CRC32C}
	if sess.md5 != "" {
		sess.sum = md5.New()
	}
	return sess
}

// startWriter keeps the session of a start that fake-gcs-server accepted,
// under the upload id of the Location it answers with.
type startWriter struct {
	http.ResponseWriter
	uploads *uploads
	session *session
	wrote   bool
}

func (w *startWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code == http.StatusOK {
			if loc, err := url.Parse(w.Header().Get("Location")); err == nil {
				if id := uploadID(loc); id != "" {
					w.uploads.mu.Lock()
					w.uploads.sessions[id] = w.session
					w.uploads.mu.Unlock()
				}
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *startWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// chunk takes one chunk of upload id. A chunk that is not the last is kept
// and answered "resume incomplete"; at the last, the object is created from
// every byte received.
func (u *uploads) chunk(w http.ResponseWriter, r *http.Request, id string) {
	sess := u.lookup(id)
	if sess == nil {
		// An upload the wrapper does not keep: fake-gcs-server's.
		u.next.ServeHTTP(w, r)
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.final != nil {
		sess.final.replay(w)
		return
	}
	body := io.Reader(r.Body)
	var c resumable.Range
	if h := r.Header.Get("Content-Range"); h != "" {
		var err error
		if c, err = resumable.ParseRange(h); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	} else {
		// A request without Content-Range carries the whole object.
		whole, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "read the upload: "+err.Error())
			return
		}
		body, c = bytes.NewReader(whole), resumable.Range{First: 0, Last: int64(len(whole)) - 1, Total: int64(len(whole))}
		if len(whole) == 0 {
			c.First, c.Last = -1, -1
		}
	}
	if c.Total >= 0 && c.Last >= c.Total {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the chunk ends at byte %d of an upload of %d bytes", c.Last, c.Total))
		return
	}
	if c.First >= 0 {
		if err := sess.write(body, c.First, c.Last-c.First+1); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	switch {
	case c.Total < 0 || (c.First >= 0 && sess.size < c.Total):
		// A chunk of an upload of unknown or larger size, or a status
		// query ("bytes */*").
		resumable.Incomplete(w, r, sess.size)
		return
	case sess.size != c.Total:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("upload finalized at %d bytes but %d were received", c.Total, sess.size))
		return
	}
	rec := &recorder{header: w.Header()}
	if err := sess.verify(r.Header.Get("X-Goog-Hash")); err != nil {
		writeError(rec, http.StatusBadRequest, err.Error())
	} else {
		u.next.ServeHTTP(rec, sess.create(r))
	}
	sess.final, sess.parts = rec.result(), nil
	sess.final.replay(w)
}

// write stores the n bytes of body that start at byte start of the object.
// Bytes already received are kept, as Cloud Storage keeps them when a chunk
// is sent again; a chunk that would leave a gap, or whose body is not n
// bytes long, is refused and nothing of it is kept.
func (s *session) write(body io.Reader, start, n int64) error {
	if start > s.size {
		return fmt.Errorf("chunk starts at byte %d but only %d bytes were received", start, s.size)
	}
	skip := min(s.size-start, n)
	if _, err := io.CopyN(io.Discard, body, skip); err != nil {
		return fmt.Errorf("the body is shorter than the %d bytes its Content-Range names", n)
	}
	part := make([]byte, n-skip)
	if _, err := io.ReadFull(body, part); err != nil {
		return fmt.Errorf("the body is shorter than the %d bytes its Content-Range names", n)
	}
	if k, _ := body.Read(make([]byte, 1)); k > 0 {
		return fmt.Errorf("the body is longer than the %d bytes its Content-Range names", n)
	}
	if len(part) > 0 {
		s.parts = append(s.parts, part)
		s.size += int64(len(part))
		s.crc = crc32.Update(s.crc, castagnoli, part)
		if s.sum != nil {
			s.sum.Write(part)
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// reader reads the bytes received, in order.
func (s *session) reader() io.Reader {
	rs := make([]io.Reader, len(s.parts))
	for i, p := range s.parts {
		rs[i] = bytes.NewReader(p)
	}
	return io.MultiReader(rs...)
}

// verify checks the content against the checksums the start declared and
// the CRC32C of the last chunk's X-Goog-Hash, as Cloud Storage does.
func (s *session) verify(googHash string) error {
	crc := s.crc32c
	for _, kv := range strings.Split(googHash, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "crc32c="); ok && crc == "" {
			crc = v
		}
	}
	check := func(name, want string, sum []byte) error {
		if got := base64.StdEncoding.EncodeToString(sum); want != "" && got != want {
			return fmt.Errorf("provided %s %q doesn't match calculated %s %q", name, want, name, got)
		}
		return nil
	}
	if s.sum != nil {
		if err := check("MD5 hash", s.md5, s.sum.Sum(nil)); err != nil {
			return err
		}
	}
	return check("CRC32C", crc, binary.BigEndian.AppendUint32(nil, s.crc))
}

// create returns the media upload that creates the session's object from the
// bytes received: the same path, the session's query and headers, and the
// last chunk's Content-Type when it has one.
func (s *session) create(last *http.Request) *http.Request {
	r := last.Clone(last.Context())
	r.Method = http.MethodPost
	r.URL.Path = "/upload/storage/v1/b/" + s.bucket + "/o"
	r.URL.RawPath = ""
	r.URL.RawQuery = s.query.Encode()
	r.RequestURI = ""
	r.Header = s.header.Clone()
	if ct := last.Header.Get("Content-Type"); ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/octet-stream")
	}
	r.Body = io.NopCloser(s.reader())
	r.ContentLength = s.size
	return r
}

// writeError answers with Cloud Storage's JSON error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code":    status,
		"message": message,
		"errors":  []map[string]string{{"domain": "global", "reason": "invalid", "message": message}},
	}})
}

// recorder is a ResponseWriter that keeps an answer so that it can be given
// again.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// recorded is an answer kept by a recorder.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *recorder) result() *recorded {
	return &recorded{status: cmp.Or(r.status, http.StatusOK), header: r.header.Clone(), body: r.body.Bytes()}
}

// replay writes the kept answer to w.
func (a *recorded) replay(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range a.header {
		h[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}
