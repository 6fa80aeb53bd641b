package metrics

import (
	"bytes"
	"encoding/csv"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// Handler serves the metrics function: GET /hires-by-quarter,
// GET /departments-above-mean and GET /report for readers, POST /refresh for
// admins (and the scheduler's service account), and GET /openapi.json.
func (s *Service) Handler(guard *auth.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /hires-by-quarter", guard.Require(auth.Reader, http.HandlerFunc(s.hiresByQuarter)))
	mux.Handle("GET /departments-above-mean", guard.Require(auth.Reader, http.HandlerFunc(s.departmentsAboveMean)))
	mux.Handle("GET /report", guard.Require(auth.Reader, http.HandlerFunc(s.report)))
	mux.Handle("POST /refresh", guard.Require(auth.Admin, http.HandlerFunc(s.refresh)))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, OpenAPI())
	})
	for path, method := range map[string]string{"/hires-by-quarter": "GET", "/departments-above-mean": "GET", "/report": "GET", "/refresh": "POST"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", method)
			httpapi.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+method)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.Error(w, http.StatusNotFound, "not_found", "no endpoint "+r.URL.Path+"; see /openapi.json")
	})
	return mux
}

// year reads the year parameter: DefaultYear when absent.
func year(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("year")
	if v == "" {
		return DefaultYear, true
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < MinYear || y > MaxYear {
		httpapi.Error(w, http.StatusBadRequest, "invalid_year", "year must be a whole number from "+strconv.Itoa(MinYear)+" to "+strconv.Itoa(MaxYear)+", got "+strconv.Quote(v))
		return 0, false
	}
	return y, true
}

// wantsCSV reads format=csv|json, or else the Accept header.
func wantsCSV(w http.ResponseWriter, r *http.Request) (csv, ok bool) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, true
	case "json":
		return false, true
	case "":
	default:
		httpapi.Error(w, http.StatusBadRequest, "invalid_format", "format must be json or csv, got "+strconv.Quote(f))
		return false, false
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, true
		}
	}
	return false, true
}

func (s *Service) fail(w http.ResponseWriter, what string, err error) {
	s.log.Error(what+" failed", "error", err)
	httpapi.Error(w, http.StatusServiceUnavailable, "unavailable", what+" failed; retry later")
}

func (s *Service) hiresByQuarter(w http.ResponseWriter, r *http.Request) {
	y, ok := year(w, r)
	if !ok {
		return
	}
	asCSV, ok := wantsCSV(w, r)
	if !ok {
		return
	}
	rows, err := s.HiresByQuarter(r.Context(), y)
	if err != nil {
		s.fail(w, "hires by quarter", err)
		return
	}
	if asCSV {
		records := [][]string{{"department", "job", "Q1", "Q2", "Q3", "Q4"}}
		for _, row := range rows {
			records = append(records, []string{row.Department, row.Job, itoa(row.Q1), itoa(row.Q2), itoa(row.Q3), itoa(row.Q4)})
		}
		writeCSV(w, records)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"year": y, "rows": rows})
}

func (s *Service) departmentsAboveMean(w http.ResponseWriter, r *http.Request) {
	y, ok := year(w, r)
	if !ok {
		return
	}
	asCSV, ok := wantsCSV(w, r)
	if !ok {
		return
	}
	d, err := s.Departments(r.Context(), y)
	if err != nil {
		s.fail(w, "departments above the mean", err)
		return
	}
	if asCSV {
		records := [][]string{{"id", "department", "hired"}}
		for _, row := range d.AboveMean() {
			records = append(records, []string{itoa(row.ID), row.Department, itoa(row.Hired)})
		}
		writeCSV(w, records)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"year": y, "mean": d.Mean, "departments": len(d.All), "hires": d.Hires(), "rows": d.AboveMean(),
	})
}

func (s *Service) refresh(w http.ResponseWriter, r *http.Request) {
	res, err := s.Refresh(r.Context())
	if err != nil {
		s.fail(w, "refreshing the metric tables", err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// writeCSV writes records as text/csv with a header row.
func writeCSV(w http.ResponseWriter, records [][]string) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(records); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, "internal", "writing CSV failed")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
