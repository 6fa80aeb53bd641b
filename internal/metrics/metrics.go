// Package metrics computes the stakeholders' two metrics from what readers
// see: hires per department and job by quarter of a year, and the
// departments that hired more than the mean. It serves them as JSON, CSV and
// a visual report, and refreshes tables of them for BI tools.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/uuid"
	"google.golang.org/api/iterator"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// Config configures the metrics function from HIRING_* variables.
type Config struct {
	config.Google
	auth.Config
	// Years are the years POST /refresh writes to the metric tables.
	Years []int `env:"METRICS_YEARS, default=2021,2022"`
}

// The metric tables that POST /refresh writes.
const (
	HiresByQuarterTable       = "metrics_hires_by_quarter"
	DepartmentsAboveMeanTable = "metrics_departments_above_mean"
)

// Year bounds: the queries use @year and @year + 1 as dates.
const (
	MinYear     = 1
	MaxYear     = 9998
	DefaultYear = 2021
)

// QuarterRow is a row of hires-by-quarter.
type QuarterRow struct {
	Department string `bigquery:"department" json:"department"`
	Job        string `bigquery:"job" json:"job"`
	Q1         int64  `bigquery:"Q1" json:"Q1"`
	Q2         int64  `bigquery:"Q2" json:"Q2"`
	Q3         int64  `bigquery:"Q3" json:"Q3"`
	Q4         int64  `bigquery:"Q4" json:"Q4"`
}

// Total returns the row's hires in the year.
func (r QuarterRow) Total() int64 { return r.Q1 + r.Q2 + r.Q3 + r.Q4 }

// DepartmentRow is a department with its hires in a year.
type DepartmentRow struct {
	ID         int64   `bigquery:"id" json:"id"`
	Department string  `bigquery:"department" json:"department"`
	Hired      int64   `bigquery:"hired" json:"hired"`
	Mean       float64 `bigquery:"mean" json:"-"`
	AboveMean  bool    `bigquery:"above_mean" json:"-"`
}

// Departments is every department's hires in a year and their mean.
type Departments struct {
	Year int             `json:"year"`
	Mean float64         `json:"mean"`
	All  []DepartmentRow `json:"-"`
}

// AboveMean returns the departments that hired more than the mean, most
// hires first.
func (d Departments) AboveMean() []DepartmentRow {
	out := []DepartmentRow{}
	for _, r := range d.All {
		if r.AboveMean {
			out = append(out, r)
		}
	}
	return out
}

// Hires returns the year's hires over all departments.
func (d Departments) Hires() int64 {
	var n int64
	for _, r := range d.All {
		n += r.Hired
	}
	return n
}

// Service runs the metric queries. It is safe for concurrent use.
type Service struct {
	bq      *bigquery.Client
	dataset string
	years   []int
	log     *slog.Logger
}

// NewService returns a Service on the configured dataset.
func NewService(cfg Config, bq *bigquery.Client, logger *slog.Logger) (*Service, error) {
	if bq == nil || cfg.Dataset == "" {
		return nil, errors.New("metrics.NewService: the BigQuery client and the dataset are required")
	}
	if len(cfg.Years) == 0 {
		return nil, errors.New("metrics.NewService: METRICS_YEARS is empty: the refresh needs at least one year")
	}
	for _, y := range cfg.Years {
		if y < MinYear || y > MaxYear {
			return nil, fmt.Errorf("metrics.NewService: METRICS_YEARS holds %d, outside %d to %d", y, MinYear, MaxYear)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{bq: bq, dataset: cfg.Dataset, years: cfg.Years, log: logger}, nil
}

// query prepares a metric query for a year on the dataset.
func (s *Service) query(name string, year int) (*bigquery.Query, error) {
	sql, err := Query(name)
	if err != nil {
		return nil, err
	}
	q := s.bq.Query(sql)
	q.DefaultDatasetID = s.dataset
	q.Parameters = []bigquery.QueryParameter{{Name: "year", Value: year}}
	return q, nil
}

// read runs a query and decodes every row into a T.
func read[T any](ctx context.Context, q *bigquery.Query) ([]T, error) {
	it, err := q.Read(ctx)
	if err != nil {
		return nil, err
	}
	out := []T{}
	for {
		var row T
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
}

// HiresByQuarter returns hires of a year per department and job by quarter.
func (s *Service) HiresByQuarter(ctx context.Context, year int) ([]QuarterRow, error) {
	q, err := s.query("hires_by_quarter", year)
	if err != nil {
		return nil, err
	}
	rows, err := read[QuarterRow](ctx, q)
	if err != nil {
		return nil, fmt.Errorf("hires by quarter of %d: %w", year, err)
	}
	return rows, nil
}

// Departments returns every department's hires in a year and the mean.
func (s *Service) Departments(ctx context.Context, year int) (Departments, error) {
	q, err := s.query("departments_above_mean", year)
	if err != nil {
		return Departments{}, err
	}
	rows, err := read[DepartmentRow](ctx, q)
	if err != nil {
		return Departments{}, fmt.Errorf("departments of %d: %w", year, err)
	}
	d := Departments{Year: year, All: rows}
	if len(rows) > 0 {
		d.Mean = rows[0].Mean
	}
	return d, nil
}

// Years returns the years that have hires, in order, for the report's year
// selector. It reads the raw table, one column and no deduplication, so it
// is cheap; a year whose rows were all superseded by versions in other
// years may be listed, and its report is then empty.
func (s *Service) Years(ctx context.Context) ([]int, error) {
	q := s.bq.Query("SELECT DISTINCT EXTRACT(YEAR FROM datetime) AS year FROM " + warehouse.RawTable("hired_employees") + " ORDER BY year")
	q.DefaultDatasetID = s.dataset
	rows, err := read[struct {
		Year int `bigquery:"year"`
	}](ctx, q)
	if err != nil {
		return nil, fmt.Errorf("years with hires: %w", err)
	}
	years := make([]int, len(rows))
	for i, r := range rows {
		years[i] = r.Year
	}
	return years, nil
}

// RefreshResult reports a refresh.
type RefreshResult struct {
	Years  []int            `json:"years"`
	Tables map[string]int64 `json:"tables"`
	MS     int64            `json:"ms"`
}

// Refresh writes both metrics for the configured years to the metric
// tables, each with a year column: per metric, query jobs fill a staging
// table of this refresh's own, then one copy job replaces the metric table,
// so readers of the metric table see the old or the new metrics, never a
// mix. Refreshes may run at once (a scheduler's retry, instances of the
// function, an operator): each has its own staging tables, and the last
// copy wins, with complete rows either way.
func (s *Service) Refresh(ctx context.Context) (RefreshResult, error) {
	start := time.Now()
	res := RefreshResult{Years: s.years, Tables: map[string]int64{}}
	run, err := uuid.NewRandom()
	if err != nil {
		return res, fmt.Errorf("refresh: %w", err)
	}
	suffix := "_refresh_" + strings.ReplaceAll(run.String(), "-", "")
	for _, m := range []struct{ query, table, filter, columns string }{
		{"hires_by_quarter", HiresByQuarterTable, "", "m.*"},
		{"departments_above_mean", DepartmentsAboveMeanTable, "WHERE m.above_mean", "m.id, m.department, m.hired, m.mean"},
	} {
		n, err := s.refreshMetric(ctx, m.query, m.table, m.filter, m.columns, m.table+suffix)
		if err != nil {
			return res, err
		}
		res.Tables[m.table] = n
	}
	res.MS = time.Since(start).Milliseconds()
	s.log.Info("metrics refreshed", "years", s.years, "tables", res.Tables, "ms", res.MS)
	return res, nil
}

// refreshMetric fills the staging table stagingID with one metric for every
// year, copies it onto the metric table and drops it, whatever happens, and
// returns the metric table's rows. Its job ids derive from stagingID, and
// warehouse.RunJob runs them.
func (s *Service) refreshMetric(ctx context.Context, query, table, filter, columns, stagingID string) (int64, error) {
	sql, err := Query(query)
	if err != nil {
		return 0, err
	}
	ds := s.bq.Dataset(s.dataset)
	staging := ds.Table(stagingID)
	defer func() {
		// A failed refresh may not have created it.
		drop, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := staging.Delete(drop); err != nil && !warehouse.IsCode(err, http.StatusNotFound) {
			s.log.Warn("refresh: staging table not dropped", "table", stagingID, "error", err)
		}
	}()
	for i, year := range s.years {
		q := s.bq.Query(fmt.Sprintf("SELECT @year AS year, %s FROM (\n%s\n) AS m %s", columns, sql, filter))
		q.DefaultDatasetID = s.dataset
		q.Parameters = []bigquery.QueryParameter{{Name: "year", Value: year}}
		q.Dst = staging
		q.WriteDisposition = bigquery.WriteAppend
		if i == 0 {
			q.WriteDisposition = bigquery.WriteTruncate
		}
		q.JobID = fmt.Sprintf("hiring_%s_%d", stagingID, year)
		if _, err := warehouse.RunJob(ctx, s.bq, q.JobID, q.Run); err != nil {
			return 0, fmt.Errorf("refresh %s for %d: %w", table, year, err)
		}
	}
	copier := ds.Table(table).CopierFrom(staging)
	copier.WriteDisposition = bigquery.WriteTruncate
	copier.JobID = "hiring_" + stagingID + "_copy"
	if _, err := warehouse.RunJob(ctx, s.bq, copier.JobID, copier.Run); err != nil {
		return 0, fmt.Errorf("refresh %s: %w", table, err)
	}
	md, err := ds.Table(table).Metadata(ctx)
	if err != nil {
		return 0, fmt.Errorf("refresh %s: %w", table, err)
	}
	return int64(md.NumRows), nil
}
