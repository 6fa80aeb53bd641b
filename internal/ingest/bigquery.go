package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// permanentError is a failure that another attempt would repeat: the file is
// recorded as FAILED and the event acknowledged.
type permanentError struct {
	msg string
	err error
}

func (e *permanentError) Error() string { return e.msg }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error, format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...) + ": " + err.Error(), err: err}
}

// loadJob appends the Avro file at uri to a table with a load job whose id
// is id, and returns the rows it wrote. When a job with that id exists (an
// earlier delivery of the same file ran it), its outcome is used instead:
// the file is never loaded twice. warehouse.RunJob classifies the failures;
// a permanent one (a job that ran and failed: its id cannot run again) is
// a *permanentError.
func (l *Loader) loadJob(ctx context.Context, id, uri, dataset, table string) (int64, error) {
	ref := bigquery.NewGCSReference(uri)
	ref.SourceFormat = bigquery.Avro
	loader := l.bq.Dataset(dataset).Table(table).LoaderFrom(ref)
	loader.UseAvroLogicalTypes = true
	loader.WriteDisposition = bigquery.WriteAppend
	loader.CreateDisposition = bigquery.CreateNever
	loader.JobID = id
	loader.Labels = map[string]string{"component": "load-csv"}
	status, err := warehouse.RunJob(ctx, l.bq, id, loader.Run)
	if warehouse.IsPermanent(err) {
		return 0, permanent(err, "load job %s into %s failed", id, table)
	}
	if err != nil {
		return 0, fmt.Errorf("load job %s: %w", id, err)
	}
	stats, ok := status.Statistics.Details.(*bigquery.LoadStatistics)
	if !ok {
		return 0, fmt.Errorf("load job %s: no load statistics", id)
	}
	return stats.OutputRows, nil
}

// ingestLogColumns are the columns of ingest_log, from its schema file.
func ingestLogColumns() []string {
	var cols []string
	for _, f := range warehouse.SystemSchema(warehouse.IngestLog) {
		cols = append(cols, f.Name)
	}
	return cols
}

// record writes the file's row in ingest_log unless one exists: a MERGE on
// the ingestion id, so that a repeated delivery records nothing twice.
func (l *Loader) record(ctx context.Context, o Object, res Result) error {
	cols := ingestLogColumns()
	params := make([]string, len(cols))
	for i, c := range cols {
		params[i] = "@" + c
	}
	sql := fmt.Sprintf("MERGE `%s.%s` T USING (SELECT @ingestion_id AS ingestion_id) S ON T.ingestion_id = S.ingestion_id\n"+
		"WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)",
		l.dataset, warehouse.IngestLog, strings.Join(cols, ", "), strings.Join(params, ", "))
	byRule, err := json.Marshal(res.RejectedByRule)
	if err != nil {
		return fmt.Errorf("ingest_log: %w", err)
	}
	values := map[string]any{
		"ingestion_id":     res.IngestionID,
		"bucket":           o.Bucket,
		"object":           o.Name,
		"generation":       o.Generation,
		"table_name":       res.Table,
		"outcome":          string(res.Outcome),
		"message":          bigquery.NullString{StringVal: res.Message, Valid: res.Message != ""},
		"rows_read":        res.RowsRead,
		"rows_loaded":      res.RowsLoaded,
		"rows_rejected":    res.RowsRejected,
		"rejected_by_rule": string(byRule),
		"bytes":            res.Bytes,
		"started_at":       res.Started,
		"duration_ms":      res.Duration.Milliseconds(),
		"load_job_id":      bigquery.NullString{StringVal: res.LoadJobID, Valid: res.LoadJobID != ""},
	}
	q := l.bq.Query(sql)
	for _, c := range cols {
		v, ok := values[c]
		if !ok {
			return fmt.Errorf("ingest_log: no value for column %s", c)
		}
		q.Parameters = append(q.Parameters, bigquery.QueryParameter{Name: c, Value: v})
	}
	job, err := q.Run(ctx)
	if err != nil {
		return fmt.Errorf("ingest_log: %w", err)
	}
	status, err := job.Wait(ctx)
	if err == nil {
		err = status.Err()
	}
	if err != nil {
		return fmt.Errorf("ingest_log: %w", err)
	}
	return nil
}

// recorded returns the ingest_log row of an ingestion, or nil if there is
// none yet.
func (l *Loader) recorded(ctx context.Context, ingestionID string) (*Result, error) {
	q := l.bq.Query(fmt.Sprintf("SELECT table_name, outcome, message, rows_read, rows_loaded, rows_rejected, rejected_by_rule, bytes, started_at, duration_ms, load_job_id FROM `%s.%s` WHERE ingestion_id = @id LIMIT 1",
		l.dataset, warehouse.IngestLog))
	q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: ingestionID}}
	it, err := q.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest_log: %w", err)
	}
	var row struct {
		TableName      string              `bigquery:"table_name"`
		Outcome        string              `bigquery:"outcome"`
		Message        bigquery.NullString `bigquery:"message"`
		RowsRead       int64               `bigquery:"rows_read"`
		RowsLoaded     int64               `bigquery:"rows_loaded"`
		RowsRejected   int64               `bigquery:"rows_rejected"`
		RejectedByRule string              `bigquery:"rejected_by_rule"`
		Bytes          int64               `bigquery:"bytes"`
		StartedAt      time.Time           `bigquery:"started_at"`
		DurationMS     int64               `bigquery:"duration_ms"`
		LoadJobID      bigquery.NullString `bigquery:"load_job_id"`
	}
	err = it.Next(&row)
	if errors.Is(err, iterator.Done) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ingest_log: %w", err)
	}
	res := &Result{
		IngestionID: ingestionID, Table: row.TableName, Outcome: Outcome(row.Outcome), Message: row.Message.StringVal,
		RowsRead: row.RowsRead, RowsLoaded: row.RowsLoaded, RowsRejected: row.RowsRejected, Bytes: row.Bytes,
		Started: row.StartedAt, Duration: time.Duration(row.DurationMS) * time.Millisecond, LoadJobID: row.LoadJobID.StringVal,
		RejectedByRule: map[dictionary.Rule]int64{},
	}
	if err := json.Unmarshal([]byte(row.RejectedByRule), &res.RejectedByRule); err != nil {
		return nil, fmt.Errorf("ingest_log: rejected_by_rule of %s: %w", ingestionID, err)
	}
	return res, nil
}
