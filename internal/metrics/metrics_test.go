package metrics_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
	"github.com/hiring-pipeline/hiring-pipeline/schemas"
)

var (
	shared     *env
	sharedErr  error
	sharedOnce sync.Once
)

// env is one local stack with the challenge's files loaded, shared by the
// tests that only read it.
type env struct {
	st  *stack.Stack
	url string
	bq  *bigquery.Client
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.bq.Close()
		_ = shared.st.Close(context.Background())
	}
	os.Exit(code)
}

func challenge(t *testing.T) *env {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{"departments.csv", "jobs.csv", "hired_employees.csv"} {
		files[name] = testutil.ChallengeFile(t, name)
	}
	sharedOnce.Do(func() { shared, sharedErr = newEnv(files) })
	if sharedErr != nil {
		t.Fatalf("stack: %v", sharedErr)
	}
	return shared
}

func newEnv(files map[string][]byte) (*env, error) {
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Functions: hiringpipeline.Functions})
	if err != nil {
		return nil, err
	}
	cfg := st.Config()
	gcs, err := st.Storage(ctx)
	if err != nil {
		return nil, err
	}
	defer gcs.Close()
	for name, data := range files {
		w := gcs.Bucket(cfg.Buckets.Landing).Object(name).NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		return nil, err
	}
	e := &env{st: st, url: strings.TrimSuffix(cfg.Functions["metrics"], "/"), bq: bq}
	if err := testutil.WaitFor(ctx, func() (bool, error) {
		it, err := bq.Query("SELECT COUNT(*) FROM hiring.ingest_log").Read(ctx)
		if err != nil {
			return false, err
		}
		var row []bigquery.Value
		if err := it.Next(&row); err != nil {
			return false, err
		}
		return row[0].(int64) == int64(len(files)), nil
	}); err != nil {
		return nil, fmt.Errorf("loading the files: %w", err)
	}
	return e, nil
}

func (e *env) get(t *testing.T, path string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	testutil.ValidateResponse(t, metrics.OpenAPI(), req, resp.StatusCode, resp.Header, body)
	return resp.StatusCode, resp.Header, body
}

type quarters struct {
	Year int                  `json:"year"`
	Rows []metrics.QuarterRow `json:"rows"`
}

type aboveMean struct {
	Year        int                     `json:"year"`
	Mean        float64                 `json:"mean"`
	Departments int                     `json:"departments"`
	Hires       int64                   `json:"hires"`
	Rows        []metrics.DepartmentRow `json:"rows"`
}

func TestHiresByQuarter_Challenge(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	code, _, body := e.get(t, "/hires-by-quarter?year=2021")
	var got quarters
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("%d %s", code, body)
	}
	var totals [4]int64
	for _, r := range got.Rows {
		totals[0] += r.Q1
		totals[1] += r.Q2
		totals[2] += r.Q3
		totals[3] += r.Q4
	}
	if got.Year != 2021 || len(got.Rows) != 933 || totals != [4]int64{249, 454, 453, 487} {
		t.Errorf("year %d, %d rows, quarter totals %v; want 2021, 933, [249 454 453 487]", got.Year, len(got.Rows), totals)
	}
	for i := 1; i < len(got.Rows); i++ {
		a, b := got.Rows[i-1], got.Rows[i]
		if a.Department > b.Department || a.Department == b.Department && a.Job >= b.Job {
			t.Fatalf("rows %d and %d are out of code point order: %v, %v", i-1, i, a, b)
		}
	}
}

func TestDepartmentsAboveMean_Challenge(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	code, _, body := e.get(t, "/departments-above-mean")
	var got aboveMean
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if got.Year != 2021 || len(got.Rows) != 7 || got.Rows[0].Department != "Support" || got.Rows[0].Hired != 216 ||
		fmt.Sprintf("%.2f", got.Mean) != "136.92" || got.Hires != 1643 || got.Departments != 12 {
		t.Errorf("got %+v; want 2021, 7 rows led by Support 216, mean 136.92 of 1643 hires over 12 departments", got)
	}
	for i := 1; i < len(got.Rows); i++ {
		if got.Rows[i-1].Hired < got.Rows[i].Hired {
			t.Errorf("not ordered by hires: %v", got.Rows)
		}
	}
}

func TestOtherYears(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	// 2022's figures, from the challenge's files: 286 valid hires in 252
	// department and job pairs, 7 of the 12 departments above the mean.
	cases := []struct {
		year        string
		rows, above int
		hires       int64
	}{
		{"2022", 252, 7, 286},
		{"1999", 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.year, func(t *testing.T) {
			t.Parallel()
			code, _, body := e.get(t, "/hires-by-quarter?year="+tc.year)
			var q quarters
			if code != 200 || json.Unmarshal(body, &q) != nil {
				t.Fatalf("%d %s", code, body)
			}
			var sum int64
			for _, r := range q.Rows {
				sum += r.Total()
			}
			if sum != tc.hires || len(q.Rows) != tc.rows || q.Rows == nil {
				t.Errorf("hires-by-quarter %s: %d rows, %d hires", tc.year, len(q.Rows), sum)
			}
			code, _, body = e.get(t, "/departments-above-mean?year="+tc.year)
			var a aboveMean
			if code != 200 || json.Unmarshal(body, &a) != nil {
				t.Fatalf("%d %s", code, body)
			}
			if a.Hires != tc.hires || len(a.Rows) != tc.above || a.Rows == nil {
				t.Errorf("departments-above-mean %s: %+v", tc.year, a)
			}
			for _, r := range a.Rows {
				if float64(r.Hired) <= a.Mean {
					t.Errorf("%s is listed with %d hires, not above the mean %v", r.Department, r.Hired, a.Mean)
				}
			}
		})
	}
}

func TestParameters(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	cases := []struct {
		path, accept, contentType, code string
		status                          int
	}{
		{"/hires-by-quarter?year=abc", "", "application/problem+json", "invalid_year", 400},
		{"/hires-by-quarter?year=0", "", "application/problem+json", "invalid_year", 400},
		{"/departments-above-mean?year=10000", "", "application/problem+json", "invalid_year", 400},
		{"/hires-by-quarter?format=xml", "", "application/problem+json", "invalid_format", 400},
		{"/report?year=-1", "", "application/problem+json", "invalid_year", 400},
		{"/hires-by-quarter?format=csv", "", "text/csv; charset=utf-8", "", 200},
		{"/departments-above-mean", "text/csv", "text/csv; charset=utf-8", "", 200},
		{"/nope", "", "application/problem+json", "not_found", 404},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			code, h, body := e.get(t, tc.path, "Accept", tc.accept)
			if code != tc.status || h.Get("Content-Type") != tc.contentType || !strings.Contains(string(body), tc.code) {
				t.Errorf("%d %s %s", code, h.Get("Content-Type"), body)
			}
		})
	}
	code, _, body := e.get(t, "/departments-above-mean?format=csv")
	records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if code != 200 || err != nil || len(records) != 8 || strings.Join(records[0], ",") != "id,department,hired" || records[1][1] != "Support" || records[1][2] != "216" {
		t.Errorf("CSV: %d %v %q", code, err, records)
	}
}

// TestRefresh runs three refreshes at once, as a scheduler's retry and an
// operator might: each succeeds, the metric tables hold the metrics, and no
// staging table is left.
func TestRefresh(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/refresh", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			testutil.ValidateResponse(t, metrics.OpenAPI(), req, resp.StatusCode, resp.Header, body)
			if resp.StatusCode != 200 {
				t.Errorf("refresh: %d %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	for _, id := range testutil.TableIDs(t, e.bq.Dataset("hiring")) {
		if strings.Contains(id, "_refresh") {
			t.Errorf("staging table %s is left", id)
		}
	}
	rows := testutil.Query(t, e.bq.Query("SELECT year, COUNT(*), SUM(Q1 + Q2 + Q3 + Q4) FROM hiring."+metrics.HiresByQuarterTable+" GROUP BY year ORDER BY year"))
	if fmt.Sprint(rows) != "[[2021 933 1643] [2022 252 286]]" {
		t.Errorf("%s: %v", metrics.HiresByQuarterTable, rows)
	}
	rows = testutil.Query(t, e.bq.Query("SELECT year, department, hired FROM hiring."+metrics.DepartmentsAboveMeanTable+" WHERE year = 2021 ORDER BY hired DESC, department"))
	if len(rows) != 7 || rows[0][1] != "Support" || rows[0][2] != int64(216) {
		t.Errorf("%s: %v", metrics.DepartmentsAboveMeanTable, rows)
	}
	// Terraform creates the metric tables from schemas/system; the refresh
	// must write the columns declared there.
	for _, table := range []string{metrics.HiresByQuarterTable, metrics.DepartmentsAboveMeanTable} {
		data, err := fs.ReadFile(schemas.FS, "system/"+table+".json")
		if err != nil {
			t.Fatal(err)
		}
		declared, err := bigquery.SchemaFromJSON(data)
		if err != nil {
			t.Fatalf("schemas/system/%s.json: %v", table, err)
		}
		md, err := e.bq.Dataset("hiring").Table(table).Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := columns(md.Schema), columns(declared); got != want {
			t.Errorf("%s has columns %s; schemas/system declares %s", table, got, want)
		}
	}
}

// columns lists a schema's column names and types.
func columns(s bigquery.Schema) string {
	var parts []string
	for _, f := range s {
		parts = append(parts, f.Name+" "+string(f.Type))
	}
	return strings.Join(parts, ", ")
}

// TestQueries_FilterOnPartitionColumn shows that both metric queries filter
// hired_employees on the column hired_employees_raw is partitioned by, with
// the year's bounds.
func TestQueries_FilterOnPartitionColumn(t *testing.T) {
	t.Parallel()
	md, err := warehouse.TableMetadata("hired_employees_raw", nil, "")
	if err != nil || md.TimePartitioning == nil {
		t.Fatalf("hired_employees_raw is not partitioned: %+v %v", md, err)
	}
	col := md.TimePartitioning.Field
	filter := regexp.MustCompile(`e\.` + col + ` >= TIMESTAMP\(DATE\(@year, 1, 1\)\)\s+AND e\.` + col + ` < TIMESTAMP\(DATE\(@year \+ 1, 1, 1\)\)`)
	for _, name := range []string{"hires_by_quarter", "departments_above_mean"} {
		sql, err := metrics.Query(name)
		if err != nil {
			t.Fatal(err)
		}
		if !filter.MatchString(sql) {
			t.Errorf("%s does not bound %s to the year:\n%s", name, col, sql)
		}
	}
}

// TestReport_SelfContained checks that the report names no resource to
// fetch and that its policy forbids fetching any.
func TestReport_SelfContained(t *testing.T) {
	t.Parallel()
	e := challenge(t)
	status, header, page := e.get(t, "/report?year=2021")
	if status != http.StatusOK {
		t.Fatalf("report: %d %s", status, page)
	}
	if csp := header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not start with default-src 'none'", csp)
	}
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?[a-z]*:?//|url\(|@import|<link|<iframe|<object|<embed`)
	if m := external.FindAll(page, -1); len(m) > 0 {
		t.Errorf("the report references resources: %q", m)
	}
	for _, want := range []string{"<title>Hiring report 2021</title>", "1643", "136.92", "249 / 454 / 453 / 487"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	t.Logf("report of 2021: %d bytes", len(page))
}
