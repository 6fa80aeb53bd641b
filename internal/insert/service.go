package insert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/bigquery"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
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

// Appender appends rows to a table: all of them or none.
type Appender interface {
	Append(ctx context.Context, table string, schema bigquery.Schema, rows [][]any) error
}

// Service answers insert requests. It is safe for concurrent use.
type Service struct {
	dict      *dictionary.Dictionary
	appender  Appender
	transient func(error) bool
	maxBody   int64
	log       *slog.Logger
	answers   *lru.Cache[string, answer]
}

// answer is a response kept for a repeated request.
type answer struct {
	status int
	body   any
}

// answersKept bounds the answers kept for repeated requests.
const answersKept = 512

// NewService returns a Service that appends with a. transient tells the
// failures of a worth a retry (503) from the others (500).
func NewService(dict *dictionary.Dictionary, a Appender, transient func(error) bool, maxBody int64, logger *slog.Logger) (*Service, error) {
	if dict == nil || a == nil || transient == nil {
		return nil, errors.New("insert.NewService: dictionary, appender and transient are required")
	}
	if maxBody <= 0 {
		return nil, fmt.Errorf("insert.NewService: MAX_BODY_BYTES must be positive, got %d", maxBody)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cache, err := lru.New[string, answer](answersKept)
	if err != nil {
		return nil, err
	}
	return &Service{dict: dict, appender: a, transient: transient, maxBody: maxBody, log: logger, answers: cache}, nil
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

// Handler serves the API: POST /tables/{table}/rows for writers, and
// GET /openapi.json.
func (s *Service) Handler(guard *auth.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /tables/{table}/rows", guard.Require(auth.Writer, http.HandlerFunc(s.insert)))
	mux.HandleFunc("/tables/{table}/rows", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		httpapi.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use POST")
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, OpenAPI(s.dict))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.Error(w, http.StatusNotFound, "not_found", "no endpoint "+r.URL.Path+"; see /openapi.json")
	})
	return mux
}

// insert is POST /tables/{table}/rows.
func (s *Service) insert(w http.ResponseWriter, r *http.Request) {
	t, ok := s.dict.Table(r.PathValue("table"))
	if !ok {
		httpapi.Error(w, http.StatusNotFound, "unknown_table", fmt.Sprintf("no table %q; tables are %v", r.PathValue("table"), s.dict.Names()))
		return
	}
	atomic := false
	if v := r.URL.Query().Get("atomic"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpapi.Error(w, http.StatusBadRequest, "invalid_parameter", "atomic must be true or false, got "+strconv.Quote(v))
			return
		}
		atomic = b
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !validKey(key) {
		httpapi.Error(w, http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters")
		return
	}
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (media != "application/json" && media != "text/csv") {
		httpapi.Error(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/json or text/csv")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		httpapi.Error(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than %d bytes; send fewer rows per request", s.maxBody))
		return
	}
	if err != nil {
		httpapi.Error(w, http.StatusBadRequest, "malformed_body", "reading the body: "+err.Error())
		return
	}
	var items []item
	if media == "text/csv" {
		items, err = parseCSV(t, body)
	} else {
		items, err = parseJSON(t, body)
	}
	var bad *badRequest
	if errors.As(err, &bad) {
		httpapi.Error(w, http.StatusBadRequest, bad.code, bad.detail)
		return
	}
	if key == "" {
		key = contentKey(t.Name, media, body)
	}
	ingestionID := "api:" + t.Name + ":" + key
	if a, ok := s.answers.Get(ingestionID); ok {
		s.respond(w, a)
		return
	}
	a, err := s.write(r.Context(), t, ingestionID, items, atomic)
	if err != nil {
		s.log.Error("batch not written", logging.KeyIngestionID, ingestionID, logging.KeyTable, t.Name, logging.KeyError, err)
		if s.transient(err) {
			w.Header().Set("Retry-After", "1")
			httpapi.Error(w, http.StatusServiceUnavailable, "unavailable", "BigQuery did not take the rows; retry with the same Idempotency-Key")
			return
		}
		httpapi.Error(w, http.StatusInternalServerError, "internal", "the rows could not be written; see the function's logs")
		return
	}
	s.answers.Add(ingestionID, a)
	s.respond(w, a)
}

func (s *Service) respond(w http.ResponseWriter, a answer) {
	if p, ok := a.body.(httpapi.Problem); ok {
		httpapi.WriteProblem(w, p)
		return
	}
	httpapi.WriteJSON(w, a.status, a.body)
}

// write refuses duplicates, records refused rows and appends the valid ones,
// and returns the answer.
func (s *Service) write(ctx context.Context, t *dictionary.Table, ingestionID string, items []item, atomic bool) (answer, error) {
	refuseDuplicates(t, items)
	now := time.Now().UTC()
	res := Result{Table: t.Name, IngestionID: ingestionID, Received: len(items), Refused: []Refusal{}}
	var valid, rejects [][]any
	log := s.log.With(logging.KeyIngestionID, ingestionID, logging.KeyTable, t.Name)
	for i, it := range items {
		if it.err == nil {
			valid = append(valid, append(append([]any{}, it.row.Values...), ingestionID, now, int64(i)))
			continue
		}
		res.Refused = append(res.Refused, Refusal{Index: i, Line: it.line, ID: it.err.Key, Errors: it.err.Errors})
		rejects = append(rejects, warehouse.RejectedRow(now, ingestionID, t.Name, "", 0, int64(i), it.raw, it.err))
		if len(res.Refused) <= rejectLogLimit {
			log.Warn("row refused", "index", i, "errors", it.err.Errors)
		}
	}
	if n := len(res.Refused); n > rejectLogLimit {
		log.Warn(fmt.Sprintf("%d more refused rows not logged one by one; rejected_rows has them all", n-rejectLogLimit))
	}
	if err := s.appender.Append(ctx, warehouse.RejectedRows, warehouse.SystemSchema(warehouse.RejectedRows), rejects); err != nil {
		return answer{}, err
	}
	switch {
	case atomic && len(rejects) > 0:
		log.Info("batch refused: atomic and with invalid rows", "received", res.Received, "refused", len(rejects))
		return answer{http.StatusUnprocessableEntity, httpapi.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_rows",
			Detail: fmt.Sprintf("%d of %d rows are invalid and atomic=true: nothing was inserted", len(rejects), len(items)), Errors: res.Refused}}, nil
	case len(valid) == 0:
		log.Info("batch refused: no valid row", "received", res.Received)
		return answer{http.StatusUnprocessableEntity, httpapi.Problem{Status: http.StatusUnprocessableEntity, Code: "no_valid_rows",
			Detail: fmt.Sprintf("none of the %d rows is valid: nothing was inserted", len(items)), Errors: res.Refused}}, nil
	}
	if err := s.appender.Append(ctx, warehouse.RawTable(t.Name), warehouse.RawSchema(t), valid); err != nil {
		return answer{}, err
	}
	res.Inserted = len(valid)
	log.Info("batch inserted", "received", res.Received, "inserted", res.Inserted, "refused", len(res.Refused))
	return answer{http.StatusOK, res}, nil
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

// contentKey is the idempotency key of a request without one: a hash of the
// table and the body (JSON without insignificant white space).
func contentKey(table, media string, body []byte) string {
	canonical := body
	if media == "application/json" {
		canonical = compact(body)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", table, media)
	h.Write(canonical)
	return "sha256-" + hex.EncodeToString(h.Sum(nil))[:32]
}
