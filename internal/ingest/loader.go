package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Config configures a Loader from HIRING_* variables.
type Config struct {
	config.Google
	config.Buckets
	// RejectLogLimit is how many rejected rows of one file are logged one
	// by one; the rest are counted in one more line (rejected_rows keeps
	// them all).
	RejectLogLimit int `env:"REJECT_LOG_LIMIT, default=100"`
	// Codec compresses the staged Avro files: null, deflate or snappy.
	Codec string `env:"STAGING_CODEC, default=snappy"`
	// MaxRecordBytes bounds one CSV record, line terminator excluded: a
	// longer record is rejected with record_too_long, and skipped to its
	// end without being kept.
	MaxRecordBytes int `env:"MAX_RECORD_BYTES, default=65536"`
	// MaxFields bounds the fields of one CSV record: a record with more is
	// rejected with too_many_fields.
	MaxFields int `env:"MAX_FIELDS, default=64"`
	// MaxGzipBytes bounds the decompressed bytes of a .csv.gz file (or of
	// an object stored with Content-Encoding gzip): past it the file is
	// FAILED. 4 GiB takes about 80 s at the 1M rows (about 50 MiB) a
	// second that one vCPU stages: within the 540 s timeout, with room for
	// the load jobs.
	MaxGzipBytes int64 `env:"MAX_GZIP_BYTES, default=4294967296"`
	// MaxGzipRatio bounds how many times its stored size a gzip file
	// decompresses to, once past GzipRatioFloor: past it the file is a
	// gzip bomb, FAILED.
	MaxGzipRatio int64 `env:"MAX_GZIP_RATIO, default=100"`
}

// GzipRatioFloor is the decompressed size under which MaxGzipRatio does not
// apply: a small file of repetitive rows compresses far better than 100:1.
const GzipRatioFloor = 1 << 20

// Outcome is how the processing of a file ended.
type Outcome string

// The outcomes, as recorded in ingest_log.
const (
	// Loaded: the valid rows are in the table; rejects, if any, in
	// rejected_rows.
	Loaded Outcome = "LOADED"
	// Rejected: the file had no valid row; its rows are in rejected_rows.
	Rejected Outcome = "REJECTED"
	// Failed: the file could not be read or loaded; nothing of it was
	// loaded.
	Failed Outcome = "FAILED"
	// Skipped: the object is not a file to load. Only a .csv file whose name
	// maps to no table is recorded in ingest_log; temporary, empty and other
	// objects are only logged.
	Skipped Outcome = "SKIPPED"
	// Duplicate: an earlier delivery already processed this generation.
	Duplicate Outcome = "DUPLICATE"
)

// Result describes the processing of one file.
type Result struct {
	IngestionID    string
	Table          string
	Outcome        Outcome
	Message        string
	RowsRead       int64
	RowsLoaded     int64
	RowsRejected   int64
	RejectedByRule map[dictionary.Rule]int64
	Bytes          int64
	LoadJobID      string
	Started        time.Time
	Duration       time.Duration
}

// Loader loads files. It is safe for concurrent use.
type Loader struct {
	stager  *Stager
	bq      *bigquery.Client
	dataset string
	landing string
	log     *slog.Logger
}

// NewLoader returns a Loader that reads with gcs and loads with bq.
func NewLoader(cfg Config, dict *dictionary.Dictionary, bq *bigquery.Client, gcs *storage.Client, logger *slog.Logger) (*Loader, error) {
	if bq == nil || cfg.Dataset == "" || cfg.Landing == "" {
		return nil, errors.New("ingest.NewLoader: the BigQuery client, the dataset and the landing bucket are required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	stager, err := NewStager(cfg, dict, gcs, logger)
	if err != nil {
		return nil, err
	}
	return &Loader{stager: stager, bq: bq, dataset: cfg.Dataset, landing: cfg.Landing, log: logger}, nil
}

// Load processes one finalized object of the landing bucket; an object of
// another bucket is Skipped, only logged. It returns an error only for
// transient failures (BigQuery or Storage unavailable, timeouts), after
// which the same object must be processed again; every permanent outcome is
// logged and, except Skipped, recorded in ingest_log. Processing the same
// generation again, even concurrently, loads nothing twice: the load jobs'
// ids derive from the ingestion id.
func (l *Loader) Load(ctx context.Context, o Object) (Result, error) {
	res := Result{IngestionID: o.IngestionID(), Bytes: o.Size, Started: time.Now(), RejectedByRule: map[dictionary.Rule]int64{}}
	log := l.log.With(logging.KeyIngestionID, res.IngestionID)
	if o.Bucket != l.landing {
		res.Outcome, res.Message = Skipped, "not in the landing bucket "+l.landing
		log.Error("object refused: "+res.Message, "object", o.URI())
		return res, nil
	}
	rt := route(l.stager.dict, o)
	if rt.skip != "" {
		res.Outcome, res.Message, res.Table = Skipped, rt.skip, rt.name
		log.Info("object skipped: "+rt.skip, "object", o.URI())
		if rt.name == "" {
			return res, nil
		}
		res.Duration = time.Since(res.Started)
		return res, l.record(ctx, o, res)
	}
	table := rt.table
	res.Table = table.Name
	log = log.With(logging.KeyTable, table.Name)
	done, err := l.recorded(ctx, res.IngestionID)
	if err != nil {
		return res, err
	}
	if done != nil {
		log.Info("file already processed", "outcome", done.Outcome)
		done.Outcome = Duplicate
		return *done, nil
	}

	st, err := l.stager.stage(ctx, o, table, rt.gzipped, log)
	if err != nil {
		var pe *permanentError
		if !errors.As(err, &pe) {
			return res, err
		}
		res.Outcome, res.Message = Failed, pe.Error()
		return l.finish(ctx, o, res, log)
	}
	res.RowsRead = st.RowsRead
	res.RejectedByRule = st.RejectedByRule
	if st.Rejected > 0 {
		if _, err := l.loadJob(ctx, jobID("rejects", res.IngestionID), st.RejectsURI, l.dataset, warehouse.RejectedRows); err != nil {
			return l.failed(ctx, o, res, err, log)
		}
		res.RowsRejected = st.Rejected
	}
	if st.Valid == 0 {
		res.Outcome, res.Message = Rejected, "no valid row in the file"
		return l.finish(ctx, o, res, log)
	}
	res.LoadJobID = jobID("load", res.IngestionID)
	loaded, err := l.loadJob(ctx, res.LoadJobID, st.ValidURI, l.dataset, warehouse.RawTable(table.Name))
	if err != nil {
		return l.failed(ctx, o, res, err, log)
	}
	res.RowsLoaded = loaded
	res.Outcome = Loaded
	return l.finish(ctx, o, res, log)
}

// failed turns a permanent load failure into a FAILED outcome and passes a
// transient one up.
func (l *Loader) failed(ctx context.Context, o Object, res Result, err error, log *slog.Logger) (Result, error) {
	var pe *permanentError
	if !errors.As(err, &pe) {
		return res, err
	}
	res.Outcome, res.Message = Failed, pe.Error()
	return l.finish(ctx, o, res, log)
}

// finish records the result in ingest_log and logs it.
func (l *Loader) finish(ctx context.Context, o Object, res Result, log *slog.Logger) (Result, error) {
	res.Duration = time.Since(res.Started)
	if err := l.record(ctx, o, res); err != nil {
		return res, err
	}
	attrs := []any{"outcome", res.Outcome, "rows_read", res.RowsRead, "rows_loaded", res.RowsLoaded,
		"rows_rejected", res.RowsRejected, "rejected_by_rule", maps.Clone(res.RejectedByRule),
		"bytes", res.Bytes, "duration_ms", res.Duration.Milliseconds(), "load_job_id", res.LoadJobID}
	switch res.Outcome {
	case Failed:
		log.Error("file not loaded: "+res.Message, attrs...)
	case Rejected:
		log.Warn("file has no valid row", attrs...)
	default:
		log.Info("file loaded", attrs...)
	}
	return res, nil
}
