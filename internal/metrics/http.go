package metrics

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Handler serves the metrics function: GET /hires-by-quarter,
// GET /departments-above-mean and GET /report for readers, POST /refresh for
// admins (and the scheduler's service account), and GET /openapi.json.
func (s *Service) Handler(guard *auth.Guard) http.Handler {
	mux := httpapi.NewMux(OpenAPI())
	mux.Handle(http.MethodGet, "/hires-by-quarter", guard.Require(auth.Reader, httpapi.Handle(s.log, s.hiresByQuarter)))
	mux.Handle(http.MethodGet, "/departments-above-mean", guard.Require(auth.Reader, httpapi.Handle(s.log, s.departmentsAboveMean)))
	mux.Handle(http.MethodGet, "/report", guard.Require(auth.Reader, httpapi.Handle(s.log, s.report)))
	mux.Handle(http.MethodPost, "/refresh", guard.Require(auth.Admin, httpapi.Handle(s.log, s.refresh)))
	return mux
}

// year reads the year parameter: DefaultYear when absent.
func year(r *http.Request) (int, error) {
	v := r.URL.Query().Get("year")
	if v == "" {
		return DefaultYear, nil
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < MinYear || y > MaxYear {
		return 0, httpapi.Errorf(http.StatusBadRequest, "invalid_year", "year must be a whole number from %d to %d, got %s", MinYear, MaxYear, strconv.Quote(v))
	}
	return y, nil
}

// wantsCSV reads format=csv|json, or else the Accept header.
func wantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, httpapi.Errorf(http.StatusBadRequest, "invalid_format", "format must be json or csv, got %s", strconv.Quote(f))
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, nil
		}
	}
	return false, nil
}

// unavailable is a failed read or refresh of BigQuery: a 503, which a
// later try may not get, unless BigQuery refused it for good (a query it
// rejects, a permission), which is a 500.
func unavailable(what string, err error) error {
	if warehouse.IsPermanent(err) || warehouse.Refused(err) {
		return err
	}
	return httpapi.Unavailable(what+" failed; retry later", err)
}

// params reads the year and the format of a metric request.
func params(r *http.Request) (y int, asCSV bool, err error) {
	if y, err = year(r); err != nil {
		return 0, false, err
	}
	asCSV, err = wantsCSV(r)
	return y, asCSV, err
}

func (s *Service) hiresByQuarter(r *http.Request) (any, error) {
	y, asCSV, err := params(r)
	if err != nil {
		return nil, err
	}
	rows, err := s.HiresByQuarter(r.Context(), y)
	if err != nil {
		return nil, unavailable("hires by quarter", err)
	}
	if asCSV {
		out := httpapi.CSV{Header: []string{"department", "job", "Q1", "Q2", "Q3", "Q4"}}
		for _, row := range rows {
			out.Rows = append(out.Rows, []string{row.Department, row.Job, itoa(row.Q1), itoa(row.Q2), itoa(row.Q3), itoa(row.Q4)})
		}
		return out, nil
	}
	return map[string]any{"year": y, "rows": rows}, nil
}

func (s *Service) departmentsAboveMean(r *http.Request) (any, error) {
	y, asCSV, err := params(r)
	if err != nil {
		return nil, err
	}
	d, err := s.Departments(r.Context(), y)
	if err != nil {
		return nil, unavailable("departments above the mean", err)
	}
	if asCSV {
		out := httpapi.CSV{Header: []string{"id", "department", "hired"}}
		for _, row := range d.AboveMean() {
			out.Rows = append(out.Rows, []string{itoa(row.ID), row.Department, itoa(row.Hired)})
		}
		return out, nil
	}
	return map[string]any{
		"year": y, "mean": d.Mean, "departments": len(d.All), "hires": d.Hires(), "rows": d.AboveMean(),
	}, nil
}

func (s *Service) refresh(r *http.Request) (any, error) {
	res, err := s.Refresh(r.Context())
	if err != nil {
		return nil, unavailable("refreshing the metric tables", err)
	}
	return res, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
