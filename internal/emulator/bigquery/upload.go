package bigquery

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"sync"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/resumable"
)

// uploadURI stands for the file of a load job's media upload in its errors,
// where a load from Cloud Storage names the file's URI.
const uploadURI = "media upload"

// maxUpload bounds the media of one load job, which the emulator spools to
// a temporary file.
const maxUpload = 4 << 30

// uploadFile is the media of a load job, spooled to a temporary file.
type uploadFile struct {
	path string
	size int64
}

// uploadSession is a resumable upload: the job resource of its first
// request, and the bytes received so far.
type uploadSession struct {
	mu      sync.Mutex
	project string
	meta    []byte
	file    *os.File
	size    int64
	job     any // the answer, once the last byte came and the job ran
	err     error
}

// uploadHandler serves jobs.insert with a media upload, at
// /upload/bigquery/v2/projects/{projectId}/jobs: uploadType=multipart (the
// job resource and the file in one multipart/related body) and
// uploadType=resumable (a POST with the job resource, answered with a
// session URI in Location, then PUTs of the file's bytes with
// Content-Range, answered 308 until the last one, which runs the job; Go's
// client sends them with POST).
func (s *Server) uploadHandler(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("projectId")
	q := r.URL.Query()
	var res any
	var err error
	switch {
	case q.Get("upload_id") != "" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		// Python's client PUTs the chunks, Go's POSTs them.
		s.uploadChunk(w, r, project, q.Get("upload_id"))
		return
	case r.Method != http.MethodPost:
		err = errInvalid("%s is not a method of media uploads; use POST, then PUT to a resumable session", r.Method)
	case q.Get("uploadType") == "multipart":
		res, err = s.uploadMultipart(r, project)
	case q.Get("uploadType") == "resumable":
		s.startResumable(w, r, project)
		return
	default:
		err = errInvalid("uploadType %q is not supported by the emulator: use multipart or resumable, which carry the job's configuration", q.Get("uploadType"))
	}
	s.answer(w, r, res, err)
}

// answer writes a handler's result, or its error in Google's error
// envelope, and logs the request.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, res any, err error) {
	s.log.Debug("bigquery emulator request", "method", r.Method, "path", r.URL.Path, "error", err)
	if err != nil {
		ae := asAPIError(err)
		if ae.Code >= 500 {
			s.log.Error("bigquery emulator request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, ae)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// uploadMultipart reads a multipart/related body: the job resource, then
// the file.
func (s *Server) uploadMultipart(r *http.Request, project string) (any, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		return nil, errInvalid("A multipart upload needs Content-Type multipart/related with a boundary; got %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		return nil, errInvalid("The multipart upload has no job resource: %v", err)
	}
	meta, err := io.ReadAll(io.LimitReader(part, maxBody+1))
	if err != nil {
		return nil, errInvalid("Reading the job resource of the upload: %v", err)
	}
	if len(meta) > maxBody {
		return nil, errInvalid("The job resource of the upload is larger than %d bytes", maxBody)
	}
	part, err = mr.NextPart()
	if err != nil {
		return nil, errInvalid("The multipart upload has no media after its job resource: %v", err)
	}
	f, err := os.CreateTemp("", "bigquery-emulator-upload-*")
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	defer removeFile(f)
	n, err := io.Copy(f, io.LimitReader(part, maxUpload+1))
	if err != nil {
		return nil, errInvalid("Reading the media of the upload: %v", err)
	}
	if n > maxUpload {
		return nil, errInvalid("The media of the upload is larger than the emulator's limit of %d bytes", int64(maxUpload))
	}
	return s.runUpload(r, project, meta, &uploadFile{path: f.Name(), size: n})
}

// runUpload creates and runs the load job of a finished upload.
func (s *Server) runUpload(r *http.Request, project string, meta []byte, up *uploadFile) (any, error) {
	job, err := s.newUploadJob(project, meta)
	if err != nil {
		return nil, err
	}
	rec, err := s.jobs.reserve(job, "")
	if err != nil {
		return nil, err
	}
	rec.upload = up
	if err := s.run(r.Context(), rec, queryParams{}); err != nil {
		return nil, err
	}
	return clone(rec.Job), nil
}

// newUploadJob decodes and checks the job resource of a media upload,
// which must be a load job.
func (s *Server) newUploadJob(project string, meta []byte) (*bq.Job, error) {
	job, _, err := s.newJob(project, meta)
	if err != nil {
		return nil, err
	}
	if cfg := job.Configuration; cfg.Load == nil || cfg.Query != nil || cfg.Copy != nil || cfg.Extract != nil {
		return nil, errInvalid("A media upload needs a load job: its configuration must hold configuration.load and nothing else")
	}
	if job.Configuration.DryRun {
		return nil, errInvalid("Dry runs of load jobs are not supported by the emulator")
	}
	return job, nil
}

// startResumable opens a resumable upload session for a job resource, and
// answers with its URI in Location.
func (s *Server) startResumable(w http.ResponseWriter, r *http.Request, project string) {
	meta, err := readBody(r)
	if err == nil {
		// Refuse a bad job resource before the file is sent.
		_, err = s.newUploadJob(project, meta)
	}
	var f *os.File
	if err == nil {
		if f, err = os.CreateTemp("", "bigquery-emulator-upload-*"); err != nil {
			err = fmt.Errorf("upload: %w", err)
		}
	}
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.uploads.Store(id, &uploadSession{project: project, meta: meta, file: f})
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	w.Header().Set("Location", scheme+"://"+r.Host+"/upload/bigquery/v2/projects/"+project+"/jobs?uploadType=resumable&upload_id="+id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// uploadChunk receives bytes of a resumable upload. Content-Range says
// where they go ("bytes first-last/total", total * while unknown) or asks
// for the session's state ("bytes */total", no bytes); without it the body
// is the rest of the file. The answer is 308 with the bytes received in
// Range until the last byte, then the job, which runs then.
func (s *Server) uploadChunk(w http.ResponseWriter, r *http.Request, project, id string) {
	v, ok := s.uploads.Load(id)
	if !ok {
		s.answer(w, r, nil, errNotFound("Upload session %s", id))
		return
	}
	sess := v.(*uploadSession)
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.project != project {
		s.answer(w, r, nil, errNotFound("Upload session %s", id))
		return
	}
	if sess.job != nil || sess.err != nil {
		s.answer(w, r, sess.job, sess.err)
		return
	}
	first, last, total, err := parseContentRange(r.Header.Get("Content-Range"), sess.size)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	if first >= 0 {
		if first != sess.size {
			s.answer(w, r, nil, errInvalid("The chunk starts at byte %d, but the session has received %d bytes", first, sess.size))
			return
		}
		limit := int64(maxUpload) + 1 - sess.size
		if last >= 0 {
			limit = last - first + 1
		}
		n, err := io.Copy(sess.file, io.LimitReader(r.Body, limit))
		if err != nil {
			s.answer(w, r, nil, errInvalid("Reading the chunk: %v", err))
			return
		}
		sess.size += n
		if last >= 0 && n != last-first+1 {
			s.answer(w, r, nil, errInvalid("Content-Range says %d bytes, the body has %d", last-first+1, n))
			return
		}
		if last < 0 {
			total = sess.size // no Content-Range: the body was the rest
		}
	}
	switch {
	case sess.size > maxUpload:
		sess.finish(nil, errInvalid("The media of the upload is larger than the emulator's limit of %d bytes", int64(maxUpload)))
	case total >= 0 && sess.size > total:
		sess.finish(nil, errInvalid("The session received %d bytes, more than its total of %d", sess.size, total))
	case total >= 0 && sess.size == total:
		res, err := s.runUpload(r, project, sess.meta, &uploadFile{path: sess.file.Name(), size: sess.size})
		sess.finish(res, err)
	default:
		resumable.Incomplete(w, r, sess.size)
		return
	}
	s.answer(w, r, sess.job, sess.err)
}

// finish records a session's answer, which a retried PUT gets again, and
// removes its file. The caller holds the session's lock.
func (sess *uploadSession) finish(res any, err error) {
	sess.job, sess.err = res, err
	sess.meta = nil
	removeFile(sess.file)
}

// closeUploads removes the files of the sessions that never finished.
func (s *Server) closeUploads() {
	s.uploads.Range(func(_, v any) bool {
		sess := v.(*uploadSession)
		sess.mu.Lock()
		if sess.job == nil && sess.err == nil {
			removeFile(sess.file)
		}
		sess.mu.Unlock()
		return true
	})
}

// parseContentRange parses the Content-Range of a chunk: first and last
// are -1 for a status query ("bytes */total"), last is -1 without the
// header, total is -1 while unknown.
func parseContentRange(h string, received int64) (first, last, total int64, err error) {
	if h == "" {
		return received, -1, -1, nil
	}
	c, err := resumable.ParseRange(h)
	if err != nil {
		return 0, 0, 0, errInvalid("Invalid Content-Range %q: want bytes first-last/total, bytes first-last/* or bytes */total", h)
	}
	return c.First, c.Last, c.Total, nil
}

// removeFile closes and removes a temporary file.
func removeFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}
