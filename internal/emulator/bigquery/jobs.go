package bigquery

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	bq "google.golang.org/api/bigquery/v2"
)

// jobRecord is a job and, for a query, where its result rows are.
type jobRecord struct {
	Job       *bq.Job    `json:"job"`
	Result    *resultSet `json:"result,omitempty"`
	RequestID string     `json:"requestId,omitempty"`

	upload *uploadFile // the media of a load job, read by runLoad

	done chan struct{} // closed when the job has run
	seq  int64         // the order in which jobs were recorded, set before done is closed
}

// resultSet locates the rows of a query result.
type resultSet struct {
	// Table is the DuckDB name of the table that holds the rows: an
	// anonymous table in _emulator_results, or the destination table.
	Table string `json:"table,omitempty"`
	// Columns are the DuckDB columns to read, in schema order.
	Columns []string        `json:"columns,omitempty"`
	Schema  *bq.TableSchema `json:"schema,omitempty"`
	// Anonymous results are dropped when maxAnonymousResults newer ones
	// exist; Expired is then set.
	Anonymous bool `json:"anonymous,omitempty"`
	Expired   bool `json:"expired,omitempty"`
}

// maxAnonymousResults bounds the query results kept for jobs.getQueryResults:
// BigQuery keeps them for about a day; a laptop keeps the newest ones.
const maxAnonymousResults = 1000

type jobKey struct{ project, job string }

// jobStore holds every job in memory, written through to _emulator.jobs.
type jobStore struct {
	mu        sync.Mutex
	jobs      map[jobKey]*jobRecord
	requests  map[string]jobKey // project + "/" + requestId
	anonymous []jobKey          // jobs with anonymous results, oldest first
	seq       int64
}

func loadJobs(ctx context.Context, db *sql.DB) (*jobStore, error) {
	st := &jobStore{jobs: map[jobKey]*jobRecord{}, requests: map[string]jobKey{}}
	rows, err := db.QueryContext(ctx, `SELECT project, job_id, seq, record FROM _emulator.jobs ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var project, id, record string
		var seq int64
		if err := rows.Scan(&project, &id, &seq, &record); err != nil {
			return nil, err
		}
		rec := &jobRecord{done: make(chan struct{}), seq: seq}
		if err := json.Unmarshal([]byte(record), rec); err != nil {
			return nil, err
		}
		close(rec.done)
		k := jobKey{project, id}
		st.jobs[k] = rec
		if rec.RequestID != "" {
			st.requests[project+"/"+rec.RequestID] = k
		}
		if rec.Result != nil && rec.Result.Anonymous && !rec.Result.Expired {
			st.anonymous = append(st.anonymous, k)
		}
		st.seq = max(st.seq, seq)
	}
	return st, rows.Err()
}

// reserve registers a new job, or fails with 409 duplicate if its id is taken.
func (st *jobStore) reserve(job *bq.Job, requestID string) (*jobRecord, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ref := job.JobReference
	k := jobKey{ref.ProjectId, ref.JobId}
	if _, ok := st.jobs[k]; ok {
		return nil, errDuplicate("Job %s:%s.%s", ref.ProjectId, ref.Location, ref.JobId)
	}
	rec := &jobRecord{Job: job, RequestID: requestID, done: make(chan struct{})}
	st.jobs[k] = rec
	if requestID != "" {
		st.requests[ref.ProjectId+"/"+requestID] = k
	}
	return rec, nil
}

// get returns a job once it has run.
func (st *jobStore) get(ctx context.Context, project, id string) (*jobRecord, bool) {
	st.mu.Lock()
	rec, ok := st.jobs[jobKey{project, id}]
	st.mu.Unlock()
	if !ok {
		return nil, false
	}
	select {
	case <-rec.done:
	case <-ctx.Done():
		return nil, false
	}
	return rec, true
}

// byRequest returns the job started by an earlier request with the same id.
func (st *jobStore) byRequest(ctx context.Context, project, requestID string) (*jobRecord, bool) {
	st.mu.Lock()
	k, ok := st.requests[project+"/"+requestID]
	st.mu.Unlock()
	if !ok {
		return nil, false
	}
	return st.get(ctx, k.project, k.job)
}

// finish persists a job that has run and makes it visible.
func (s *Server) finish(ctx context.Context, rec *jobRecord) error {
	defer close(rec.done)
	st := s.jobs
	st.mu.Lock()
	st.seq++
	seq := st.seq
	rec.seq = seq
	st.mu.Unlock()
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ref := rec.Job.JobReference
	if _, err := s.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO _emulator.jobs VALUES (?, ?, ?, ?)`, ref.ProjectId, ref.JobId, seq, string(data)); err != nil {
		return err
	}
	if rec.Result != nil && rec.Result.Anonymous {
		return s.expireResults(ctx, jobKey{ref.ProjectId, ref.JobId})
	}
	return nil
}

// expireResults records a new anonymous result and drops the oldest beyond
// maxAnonymousResults.
func (s *Server) expireResults(ctx context.Context, k jobKey) error {
	st := s.jobs
	st.mu.Lock()
	st.anonymous = append(st.anonymous, k)
	var expired []*jobRecord
	for len(st.anonymous) > maxAnonymousResults {
		expired = append(expired, st.jobs[st.anonymous[0]])
		st.anonymous = st.anonymous[1:]
	}
	st.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for _, rec := range expired {
		if _, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+rec.Result.Table); err != nil {
			return err
		}
		rec.Result.Expired = true
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		ref := rec.Job.JobReference
		if _, err := s.db.ExecContext(ctx, `UPDATE _emulator.jobs SET record = ? WHERE project = ? AND job_id = ?`, string(data), ref.ProjectId, ref.JobId); err != nil {
			return err
		}
	}
	return nil
}

// newJobID returns a random job id like the client libraries make.
func newJobID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return "job_" + base64.RawURLEncoding.EncodeToString(b)
}

// insertJob is jobs.insert. The job runs before the answer, which is DONE;
// a job that fails is still created, with its errorResult.
func (s *Server) insertJob(r *http.Request) (any, error) {
	project := r.PathValue("projectId")
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	job, qp, err := s.newJob(project, body)
	if err != nil {
		return nil, err
	}
	if job.Configuration.DryRun {
		return s.dryRun(r.Context(), job, qp)
	}
	rec, err := s.jobs.reserve(job, "")
	if err != nil {
		return nil, err
	}
	if err := s.run(r.Context(), rec, qp); err != nil {
		return nil, err
	}
	return clone(rec.Job), nil
}

// newJob decodes and checks the job resource of a jobs.insert request,
// giving it a job id and a location when it has none.
func (s *Server) newJob(project string, body []byte) (*bq.Job, queryParams, error) {
	var params struct {
		Configuration struct {
			Query queryParams `json:"query"`
		} `json:"configuration"`
	}
	if err := checkProject(project); err != nil {
		return nil, params.Configuration.Query, err
	}
	var job bq.Job
	body, err := decodeJSON(body, &job)
	if err != nil {
		return nil, params.Configuration.Query, err
	}
	if job.Configuration == nil {
		return nil, params.Configuration.Query, errInvalid("Required parameter is missing: configuration")
	}
	if job.JobReference == nil {
		job.JobReference = &bq.JobReference{}
	}
	ref := job.JobReference
	if ref.ProjectId != "" && ref.ProjectId != project {
		return nil, params.Configuration.Query, errInvalid("The project %s in the job reference does not match the project %s of the request", ref.ProjectId, project)
	}
	ref.ProjectId = project
	if ref.JobId == "" {
		ref.JobId = newJobID()
	}
	if !jobIDPattern.MatchString(ref.JobId) {
		return nil, params.Configuration.Query, errInvalid("Invalid job ID \"%s\". Job IDs must be alphanumeric (plus underscores and dashes) and must be at most 1024 characters long.", ref.JobId)
	}
	if ref.Location == "" {
		ref.Location = s.location
	}
	if err := json.Unmarshal(body, &params); err != nil {
		return nil, params.Configuration.Query, errInvalid("Invalid JSON payload received. %v", err)
	}
	return &job, params.Configuration.Query, nil
}

// run runs a reserved job to completion and records it. The returned error
// is the emulator's own failure; the job's failure is in its status.
func (s *Server) run(ctx context.Context, rec *jobRecord, qp queryParams) error {
	// A job runs to its end whatever becomes of the request that inserted
	// it, as in BigQuery: a client killed or timed out mid-job, asking
	// again by the job's id, finds it DONE with its outcome, not failed
	// with "context canceled".
	ctx = context.WithoutCancel(ctx)
	job := rec.Job
	ref := job.JobReference
	now := nowMillis()
	job.Kind = "bigquery#job"
	job.Id = ref.ProjectId + ":" + ref.Location + "." + ref.JobId
	job.SelfLink = "/bigquery/v2/projects/" + ref.ProjectId + "/jobs/" + ref.JobId + "?location=" + ref.Location
	job.UserEmail = "emulator@localhost"
	job.Etag = newETag()
	job.Statistics = &bq.JobStatistics{CreationTime: now, StartTime: now}
	var err error
	switch cfg := job.Configuration; {
	case cfg.Query != nil:
		cfg.JobType = "QUERY"
		err = s.runQuery(ctx, rec, qp)
	case cfg.Load != nil:
		cfg.JobType = "LOAD"
		err = s.runLoad(ctx, rec)
	case cfg.Copy != nil:
		cfg.JobType = "COPY"
		err = s.runCopy(ctx, rec)
	case cfg.Extract != nil:
		cfg.JobType = "EXTRACT"
		err = s.runExtract(ctx, rec)
	default:
		err = errInvalid("The emulator supports query, load, copy and extract jobs only; this job has none of configuration.query, configuration.load, configuration.copy and configuration.extract")
	}
	job.Status = &bq.JobStatus{State: "DONE"}
	if err != nil {
		ae := asAPIError(err)
		if ae.Code >= 500 {
			s.log.Error("bigquery emulator job failed", "job", job.Id, "error", err)
		}
		job.Status.ErrorResult = ae.proto()
		job.Status.Errors = []*bq.ErrorProto{ae.proto()}
	}
	job.Statistics.EndTime = nowMillis()
	if err := s.finish(ctx, rec); err != nil {
		return fmt.Errorf("recording job %s: %w", job.Id, err)
	}
	return nil
}

// getJob is jobs.get.
func (s *Server) getJob(r *http.Request) (any, error) {
	project, id := r.PathValue("projectId"), r.PathValue("jobId")
	rec, ok := s.jobs.get(r.Context(), project, id)
	if !ok {
		return nil, errNotFound("Job %s:%s.%s", project, s.locationOf(r), id)
	}
	return clone(rec.Job), nil
}

// cancelJob is jobs.cancel; every job is already DONE.
func (s *Server) cancelJob(r *http.Request) (any, error) {
	project, id := r.PathValue("projectId"), r.PathValue("jobId")
	rec, ok := s.jobs.get(r.Context(), project, id)
	if !ok {
		return nil, errNotFound("Job %s:%s.%s", project, s.locationOf(r), id)
	}
	return &bq.JobCancelResponse{Kind: "bigquery#jobCancelResponse", Job: clone(rec.Job)}, nil
}

func (s *Server) locationOf(r *http.Request) string {
	if l := r.URL.Query().Get("location"); l != "" {
		return l
	}
	return s.location
}
