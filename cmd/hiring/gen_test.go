package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
)

func TestGen(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		json bool
	}{
		{name: "text"},
		{name: "json", json: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "out")
			args := []string{"gen", "--rows", "300", "--invalid-ratio", "0.2", "--seed", "5", "--departments", "20", "--jobs", "30", "--out", dir}
			if tc.json {
				args = append(args, "--json")
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
			}
			data, err := os.ReadFile(filepath.Join(dir, "summary.json"))
			if err != nil {
				t.Fatalf("summary.json: %v", err)
			}
			var s gen.Summary
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("summary.json: %v", err)
			}
			if bytes.Contains(data, []byte("peak_rss_bytes")) {
				t.Errorf("summary.json has the peak RSS, which depends on the machine:\n%s", data)
			}
			linux := runtime.GOOS == "linux"
			if s.Rows != 300 || s.InvalidRatio != 0.2 || s.Seed != 5 || s.Departments != 20 || s.Jobs != 30 || s.Out != dir || len(s.Files) != 3 {
				t.Errorf("summary.json = %+v, want the flags given and 3 files", s)
			}
			for _, f := range s.Files {
				if _, err := os.Stat(f.Path); err != nil {
					t.Errorf("%s: %v", f.Table, err)
				}
			}
			if !tc.json {
				for _, want := range []string{"hired_employees.csv  300", "jobs.csv             30", filepath.Join(dir, "summary.json")} {
					if !strings.Contains(stdout.String(), want) {
						t.Errorf("stdout does not contain %q:\n%s", want, stdout.String())
					}
				}
				var mib float64
				lines := strings.Split(stdout.String(), "\n")
				_, err := fmt.Sscanf(lines[1], "Peak RSS: %f MiB", &mib)
				if linux && (err != nil || mib <= 0) {
					t.Errorf("second line is not the peak RSS (%v, %v MiB):\n%s", err, mib, stdout.String())
				}
				if !linux && strings.Contains(stdout.String(), "Peak RSS") {
					t.Errorf("stdout has a peak RSS without /proc:\n%s", stdout.String())
				}
				return
			}
			var printed genReport
			if err := json.Unmarshal(stdout.Bytes(), &printed); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, stdout.String())
			}
			if printed.Rows != 300 || len(printed.Files) != 3 || printed.Files[2].Valid != s.Files[2].Valid {
				t.Errorf("--json output = %+v, want the summary of summary.json %+v", printed.Summary, s)
			}
			if linux != (printed.PeakRSSBytes > 0) {
				t.Errorf("--json peak_rss_bytes = %d on %s", printed.PeakRSSBytes, runtime.GOOS)
			}
		})
	}
}

func TestGen_badFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"zero rows", []string{"--rows", "0", "--out", "OUT"}, 2, "--rows must be at least 1, got 0"},
		{"ratio above 1", []string{"--rows", "10", "--invalid-ratio", "2", "--out", "OUT"}, 2, "--invalid-ratio must be between 0 and 1, got 2"},
		{"negative ratio", []string{"--rows", "10", "--invalid-ratio=-0.5", "--out", "OUT"}, 2, "--invalid-ratio must be between 0 and 1, got -0.5"},
		{"no departments", []string{"--rows", "10", "--departments", "0", "--out", "OUT"}, 2, "--departments must be at least 1"},
		{"no jobs", []string{"--rows", "10", "--jobs=-3", "--out", "OUT"}, 2, "--jobs must be at least 1"},
		{"rows not a number", []string{"--rows", "many", "--out", "OUT"}, 2, "--rows"},
		{"missing --out", []string{"--rows", "10"}, 2, "--out"},
		{"missing --rows", []string{"--out", "OUT"}, 2, "--rows"},
		{"output is a file", []string{"--rows", "10", "--out", "FILE"}, 1, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "file")
			if err := os.WriteFile(file, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"gen"}
			for _, a := range tc.args {
				a = strings.ReplaceAll(a, "OUT", filepath.Join(dir, "out"))
				args = append(args, strings.ReplaceAll(a, "FILE", file))
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantErr, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
				t.Errorf("bad flags created the output folder")
			}
		})
	}
}
