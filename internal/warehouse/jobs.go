package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
)

// JobError is a BigQuery job that did not succeed, classified once for
// every caller: Permanent means another attempt would fail the same way.
//
// A job that ran and failed is permanent, whatever its reason: its id is
// derived, so another attempt adopts the same failed job. A job BigQuery
// refused to start with 400, 403 or 404 is permanent too, unless its reason
// is one of transientReasons. Everything else is transient: 5xx, 429, those
// reasons, a network error, and a wait whose context ended.
type JobError struct {
	JobID     string
	Permanent bool
	// Ran is true for a job that ran and failed, false for one that
	// BigQuery refused to start or that could not be waited for.
	Ran bool
	Err error
}

// transientReasons are the reasons of BigQuery errors that a later attempt
// may not get, whatever their HTTP status: rate limits and quotas that
// refill, and BigQuery's own failures.
var transientReasons = map[string]bool{
	"rateLimitExceeded": true, "jobRateLimitExceeded": true, "quotaExceeded": true,
	"backendError": true, "jobBackendError": true, "internalError": true, "jobInternalError": true,
	"tableUnavailable": true,
}

func (e *JobError) Error() string {
	if e.Permanent {
		return fmt.Sprintf("job %s failed: %v", e.JobID, e.Err)
	}
	return fmt.Sprintf("job %s: %v", e.JobID, e.Err)
}

func (e *JobError) Unwrap() error { return e.Err }

// IsPermanent reports whether err holds a permanent *JobError.
func IsPermanent(err error) bool {
	var je *JobError
	return errors.As(err, &je) && je.Permanent
}

// IsCode reports whether err holds a Google API error with an HTTP status.
func IsCode(err error, code int) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == code
}

// RunJob starts a job whose id is id (start must set it: a derived,
// deterministic id), or, when BigQuery answers 409 because a job with that
// id exists, adopts that job: an earlier attempt started it, and its
// outcome is this attempt's. It waits for the job and returns its final
// status, or a *JobError.
func RunJob(ctx context.Context, bq *bigquery.Client, id string, start func(context.Context) (*bigquery.Job, error)) (*bigquery.JobStatus, error) {
	job, err := start(ctx)
	if IsCode(err, http.StatusConflict) {
		job, err = bq.JobFromID(ctx, id)
	}
	if err != nil {
		return nil, &JobError{JobID: id, Permanent: Refused(err), Err: err}
	}
	if job.ID() != id {
		return nil, &JobError{JobID: id, Permanent: true, Err: fmt.Errorf("started as job %s: the caller did not set the derived id", job.ID())}
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return nil, &JobError{JobID: id, Permanent: Refused(err), Err: err}
	}
	if err := status.Err(); err != nil {
		return status, &JobError{JobID: id, Permanent: true, Ran: true, Err: err}
	}
	return status, nil
}

// Refused reports whether BigQuery refused a call for good: 400, 403 or
// 404, unless the reason is one of transientReasons.
func Refused(err error) bool {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return false
	}
	for _, e := range ge.Errors {
		if transientReasons[e.Reason] {
			return false
		}
	}
	switch ge.Code {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}
