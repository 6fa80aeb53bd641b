package bigquery

import (
	"context"
	"encoding/json"
	"net/http"

	bq "google.golang.org/api/bigquery/v2"
)

// query is jobs.query: it runs the query as a job and answers with the first
// page of rows. A repeated requestId answers with the first request's job.
func (s *Server) query(r *http.Request) (any, error) {
	project := r.PathValue("projectId")
	if err := checkProject(project); err != nil {
		return nil, err
	}
	var req bq.QueryRequest
	body, err := decodeBody(r, &req)
	if err != nil {
		return nil, err
	}
	var qp queryParams
	if err := json.Unmarshal(body, &qp); err != nil {
		return nil, errInvalid("Invalid JSON payload received. %v", err)
	}
	if req.Query == "" {
		return nil, errInvalid("Required parameter is missing: query")
	}
	location := req.Location
	if location == "" {
		location = s.location
	}
	job := &bq.Job{
		JobReference: &bq.JobReference{ProjectId: project, JobId: newJobID(), Location: location},
		Configuration: &bq.JobConfiguration{
			Labels: req.Labels,
			DryRun: req.DryRun,
			Query: &bq.JobConfigurationQuery{
				Query:              req.Query,
				UseLegacySql:       req.UseLegacySql,
				DefaultDataset:     req.DefaultDataset,
				ParameterMode:      req.ParameterMode,
				QueryParameters:    req.QueryParameters,
				MaximumBytesBilled: req.MaximumBytesBilled,
				UseQueryCache:      req.UseQueryCache,
			},
		},
	}
	if req.DryRun {
		return s.dryRun(r.Context(), job, qp)
	}
	rec, ok := s.existingRequest(r.Context(), project, req.RequestId)
	if !ok {
		rec, err = s.jobs.reserve(job, req.RequestId)
		if err != nil {
			return nil, err
		}
		if err := s.run(r.Context(), rec, qp); err != nil {
			return nil, err
		}
	}
	if e := rec.Job.Status.ErrorResult; e != nil {
		return nil, errorFromProto(e)
	}
	size := int64(-1)
	if req.MaxResults > 0 {
		size = req.MaxResults
	}
	int64ts := req.FormatOptions != nil && req.FormatOptions.UseInt64Timestamp
	res, err := s.results(r.Context(), rec, pageRequest{Size: size}, int64ts)
	if err != nil {
		return nil, err
	}
	return &bq.QueryResponse{
		Kind:                "bigquery#queryResponse",
		JobReference:        rec.Job.JobReference,
		JobComplete:         true,
		Schema:              res.Schema,
		TotalRows:           res.TotalRows,
		Rows:                res.Rows,
		PageToken:           res.PageToken,
		TotalBytesProcessed: res.TotalBytesProcessed,
		NumDmlAffectedRows:  res.NumDmlAffectedRows,
		DmlStats:            rec.Job.Statistics.Query.DmlStats,
		ForceSendFields:     res.ForceSendFields,
	}, nil
}

func (s *Server) existingRequest(ctx context.Context, project, requestID string) (*jobRecord, bool) {
	if requestID == "" {
		return nil, false
	}
	return s.jobs.byRequest(ctx, project, requestID)
}

// getQueryResults is jobs.getQueryResults.
func (s *Server) getQueryResults(r *http.Request) (any, error) {
	project, id := r.PathValue("projectId"), r.PathValue("jobId")
	rec, ok := s.jobs.get(r.Context(), project, id)
	if !ok {
		return nil, errNotFound("Job %s:%s.%s", project, s.locationOf(r), id)
	}
	if rec.Job.Configuration.Query == nil {
		return nil, errInvalid("Job %s is not a query job", rec.Job.Id)
	}
	if e := rec.Job.Status.ErrorResult; e != nil {
		return nil, errorFromProto(e)
	}
	p, err := parsePageRequest(r)
	if err != nil {
		return nil, err
	}
	return s.results(r.Context(), rec, p, int64Timestamps(r))
}

// results answers with a page of a query job's rows, or its DML counts.
func (s *Server) results(ctx context.Context, rec *jobRecord, p pageRequest, int64ts bool) (*bq.GetQueryResultsResponse, error) {
	stats := rec.Job.Statistics.Query
	res := &bq.GetQueryResultsResponse{
		Kind:                "bigquery#getQueryResultsResponse",
		Etag:                rec.Job.Etag,
		JobReference:        rec.Job.JobReference,
		JobComplete:         true,
		TotalBytesProcessed: stats.TotalBytesProcessed,
		ForceSendFields:     []string{"JobComplete", "TotalBytesProcessed", "CacheHit"},
	}
	if stats.DmlStats != nil || stats.StatementType != "SELECT" {
		res.NumDmlAffectedRows = stats.NumDmlAffectedRows
		res.ForceSendFields = append(res.ForceSendFields, "NumDmlAffectedRows")
		return res, nil
	}
	rs := rec.Result
	if rs.Expired {
		return nil, errNotFound("the results of job %s expired: the emulator keeps the newest %d", rec.Job.Id, maxAnonymousResults)
	}
	pg, err := s.readPage(ctx, rs.Table, rs.Columns, rs.Schema.Fields, p, int64ts)
	if err != nil {
		return nil, err
	}
	res.Schema = rs.Schema
	res.Rows = pg.Rows
	res.TotalRows = uint64(pg.Total)
	res.PageToken = pg.Next
	res.ForceSendFields = append(res.ForceSendFields, "TotalRows")
	return res, nil
}
