package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

func startStack(t *testing.T) *stack.Stack {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Options{Functions: []function.Definition{loadcsv.Definition}})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

func TestLoad(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	files := []string{testutil.ChallengePath(t, "departments.csv"), testutil.ChallengePath(t, "jobs.csv"), testutil.ChallengePath(t, "hired_employees.csv")}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"load", "--stack", st.Config().URL, "--json"}, files...), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	var results []loadResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("stdout: %v\n%s", err, stdout.String())
	}
	want := map[string][3]int64{"departments": {12, 12, 0}, "jobs": {183, 183, 0}, "hired_employees": {1999, 1929, 70}}
	for _, r := range results {
		w := want[r.Table]
		if r.Outcome != "LOADED" || r.RowsRead != w[0] || r.RowsLoaded != w[1] || r.RowsRejected != w[2] {
			t.Errorf("%s: %+v, want LOADED %v", r.Table, r, w)
		}
	}
	if len(results) != 3 || results[2].RejectedByRule["required"] != 70 {
		t.Errorf("results: %+v", results)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"load", "--stack", st.Config().URL, files[0]}, &stdout, &stderr); code != 0 {
		t.Fatalf("text output: exit code %d; stderr:\n%s", code, stderr.String())
	}
	for _, s := range []string{"departments.csv", "LOADED", "12"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, stdout.String())
		}
	}
}

func TestLoad_Failures(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "departments.csv")
	if err := os.WriteFile(bad, []byte("0,Nobody\r\nx,Nothing\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "salaries.csv")
	if err := os.WriteFile(unknown, []byte("1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The file not loaded has its reason in a column of its own, after the
	// rejects by rule.
	rejected := regexp.MustCompile(`(?m)^file +table +outcome +read +loaded +rejected +rejected by rule +ms +reason\n` +
		`departments\.csv +departments +REJECTED +2 +0 +2 +type 1, range 1 +\d+ +no valid row in the file\n`)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout *regexp.Regexp
	}{
		{"no valid row", []string{"load", "--stack", st.Config().URL, bad}, 1, "not loaded: " + bad + " REJECTED", rejected},
		{"no such table", []string{"load", "--stack", st.Config().URL, unknown}, 2, `no table "salaries"`, nil},
		{"no such file", []string{"load", "--stack", st.Config().URL, filepath.Join(dir, "jobs.csv")}, 2, "jobs.csv", nil},
		{"no stack", []string{"load", "--stack", "http://127.0.0.1:1", bad}, 1, "hint: start one with", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.stdout != nil && !tc.stdout.MatchString(stdout.String()) {
				t.Errorf("stdout does not match %s:\n%s", tc.stdout, stdout.String())
			}
		})
	}
}
