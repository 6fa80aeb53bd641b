package backup

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// maxRequestBody bounds the JSON bodies of backup and restore requests.
const maxRequestBody = 64 << 10

// ScheduleTimeHeader is the header in which Cloud Scheduler sends the time a
// run was scheduled for.
const ScheduleTimeHeader = "X-CloudScheduler-ScheduleTime"

// BackupHandler serves backup-tables: POST / makes a backup (of the tables
// named in an optional body {"tables": [...]}), for admins and the
// scheduler's service account.
func BackupHandler(b *Backuper, guard *auth.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", guard.Require(auth.Admin, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Tables []string `json:"tables"`
		}
		if err := decode(r, &body, true); err != nil {
			httpapi.Error(w, http.StatusBadRequest, "malformed_body", err.Error())
			return
		}
		req := Request{Tables: body.Tables}
		if v := r.Header.Get(ScheduleTimeHeader); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				httpapi.Error(w, http.StatusBadRequest, "invalid_schedule_time", ScheduleTimeHeader+" is not an RFC 3339 time: "+v)
				return
			}
			req.ScheduledAt = t
		}
		res, err := b.Run(r.Context(), req)
		var re *RequestError
		if errors.As(err, &re) {
			httpapi.Error(w, http.StatusBadRequest, "unknown_table", re.Error())
			return
		}
		if err != nil {
			b.log.Error("backup failed", "error", err)
			httpapi.Error(w, http.StatusInternalServerError, "backup_failed", "the backup did not complete: "+err.Error())
			return
		}
		status := http.StatusCreated
		if res.Existing {
			status = http.StatusOK
		}
		httpapi.WriteJSON(w, status, res.Manifest)
	})))
	mux.HandleFunc("/{$}", notAllowed(http.MethodPost))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, BackupOpenAPI())
	})
	mux.HandleFunc("/", notFound)
	return mux
}

// RestoreHandler serves restore-table, for admins: GET /backups[?table=T]
// and POST /restore.
func RestoreHandler(rs *Restorer, guard *auth.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /backups", guard.Require(auth.Admin, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		table := r.URL.Query().Get("table")
		if table != "" {
			if _, ok := rs.dict.Table(table); !ok {
				httpapi.Error(w, http.StatusNotFound, "unknown_table", "no table "+table)
				return
			}
		}
		list, err := rs.List(r.Context(), table)
		if err != nil {
			rs.log.Error("listing backups failed", "error", err)
			httpapi.Error(w, http.StatusInternalServerError, "internal", "listing backups failed; see the function's logs")
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"backups": list})
	})))
	mux.Handle("POST /restore", guard.Require(auth.Admin, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req RestoreRequest
		if err := decode(r, &req, false); err != nil {
			httpapi.Error(w, http.StatusBadRequest, "malformed_body", err.Error())
			return
		}
		res, err := rs.Restore(r.Context(), req)
		var ref *Refusal
		if errors.As(err, &ref) {
			httpapi.Error(w, ref.Status, ref.Code, ref.Detail)
			return
		}
		if err != nil {
			rs.log.Error("restore failed", "table", req.Table, "backup_id", req.BackupID, "error", err)
			httpapi.Error(w, http.StatusInternalServerError, "restore_failed", "the restore did not complete: "+err.Error())
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, res)
	})))
	mux.HandleFunc("/backups", notAllowed(http.MethodGet))
	mux.HandleFunc("/restore", notAllowed(http.MethodPost))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, RestoreOpenAPI())
	})
	mux.HandleFunc("/", notFound)
	return mux
}

// decode reads a bounded JSON body strictly: no unknown member, nothing
// after the object. An empty body is allowed when optional.
func decode(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxRequestBody {
		return errors.New("the body is larger than 64 KiB")
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("the body is not the expected JSON object: " + err.Error())
	}
	if dec.More() {
		return errors.New("the body has data after its JSON object")
	}
	return nil
}

func notAllowed(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", method)
		httpapi.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+method)
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	httpapi.Error(w, http.StatusNotFound, "not_found", "no endpoint "+r.URL.Path+"; see /openapi.json")
}
