package metrics_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestServerErrors reads the metrics of a dataset that does not exist, a
// failure no retry fixes (500), and of a BigQuery that fails every call
// until the request's deadline, which a retry may not meet (503 with
// Retry-After). Both are generic problems with an error_id.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	srv, bq := testutil.BigQuery(t, emulator.Options{})
	s, err := metrics.NewService(metrics.Config{Google: config.Google{Project: "test-project", Dataset: "missing"}, Years: []int{2021}}, bq, nil)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler(guard)
	get := func(path string, timeout time.Duration) (int, http.Header, []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://metrics.test/metrics"+path, nil).WithContext(ctx)
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
		testutil.ValidateResponse(t, metrics.OpenAPI(), req, rec.Code, rec.Header(), rec.Body.Bytes())
		return rec.Code, rec.Header(), rec.Body.Bytes()
	}
	code, _, body := get("/hires-by-quarter?year=2021", time.Minute)
	var p struct {
		Code    string `json:"code"`
		ErrorID string `json:"error_id"`
	}
	if err := json.Unmarshal(body, &p); code != http.StatusInternalServerError || err != nil || p.Code != "internal" || p.ErrorID == "" {
		t.Errorf("a missing dataset: %d %s, want a 500 internal problem with an error_id", code, body)
	}
	if err := srv.SetFaults(emulator.Faults{Rate: 1}); err != nil {
		t.Fatal(err)
	}
	code, header, body := get("/departments-above-mean?year=2021", 2*time.Second)
	if err := json.Unmarshal(body, &p); code != http.StatusServiceUnavailable || err != nil || p.Code != "unavailable" || p.ErrorID == "" || header.Get("Retry-After") == "" {
		t.Errorf("BigQuery unavailable: %d %v %s, want a 503 unavailable problem with an error_id and Retry-After", code, header, body)
	}
}

// TestNewService_years refuses a configuration whose refresh would write no
// year, or a year outside the metrics' range, when the service is built.
func TestNewService_years(t *testing.T) {
	t.Parallel()
	_, bq := testutil.BigQuery(t, emulator.Options{})
	for _, tc := range []struct {
		years []int
		want  string
	}{
		{nil, "METRICS_YEARS is empty"},
		{[]int{}, "METRICS_YEARS is empty"},
		{[]int{2021, 0}, "holds 0, outside 1 to 9998"},
		{[]int{9999}, "holds 9999, outside 1 to 9998"},
		{[]int{2021, 2022}, ""},
	} {
		_, err := metrics.NewService(metrics.Config{Google: config.Google{Project: "test-project", Dataset: "hiring"}, Years: tc.years}, bq, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("years %v: %v, want a service", tc.years, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("years %v: %v, want an error with %q", tc.years, err, tc.want)
		}
	}
}
