package warehouse_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// newBigQuery starts an in-memory BigQuery emulator with a dataset "ds"
// holding a table t (n INT64), and returns it with a client.
func newBigQuery(t *testing.T) (*emulator.Server, *bigquery.Client) {
	t.Helper()
	ctx := context.Background()
	srv, bq := testutil.BigQuery(t, emulator.Options{})
	if err := bq.Dataset("ds").Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := bq.Dataset("ds").Table("t").Create(ctx, &bigquery.TableMetadata{Schema: bigquery.Schema{{Name: "n", Type: bigquery.IntegerFieldType}}}); err != nil {
		t.Fatal(err)
	}
	return srv, bq
}

// jobsWithID counts the jobs of the project that have an id.
func jobsWithID(t *testing.T, bq *bigquery.Client, id string) int {
	t.Helper()
	it := bq.Jobs(context.Background())
	n := 0
	for {
		j, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if j.ID() == id {
			n++
		}
	}
}

func insertJob(bq *bigquery.Client, id, sql string) func(context.Context) (*bigquery.Job, error) {
	q := bq.Query(sql)
	q.JobID = id
	return q.Run
}

func TestRunJob_DerivedIDAdoptsTheJob(t *testing.T) {
	t.Parallel()
	_, bq := newBigQuery(t)
	ctx := context.Background()
	const id = "hiring_test_insert"
	for range 3 {
		status, err := warehouse.RunJob(ctx, bq, id, insertJob(bq, id, "INSERT INTO ds.t (n) VALUES (1)"))
		if err != nil || status.State != bigquery.Done {
			t.Fatalf("RunJob: %v %+v", err, status)
		}
	}
	if n := jobsWithID(t, bq, id); n != 1 {
		t.Errorf("%d jobs with id %s, want 1", n, id)
	}
	rows := testutil.Query(t, bq.Query("SELECT COUNT(*) FROM ds.t"))
	if rows[0][0].(int64) != 1 {
		t.Errorf("the insert ran %v times, want once", rows[0][0])
	}
}

func TestRunJob_FailedJobIsPermanent(t *testing.T) {
	t.Parallel()
	_, bq := newBigQuery(t)
	ctx := context.Background()
	const id = "hiring_test_bad_insert"
	for range 2 {
		_, err := warehouse.RunJob(ctx, bq, id, insertJob(bq, id, "INSERT INTO ds.t (n) VALUES ('not a number')"))
		var je *warehouse.JobError
		if !errors.As(err, &je) || !je.Permanent || je.JobID != id || !warehouse.IsPermanent(err) {
			t.Fatalf("RunJob: %v, want a permanent *JobError for %s", err, id)
		}
	}
	if n := jobsWithID(t, bq, id); n > 1 {
		t.Errorf("%d jobs with id %s, want at most 1", n, id)
	}
}

func TestRunJob_MissingTableIsPermanent(t *testing.T) {
	t.Parallel()
	_, bq := newBigQuery(t)
	const id = "hiring_test_missing"
	_, err := warehouse.RunJob(context.Background(), bq, id, insertJob(bq, id, "INSERT INTO ds.missing (n) VALUES (1)"))
	if !warehouse.IsPermanent(err) {
		t.Fatalf("RunJob: %v, want permanent", err)
	}
}

func TestRunJob_UnavailableIsTransient(t *testing.T) {
	t.Parallel()
	srv, bq := newBigQuery(t)
	if err := srv.SetFaults(emulator.Faults{Rate: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	const id = "hiring_test_unavailable"
	_, err := warehouse.RunJob(ctx, bq, id, insertJob(bq, id, "INSERT INTO ds.t (n) VALUES (1)"))
	var je *warehouse.JobError
	if !errors.As(err, &je) || je.Permanent {
		t.Fatalf("RunJob: %v, want a transient *JobError", err)
	}
	if err := srv.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	// Faulted calls change nothing: the retry runs the job once.
	if _, err := warehouse.RunJob(context.Background(), bq, id, insertJob(bq, id, "INSERT INTO ds.t (n) VALUES (1)")); err != nil {
		t.Fatal(err)
	}
	if rows := testutil.Query(t, bq.Query("SELECT COUNT(*) FROM ds.t")); rows[0][0].(int64) != 1 {
		t.Errorf("%v rows, want 1", rows[0][0])
	}
}

func TestRunJob_UnsetIDIsRefused(t *testing.T) {
	t.Parallel()
	_, bq := newBigQuery(t)
	_, err := warehouse.RunJob(context.Background(), bq, "hiring_test_wanted", bq.Query("SELECT 1").Run)
	if !warehouse.IsPermanent(err) {
		t.Fatalf("RunJob: %v, want permanent", err)
	}
}

// TestRunJob_Classification classifies the errors of starting a job.
func TestRunJob_Classification(t *testing.T) {
	t.Parallel()
	apiErr := func(code int, reason string) error {
		return &googleapi.Error{Code: code, Errors: []googleapi.ErrorItem{{Reason: reason}}}
	}
	cases := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"invalid", apiErr(http.StatusBadRequest, "invalid"), true},
		{"access denied", apiErr(http.StatusForbidden, "accessDenied"), true},
		{"not found", apiErr(http.StatusNotFound, "notFound"), true},
		{"quota exceeded", apiErr(http.StatusForbidden, "quotaExceeded"), false},
		{"job rate limit", apiErr(http.StatusBadRequest, "jobRateLimitExceeded"), false},
		{"rate limit", apiErr(http.StatusForbidden, "rateLimitExceeded"), false},
		{"job backend error", apiErr(http.StatusBadRequest, "jobBackendError"), false},
		{"internal error", apiErr(http.StatusBadRequest, "internalError"), false},
		{"table unavailable", apiErr(http.StatusBadRequest, "tableUnavailable"), false},
		{"unavailable", apiErr(http.StatusServiceUnavailable, "backendError"), false},
		{"too many requests", apiErr(http.StatusTooManyRequests, ""), false},
		{"network", errors.New("connection reset by peer"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := warehouse.RunJob(context.Background(), nil, "job_1", func(context.Context) (*bigquery.Job, error) { return nil, tc.err })
			var je *warehouse.JobError
			if !errors.As(err, &je) || je.Permanent != tc.permanent || je.Ran {
				t.Errorf("RunJob = %#v, want a JobError with Permanent %v that did not run", err, tc.permanent)
			}
			if warehouse.IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", !tc.permanent, tc.permanent)
			}
		})
	}
}
