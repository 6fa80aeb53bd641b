package backup

import (
	"bytes"
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
	mux := httpapi.NewMux(BackupOpenAPI())
	mux.Handle(http.MethodPost, "/{$}", guard.Require(auth.Admin, httpapi.Handle(b.log, func(r *http.Request) (any, error) {
		var body struct {
			Tables []string `json:"tables"`
		}
		if err := decode(r, &body, true); err != nil {
			return nil, err
		}
		req := Request{Tables: body.Tables}
		if v := r.Header.Get(ScheduleTimeHeader); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, httpapi.Errorf(http.StatusBadRequest, "invalid_schedule_time", "%s is not an RFC 3339 time", ScheduleTimeHeader)
			}
			req.ScheduledAt = t
		}
		res, err := b.Run(r.Context(), req)
		if err != nil {
			return nil, err
		}
		status := http.StatusCreated
		if res.Existing {
			status = http.StatusOK
		}
		return httpapi.Render(status, res.Manifest), nil
	})))
	return mux
}

// RestoreHandler serves restore-table, for admins: GET /backups[?table=T]
// and POST /restore.
func RestoreHandler(rs *Restorer, guard *auth.Guard) http.Handler {
	mux := httpapi.NewMux(RestoreOpenAPI())
	mux.Handle(http.MethodGet, "/backups", guard.Require(auth.Admin, httpapi.Handle(rs.log, func(r *http.Request) (any, error) {
		table := r.URL.Query().Get("table")
		if table != "" {
			if _, ok := rs.dict.Table(table); !ok {
				return nil, httpapi.Errorf(http.StatusNotFound, "unknown_table", "no table %s", table)
			}
		}
		list, err := rs.List(r.Context(), table)
		if err != nil {
			return nil, err
		}
		return map[string]any{"backups": list}, nil
	})))
	mux.Handle(http.MethodPost, "/restore", guard.Require(auth.Admin, httpapi.Handle(rs.log, func(r *http.Request) (any, error) {
		var req RestoreRequest
		if err := decode(r, &req, false); err != nil {
			return nil, err
		}
		res, err := rs.Restore(r.Context(), req)
		if err != nil {
			return nil, err
		}
		return res, nil
	})))
	return mux
}

// decode reads a bounded JSON body strictly (see httpapi.DecodeJSON). An
// empty body is allowed when optional.
func decode(r *http.Request, v any, optional bool) error {
	data, err := httpapi.ReadBody(r, maxRequestBody)
	if err != nil {
		return err
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return httpapi.DecodeJSON(data, v)
}
