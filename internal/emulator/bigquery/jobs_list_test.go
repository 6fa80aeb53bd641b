package bigquery_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bqapi "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// listIDs returns the ids of the jobs it lists, in order.
func listIDs(t testing.TB, it *bigquery.JobIterator) []string {
	t.Helper()
	var ids []string
	for {
		job, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return ids
		}
		if err != nil {
			t.Fatalf("Jobs: %v", err)
		}
		ids = append(ids, job.ID())
	}
}

// runJob runs the job that run starts and waits for it; the job may fail.
// It returns the job's creation time.
func runJob(t testing.TB, run func(ctx context.Context) (*bigquery.Job, error)) time.Time {
	t.Helper()
	ctx := context.Background()
	job, err := run(ctx)
	if err != nil {
		t.Fatalf("run a job: %v", err)
	}
	// Wait answers a failed query with its error; Status does not.
	if _, err := job.Wait(ctx); err != nil && reasonOf(err) == "" {
		t.Fatalf("wait for job %s: %v", job.ID(), err)
	}
	status, err := job.Status(ctx)
	if err != nil {
		t.Fatalf("status of job %s: %v", job.ID(), err)
	}
	created := status.Statistics.CreationTime
	mark(gap) // the next job is created later
	return created
}

// queryJob returns a function that starts a query job with an id.
func (e *env) queryJob(id, sql string) func(ctx context.Context) (*bigquery.Job, error) {
	return func(ctx context.Context) (*bigquery.Job, error) {
		q := e.client.Query(sql)
		q.JobID = id
		return q.Run(ctx)
	}
}

// jobsEnv is an emulator that has run six jobs of every kind, each created
// after the one before: ids in order, with their creation times.
type jobsEnv struct {
	*loadEnv
	ids     []string
	created []time.Time
}

func newJobsEnv(t testing.TB) *jobsEnv {
	t.Helper()
	e := &jobsEnv{loadEnv: newLoadEnv(t)}
	e.createTable(t, "h", &bigquery.TableMetadata{Schema: hiredSchema})
	uri := e.putAvro(t, "h.avro", hiredAvro, hired(1, "one", t1, 1, 1))
	load := func(id string) func(ctx context.Context) (*bigquery.Job, error) {
		return func(ctx context.Context) (*bigquery.Job, error) {
			ref := bigquery.NewGCSReference(uri)
			ref.SourceFormat = bigquery.Avro
			l := e.client.Dataset("d").Table("h").LoaderFrom(ref)
			l.JobID = id
			return l.Run(ctx)
		}
	}
	jobs := []struct {
		id  string
		run func(ctx context.Context) (*bigquery.Job, error)
	}{
		{"load_h_1", load("load_h_1")},
		{"q_count", e.queryJob("q_count", "SELECT COUNT(*) FROM d.h")},
		{"q_fail", e.queryJob("q_fail", "SELECT no_such_column FROM d.h")},
		{"copy_h", func(ctx context.Context) (*bigquery.Job, error) {
			c := e.client.Dataset("d").Table("h2").CopierFrom(e.client.Dataset("d").Table("h"))
			c.JobID = "copy_h"
			return c.Run(ctx)
		}},
		{"load_h_2", load("load_h_2")},
		{"q_insert", e.queryJob("q_insert", "INSERT d.h (id, name, datetime) VALUES (2, 'two', CURRENT_TIMESTAMP())")},
	}
	for _, j := range jobs {
		e.ids = append(e.ids, j.id)
		e.created = append(e.created, runJob(t, j.run))
	}
	return e
}

// newest returns the ids of jobs first to last (indexes into e.ids), newest
// first.
func (e *jobsEnv) newest(first, last int) []string {
	ids := slices.Clone(e.ids[first : last+1])
	slices.Reverse(ids)
	return ids
}

func TestJobs_List(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	all := e.newest(0, len(e.ids)-1)
	cases := []struct {
		name  string
		setup func(it *bigquery.JobIterator)
		want  []string
	}{
		{"all", func(*bigquery.JobIterator) {}, all},
		{"pages of 2", func(it *bigquery.JobIterator) { it.PageInfo().MaxSize = 2 }, all},
		{"pages of 4", func(it *bigquery.JobIterator) { it.PageInfo().MaxSize = 4 }, all},
		{"all users", func(it *bigquery.JobIterator) { it.AllUsers = true }, all},
		{"done", func(it *bigquery.JobIterator) { it.State = bigquery.Done }, all},
		{"running", func(it *bigquery.JobIterator) { it.State = bigquery.Running }, nil},
		{"pending", func(it *bigquery.JobIterator) { it.State = bigquery.Pending }, nil},
		{"created since", func(it *bigquery.JobIterator) { it.MinCreationTime = e.created[3] }, e.newest(3, 5)},
		{"created until", func(it *bigquery.JobIterator) { it.MaxCreationTime = e.created[2] }, e.newest(0, 2)},
		{"created between, paged", func(it *bigquery.JobIterator) {
			it.MinCreationTime, it.MaxCreationTime = e.created[1], e.created[4]
			it.PageInfo().MaxSize = 3
		}, e.newest(1, 4)},
		{"children of a job", func(it *bigquery.JobIterator) { it.ParentJobID = "q_count" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			it := e.client.Jobs(context.Background())
			tc.setup(it)
			if diff := cmp.Diff(tc.want, listIDs(t, it), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("job ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobs_ListDetails(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	ctx := context.Background()
	t.Run("kinds and states", func(t *testing.T) {
		t.Parallel()
		it := e.client.Jobs(ctx)
		loads := 0
		for {
			job, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				t.Fatalf("Jobs: %v", err)
			}
			status := job.LastStatus()
			if status == nil || status.State != bigquery.Done {
				t.Errorf("job %s: status %+v, want DONE", job.ID(), status)
				continue
			}
			if reason := reasonOf(status.Err()); (job.ID() == "q_fail") != (reason == "invalidQuery") {
				t.Errorf("job %s: error %v", job.ID(), status.Err())
			}
			cfg, err := job.Config()
			if err != nil {
				t.Fatalf("job %s: Config: %v", job.ID(), err)
			}
			if _, ok := cfg.(*bigquery.LoadConfig); ok && strings.HasPrefix(job.ID(), "load_h_") {
				loads++
			}
		}
		if loads != 2 {
			t.Errorf("%d load jobs with the id prefix load_h_, want 2", loads)
		}
	})
	svc, err := bqapi.NewService(ctx, option.WithEndpoint(e.url+"/bigquery/v2/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery/v2 NewService: %v", err)
	}
	projections := []struct {
		projection string
		full       bool
	}{{"minimal", false}, {"full", true}, {"", false}}
	for _, p := range projections {
		t.Run("projection "+p.projection, func(t *testing.T) {
			t.Parallel()
			call := svc.Jobs.List(project).Context(ctx)
			if p.projection != "" {
				call.Projection(p.projection)
			}
			list, err := call.Do()
			if err != nil {
				t.Fatalf("jobs.list: %v", err)
			}
			if len(list.Jobs) != len(e.ids) {
				t.Fatalf("%d jobs, want %d", len(list.Jobs), len(e.ids))
			}
			for _, j := range list.Jobs {
				if j.State != "DONE" || j.Statistics == nil || j.Statistics.CreationTime == 0 || j.Id == "" {
					t.Errorf("job %s: state %q, statistics %+v", j.JobReference.JobId, j.State, j.Statistics)
				}
				if got := j.Configuration != nil && j.Status != nil && j.UserEmail != ""; got != p.full {
					t.Errorf("job %s: has configuration, status and user email: %v, want %v", j.JobReference.JobId, got, p.full)
				}
			}
		})
	}
	invalid := []struct {
		name string
		call func() error
	}{
		{"stateFilter", func() error { _, err := svc.Jobs.List(project).StateFilter("finished").Do(); return err }},
		{"projection", func() error { _, err := svc.Jobs.List(project).Projection("some").Do(); return err }},
		{"pageToken", func() error { _, err := svc.Jobs.List(project).PageToken("not a token").Do(); return err }},
	}
	for _, tc := range invalid {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			t.Parallel()
			apiError(t, tc.call(), http.StatusBadRequest, "invalid")
		})
	}
}

// TestJobs_ListPagesWhileJobsRun checks that jobs finishing while a client
// pages through the list neither repeat nor hide the jobs of later pages.
func TestJobs_ListPagesWhileJobsRun(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	pager := iterator.NewPager(e.client.Jobs(context.Background()), 2, "")
	var ids []string
	for {
		var page []*bigquery.Job
		token, err := pager.NextPage(&page)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		for _, j := range page {
			ids = append(ids, j.ID())
		}
		if token == "" {
			break
		}
		runJob(t, e.queryJob("", "SELECT 1")) // newer than every listed job
	}
	if diff := cmp.Diff(e.newest(0, len(e.ids)-1), ids); diff != "" {
		t.Errorf("job ids (-want +got):\n%s", diff)
	}
}
