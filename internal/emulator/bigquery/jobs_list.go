package bigquery

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	bq "google.golang.org/api/bigquery/v2"
)

// defaultJobsPage is the page size of jobs.list without maxResults.
const defaultJobsPage = 50

// jobCursor is where a page of jobs.list ends: the last job it listed, by
// its place in the list's order (creation time, then recording order, both
// descending). A page token holds it, rather than an offset, so that jobs
// that finish while a client pages neither repeat nor shift the jobs it
// has not seen yet.
type jobCursor struct {
	created int64
	seq     int64
}

// before reports whether job rec comes before the cursor in the list.
func (c jobCursor) before(rec *jobRecord) bool {
	created := rec.Job.Statistics.CreationTime
	return created > c.created || created == c.created && rec.seq >= c.seq
}

const jobTokenPrefix = "jobs:"

func (c jobCursor) token() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s%d:%d", jobTokenPrefix, c.created, c.seq))
}

func parseJobToken(token string) (jobCursor, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(data), jobTokenPrefix); ok {
			created, seq, ok := strings.Cut(rest, ":")
			c, err1 := strconv.ParseInt(created, 10, 64)
			s, err2 := strconv.ParseInt(seq, 10, 64)
			if ok && err1 == nil && err2 == nil {
				return jobCursor{created: c, seq: s}, nil
			}
		}
	}
	return jobCursor{}, errInvalid("Invalid page token: %s", token)
}

// jobFilter is what a jobs.list call asks for.
type jobFilter struct {
	states     map[string]bool // lower-case states; empty: all
	minCreated int64           // ms, inclusive; 0: no bound
	maxCreated int64           // ms, inclusive; 0: no bound
	parent     string          // parentJobId
	full       bool            // projection=full
	size       int
	after      *jobCursor // pageToken
}

// parseJobFilter reads the query parameters of jobs.list.
func parseJobFilter(r *http.Request) (jobFilter, error) {
	q := r.URL.Query()
	f := jobFilter{states: map[string]bool{}, size: defaultJobsPage, parent: q.Get("parentJobId")}
	for _, st := range q["stateFilter"] {
		st = strings.ToLower(st)
		if st != "done" && st != "pending" && st != "running" {
			return f, errInvalid("Invalid value for stateFilter: %s", st)
		}
		f.states[st] = true
	}
	for name, dst := range map[string]*int64{"minCreationTime": &f.minCreated, "maxCreationTime": &f.maxCreated} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil {
				return f, errInvalid("Invalid value for %s: %s", name, v)
			}
			*dst = int64(n)
		}
	}
	switch p := strings.ToLower(q.Get("projection")); p {
	case "", "minimal":
	case "full":
		f.full = true
	default:
		return f, errInvalid("Invalid value for projection: %s", q.Get("projection"))
	}
	if v := q.Get("allUsers"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return f, errInvalid("Invalid value for allUsers: %s", v)
		}
	}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return f, errInvalid("Invalid value for maxResults: %s", v)
		}
		if n > 0 {
			f.size = int(n)
		}
	}
	if v := q.Get("pageToken"); v != "" {
		c, err := parseJobToken(v)
		if err != nil {
			return f, err
		}
		f.after = &c
	}
	return f, nil
}

// matches reports whether the filter lists the job of rec, which has run.
func (f jobFilter) matches(rec *jobRecord) bool {
	created := rec.Job.Statistics.CreationTime
	switch {
	case len(f.states) > 0 && !f.states[strings.ToLower(rec.Job.Status.State)],
		f.minCreated > 0 && created < f.minCreated,
		f.maxCreated > 0 && created > f.maxCreated,
		f.after != nil && f.after.before(rec):
		return false
	}
	// Child jobs belong to scripts, which the emulator refuses: no job
	// has a parent.
	return f.parent == ""
}

// listJobs is jobs.list: the project's jobs, newest first (by creation
// time, then by the order in which they finished), paged with maxResults
// (default 50) and pageToken, filtered by stateFilter, minCreationTime and
// maxCreationTime (milliseconds since the epoch, both inclusive) and
// parentJobId. allUsers is accepted: every job is the emulator's user's.
// projection=full lists each job with its configuration, status and user
// email; minimal leaves those out (the fields BigQuery marks as
// full-projection only), and is the emulator's default, BigQuery
// documenting none. Dry runs are not jobs, and a job is listed once it is
// DONE: jobs run within the call that inserts them.
func (s *Server) listJobs(r *http.Request) (any, error) {
	project := r.PathValue("projectId")
	if err := checkProject(project); err != nil {
		return nil, err
	}
	f, err := parseJobFilter(r)
	if err != nil {
		return nil, err
	}
	var recs []*jobRecord
	s.jobs.mu.Lock()
	for k, rec := range s.jobs.jobs {
		if k.project == project {
			recs = append(recs, rec)
		}
	}
	s.jobs.mu.Unlock()
	recs = slices.DeleteFunc(recs, func(rec *jobRecord) bool {
		select {
		case <-rec.done:
			return !f.matches(rec)
		default:
			return true
		}
	})
	slices.SortFunc(recs, func(a, b *jobRecord) int {
		return cmp.Or(cmp.Compare(b.Job.Statistics.CreationTime, a.Job.Statistics.CreationTime), cmp.Compare(b.seq, a.seq))
	})
	list := &bq.JobList{Kind: "bigquery#jobList", Etag: newETag(), Jobs: []*bq.JobListJobs{}}
	if len(recs) > f.size {
		recs = recs[:f.size]
		last := recs[len(recs)-1]
		list.NextPageToken = jobCursor{created: last.Job.Statistics.CreationTime, seq: last.seq}.token()
	}
	for _, rec := range recs {
		job := clone(rec.Job)
		item := &bq.JobListJobs{
			Kind:         "bigquery#job",
			Id:           job.Id,
			JobReference: job.JobReference,
			State:        job.Status.State,
			ErrorResult:  job.Status.ErrorResult,
			Statistics:   job.Statistics,
		}
		if f.full {
			item.Configuration = job.Configuration
			item.Status = job.Status
			item.UserEmail = job.UserEmail
		}
		list.Jobs = append(list.Jobs, item)
	}
	return list, nil
}
