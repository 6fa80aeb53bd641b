package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestMetricsAndReport loads the challenge's files into a stack that checks
// tokens, then reads both metrics and the report through the CLI, which
// finds the reader token in the stack's /dev/config.
func TestMetricsAndReport(t *testing.T) {
	t.Parallel()
	st, err := stack.Start(context.Background(), stack.Options{Auth: true, Functions: hiringpipeline.Functions})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	url := st.Config().URL
	hiring := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, "--stack", url), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	files := []string{testutil.ChallengePath(t, "departments.csv"), testutil.ChallengePath(t, "jobs.csv"), testutil.ChallengePath(t, "hired_employees.csv")}
	if code, _, stderr := hiring(t, append([]string{"load"}, files...)...); code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}

	t.Run("table", func(t *testing.T) {
		code, out, stderr := hiring(t, "metrics", "departments-above-mean")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 9 || strings.Fields(lines[1])[1] != "Support" || strings.Fields(lines[1])[2] != "216" {
			t.Errorf("want a header, 7 departments led by Support with 216, and a summary:\n%s", out)
		}
		if want := "2021: 7 of 12 departments hired more than the mean of 136.92 (1643 hires / 12 departments)"; lines[len(lines)-1] != want {
			t.Errorf("summary %q, want %q", lines[len(lines)-1], want)
		}
		code, out, stderr = hiring(t, "metrics", "hires-by-quarter", "--year", "2021")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if want := "2021: 933 department and job pairs, 1643 hires (Q1 249, Q2 454, Q3 453, Q4 487)\n"; !strings.HasSuffix(out, want) {
			t.Errorf("hires-by-quarter does not end with %q:\n%s", want, out[max(0, len(out)-300):])
		}
	})
	t.Run("csv", func(t *testing.T) {
		code, out, stderr := hiring(t, "metrics", "hires-by-quarter", "--format", "csv", "--year", "2022")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v", err)
		}
		if strings.Join(records[0], ",") != "department,job,Q1,Q2,Q3,Q4" || len(records) < 2 {
			t.Errorf("CSV of 2022 starts %v and has %d records", records[0], len(records))
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, stderr := hiring(t, "metrics", "departments-above-mean", "--format", "json", "--year", "1999")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var res struct {
			Year  int   `json:"year"`
			Hires int   `json:"hires"`
			Rows  []any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if res.Year != 1999 || res.Hires != 0 || res.Rows == nil || len(res.Rows) != 0 {
			t.Errorf("a year without hires: %+v", res)
		}
	})
	t.Run("report", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "report.html")
		code, out, stderr := hiring(t, "report", "--year", "2021", "--out", path)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		page, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(page, []byte("<title>Hiring report 2021</title>")) || !strings.Contains(out, path) {
			t.Errorf("report: %d bytes, stdout %q", len(page), out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		if code, _, stderr := hiring(t, "metrics", "hires-by-quarter", "--year", "10000"); code != 2 || !strings.Contains(stderr, "--year must be from 1 to 9998, got 10000") {
			t.Errorf("year 10000: exit %d, stderr %s", code, stderr)
		}
		if code, _, stderr := hiring(t, "metrics", "hires-by-quarter", "--token", "wrong-token-wrong"); code != 1 || !strings.Contains(stderr, "401 unauthenticated") {
			t.Errorf("a wrong token: exit %d, stderr %s", code, stderr)
		}
		if code, _, stderr := hiring(t, "report", "--token", st.Config().Auth.Tokens["writer"], "--out", filepath.Join(t.TempDir(), "r.html")); code != 1 || !strings.Contains(stderr, "403 forbidden") {
			t.Errorf("a writer's token: exit %d, stderr %s", code, stderr)
		}
	})
}
