package insert

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/uuid"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bqwrite"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/idempotency"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Config configures insert-rows from HIRING_* variables.
type Config struct {
	config.Google
	auth.Config
	// StorageWriteEndpoint, when set, is the host:port of a Storage Write
	// API to use instead of Google's, in plaintext without credentials: the
	// local emulator.
	StorageWriteEndpoint string `env:"BIGQUERY_STORAGE_ENDPOINT"`
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES, default=2097152"`
	// ClaimsBucket holds the idempotency claims, one object per key under
	// idempotency/: the staging bucket.
	ClaimsBucket string `env:"STAGING_BUCKET, required"`
	// IdempotencyRetention is how long a key's claim answers for it; a
	// request with the key after that is a new batch. Terraform deletes
	// claims older than this with a lifecycle rule.
	IdempotencyRetention time.Duration `env:"IDEMPOTENCY_RETENTION, default=24h"`
	// RequestTimeout is the function's timeout: a request gives up after
	// it, and a claim left in progress longer than it (its instance
	// crashed) is taken over by the next request with the key.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT, default=60s"`
}

// Appender appends rows to a table, whose schema is schema: all of them or
// none. Each row is the message a bqwrite.Encoder of schema gave.
type Appender interface {
	Append(ctx context.Context, table string, schema bigquery.Schema, rows [][]byte) error
}

// Options are what a Service is built from.
type Options struct {
	Dictionary *dictionary.Dictionary
	Appender   Appender
	// Transient tells the failures of Appender worth a retry (503) from
	// the others (500).
	Transient func(error) bool
	// Claims keeps the idempotency claims, shared by every instance.
	Claims *idempotency.Store
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes int64
	// Timeout bounds the work of one request: the function's timeout.
	Timeout time.Duration
	// Logger receives the service's logs; default: discard.
	Logger *slog.Logger
}

// Service answers insert requests. It is safe for concurrent use, and any
// number of Services (instances) may share the claims' bucket and the
// tables.
type Service struct {
	dict      *dictionary.Dictionary
	rows      map[string]*rowEncoder // by table
	rejects   *bqwrite.Encoder       // of rejected_rows
	appender  Appender
	transient func(error) bool
	claims    *idempotency.Store
	maxBody   int64
	timeout   time.Duration
	log       *slog.Logger
}

// NewService returns a Service built from o; every field but Logger is
// required.
func NewService(o Options) (*Service, error) {
	switch {
	case o.Dictionary == nil || o.Appender == nil || o.Transient == nil || o.Claims == nil:
		return nil, errors.New("insert.NewService: the dictionary, the appender, transient and the claims are required")
	case o.MaxBodyBytes <= 0:
		return nil, fmt.Errorf("insert.NewService: MAX_BODY_BYTES must be positive, got %d", o.MaxBodyBytes)
	case o.Timeout <= 0:
		return nil, fmt.Errorf("insert.NewService: REQUEST_TIMEOUT must be positive, got %s", o.Timeout)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rows := map[string]*rowEncoder{}
	for _, t := range o.Dictionary.Tables() {
		enc, err := newRowEncoder(t)
		if err != nil {
			return nil, err
		}
		rows[t.Name] = enc
	}
	rejects, err := bqwrite.NewEncoder(warehouse.SystemSchema(warehouse.RejectedRows))
	if err != nil {
		return nil, fmt.Errorf("insert: %s: %w", warehouse.RejectedRows, err)
	}
	return &Service{dict: o.Dictionary, rows: rows, rejects: rejects, appender: o.Appender, transient: o.Transient, claims: o.Claims,
		maxBody: o.MaxBodyBytes, timeout: o.Timeout, log: o.Logger}, nil
}

// Result is the answer to an accepted batch.
type Result struct {
	Table       string    `json:"table"`
	IngestionID string    `json:"ingestion_id"`
	Received    int       `json:"received"`
	Inserted    int       `json:"inserted"`
	Refused     []Refusal `json:"refused"`
}

// Refusal is a refused row: its index in the batch, its CSV line, its key
// when the key is valid, and every rule it broke.
type Refusal struct {
	Index  int                     `json:"index"`
	Line   int64                   `json:"line,omitempty"`
	ID     any                     `json:"id,omitempty"`
	Errors []dictionary.FieldError `json:"errors"`
}

// rejectLogLimit is how many refused rows of a batch are logged one by one.
const rejectLogLimit = 20

// ReplayedHeader marks an answer replayed for a repeated Idempotency-Key.
const ReplayedHeader = "Idempotent-Replayed"

// stepRejects names the claim step of a batch's refused rows written to
// rejected_rows, so that a retry does not write them again.
const stepRejects = "rejected_rows"

// Handler serves the API: POST /tables/{table}/rows for writers, and
// GET /openapi.json.
func (s *Service) Handler(guard *auth.Guard) http.Handler {
	mux := httpapi.NewMux(OpenAPI(s.dict))
	mux.Handle(http.MethodPost, "/tables/{table}/rows", guard.Require(auth.Writer, httpapi.Handle(s.log, s.insert)))
	return mux
}

// batch is a parsed request, ready to be written.
type batch struct {
	table  *dictionary.Table
	items  []item
	rows   *rows // items' memory, released when the request is answered
	atomic bool
	key    string
	// fingerprint hashes what the request asks: media type, atomic and
	// the body (JSON without insignificant white space).
	fingerprint [sha256.Size]byte
}

// insert is POST /tables/{table}/rows.
func (s *Service) insert(r *http.Request) (any, error) {
	b, err := s.parse(r)
	if err != nil {
		return nil, err
	}
	defer b.rows.release()
	// The work goes on if the caller hangs up, so that a retry finds its
	// answer, and stops at the function's timeout, after which a retry
	// may take the claim over.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.timeout)
	defer cancel()
	if b.key == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		ingestionID := "api:" + b.table.Name + ":request-" + id.String()
		a, err := s.write(ctx, b, ingestionID, time.Now().UTC(), nil)
		if err != nil {
			return nil, s.failure(ingestionID, err)
		}
		return a, nil
	}
	return s.insertOnce(ctx, r, b)
}

// insertOnce writes a batch that has an Idempotency-Key under its claim.
func (s *Service) insertOnce(ctx context.Context, r *http.Request, b batch) (any, error) {
	ingestionID := "api:" + b.table.Name + ":" + b.key
	log := s.log.With(logging.KeyIngestionID, ingestionID, logging.KeyTable, b.table.Name)
	caller := "anonymous"
	if c, ok := auth.CallerFrom(r.Context()); ok {
		caller = c.Email
	}
	res, err := s.claims.Begin(ctx, idempotency.Request{Scope: b.table.Name, Caller: caller, Key: b.key, Fingerprint: b.fingerprint})
	if err != nil {
		return nil, httpapi.Unavailable("the idempotency claim could not be read or written; retry with the same Idempotency-Key",
			fmt.Errorf("batch %s: idempotency claim not taken: %w", ingestionID, err))
	}
	switch res.Outcome {
	case idempotency.Replay:
		log.Info("batch answered again: repeated Idempotency-Key", "status", res.Answer.Status)
		a := res.Answer
		a.Header = a.Header.Clone()
		if a.Header == nil {
			a.Header = http.Header{}
		}
		a.Header.Set(ReplayedHeader, "true")
		return a, nil
	case idempotency.Reused:
		log.Warn("batch refused: Idempotency-Key reused with another request")
		return nil, httpapi.Errorf(http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this Idempotency-Key was used for a different request (another body, media type or atomic); use a new key for a new batch")
	case idempotency.Busy:
		return nil, httpapi.Errorf(http.StatusConflict, "request_in_progress",
			"a request with this Idempotency-Key is being processed; retry after Retry-After seconds for its answer").
			WithHeader("Retry-After", strconv.Itoa(int(math.Ceil(res.RetryAfter.Seconds()))))
	}
	claim := res.Claim
	if claim.Attempt() > 1 {
		log.Info("batch claim taken over from an earlier attempt", "attempt", claim.Attempt(), "received_at", claim.ReceivedAt())
	}
	// Records are kept even when the work ran out of time.
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimWriteTimeout)
	defer cancel()
	a, err := s.write(ctx, b, ingestionID, claim.ReceivedAt(), claim)
	if err != nil {
		if rerr := claim.Release(record); rerr != nil {
			log.Warn("batch claim not released; a retry waits for its lease to end", logging.KeyError, rerr, "lease_until", claim.Deadline())
		}
		return nil, s.failure(ingestionID, err)
	}
	switch err := claim.Finish(record, a); {
	case errors.Is(err, idempotency.ErrLost):
		log.Error("batch answered differently by another attempt; this attempt's answer is not recorded", "attempt", claim.Attempt(), "status", a.Status)
	case err != nil:
		// The rows are written. A retry that finds no answer appends them
		// again with the same _ingested_at, which readers see once.
		log.Warn("batch answer not recorded in its claim", logging.KeyError, err)
	}
	return a, nil
}

// claimWriteTimeout bounds the recording of a claim's outcome.
const claimWriteTimeout = 10 * time.Second

// parse reads and validates a request, or refuses it with a 4xx problem.
func (s *Service) parse(r *http.Request) (batch, error) {
	t, ok := s.dict.Table(r.PathValue("table"))
	if !ok {
		return batch{}, httpapi.Errorf(http.StatusNotFound, "unknown_table", "no table %q; tables are %v", r.PathValue("table"), s.dict.Names())
	}
	b := batch{table: t}
	if v := r.URL.Query().Get("atomic"); v != "" {
		a, err := strconv.ParseBool(v)
		if err != nil {
			return batch{}, httpapi.Errorf(http.StatusBadRequest, "invalid_parameter", "atomic must be true or false, got %s", strconv.Quote(v))
		}
		b.atomic = a
	}
	b.key = r.Header.Get("Idempotency-Key")
	if b.key != "" && !validKey(b.key) {
		return batch{}, httpapi.Errorf(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
	}
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (media != "application/json" && media != "text/csv") {
		return batch{}, httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json or text/csv")
	}
	body, err := httpapi.ReadBody(r, s.maxBody)
	if err != nil {
		return batch{}, err
	}
	b.rows = newRows(t)
	if media == "text/csv" {
		b.items, err = parseCSV(t, body, b.rows)
	} else {
		b.items, err = parseJSON(t, body, b.rows)
	}
	if err != nil {
		b.rows.release()
		return batch{}, err
	}
	if b.key != "" {
		canonical := body
		if media == "application/json" {
			canonical = compact(body)
		}
		b.fingerprint = idempotency.Fingerprint([]byte(media), []byte(strconv.FormatBool(b.atomic)), canonical)
	}
	return b, nil
}

// failure is a batch that could not be written: a 503 when a retry may
// succeed, a 500 otherwise.
func (s *Service) failure(ingestionID string, err error) error {
	err = fmt.Errorf("batch %s not written: %w", ingestionID, err)
	var ce *claimError
	if errors.As(err, &ce) || s.transient(err) {
		return httpapi.Unavailable("BigQuery did not take the rows; retry with the same Idempotency-Key", err)
	}
	return err
}

// writeRejects appends a batch's refused rows to rejected_rows, once per
// claim: an attempt skips them when an earlier one recorded the step.
func (s *Service) writeRejects(ctx context.Context, rejects [][]any, claim *idempotency.Claim) error {
	if claim != nil {
		done, err := claim.Done(ctx, stepRejects)
		if err != nil {
			return &claimError{err}
		}
		if done {
			return nil
		}
	}
	data, err := s.rejects.EncodeRows(rejects)
	if err != nil {
		return fmt.Errorf("%s: %w", warehouse.RejectedRows, err)
	}
	if err := s.appender.Append(ctx, warehouse.RejectedRows, warehouse.SystemSchema(warehouse.RejectedRows), data); err != nil {
		return err
	}
	if claim != nil {
		if err := claim.Step(ctx, stepRejects); err != nil {
			return &claimError{err}
		}
	}
	return nil
}

// claimError is a failure to record a step in Cloud Storage: worth a
// retry.
type claimError struct{ err error }

func (e *claimError) Error() string { return "idempotency claim: " + e.err.Error() }
func (e *claimError) Unwrap() error { return e.err }

// write refuses duplicates, records refused rows and appends the valid ones,
// all stamped with receivedAt, and returns the answer. With a claim, the
// refused rows are recorded once per key: an attempt skips them when an
// earlier one recorded them.
func (s *Service) write(ctx context.Context, b batch, ingestionID string, receivedAt time.Time, claim *idempotency.Claim) (httpapi.Answer, error) {
	t, items := b.table, b.items
	refuseDuplicates(t, items)
	res := Result{Table: t.Name, IngestionID: ingestionID, Received: len(items), Refused: []Refusal{}}
	var rejects [][]any
	log := s.log.With(logging.KeyIngestionID, ingestionID, logging.KeyTable, t.Name)
	for i, it := range items {
		if it.err == nil {
			continue
		}
		res.Refused = append(res.Refused, Refusal{Index: i, Line: it.line, ID: it.err.Key, Errors: it.err.Errors})
		rejects = append(rejects, warehouse.RejectedRow(receivedAt, ingestionID, t.Name, "", 0, int64(i), it.stored(), it.err))
		if len(res.Refused) <= rejectLogLimit {
			log.Warn("row refused", "index", i, "errors", dictionary.Loggable(it.err.Errors))
		}
	}
	if n := len(res.Refused); n > rejectLogLimit {
		log.Warn(fmt.Sprintf("%d more refused rows not logged one by one; rejected_rows has them all", n-rejectLogLimit))
	}
	if len(rejects) > 0 {
		if err := s.writeRejects(ctx, rejects, claim); err != nil {
			return httpapi.Answer{}, err
		}
	}
	switch {
	case b.atomic && len(rejects) > 0:
		log.Info("batch refused: atomic and with invalid rows", "received", res.Received, "refused", len(rejects))
		return httpapi.RenderProblem(&httpapi.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_rows",
			Detail: fmt.Sprintf("%d of %d rows are invalid and atomic=true: nothing was inserted", len(rejects), len(items)), Errors: res.Refused}), nil
	case len(rejects) == len(items):
		log.Info("batch refused: no valid row", "received", res.Received)
		return httpapi.RenderProblem(&httpapi.Problem{Status: http.StatusUnprocessableEntity, Code: "no_valid_rows",
			Detail: fmt.Sprintf("none of the %d rows is valid: nothing was inserted", len(items)), Errors: res.Refused}), nil
	}
	valid, err := s.rows[t.Name].encode(items, ingestionID, receivedAt)
	if err != nil {
		return httpapi.Answer{}, err
	}
	if err := s.appender.Append(ctx, warehouse.RawTable(t.Name), warehouse.RawSchema(t), valid); err != nil {
		return httpapi.Answer{}, err
	}
	res.Inserted = len(valid)
	log.Info("batch inserted", "received", res.Received, "inserted", res.Inserted, "refused", len(res.Refused))
	return httpapi.Render(http.StatusOK, res), nil
}

func validKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
