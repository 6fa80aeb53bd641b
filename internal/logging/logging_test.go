package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

func TestNew_CloudLoggingFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "DEBUG"},
		{slog.LevelInfo, "INFO"},
		{slog.LevelWarn, "WARNING"},
		{slog.LevelError, "ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logging.New(&buf, slog.LevelDebug).Log(t.Context(), tc.level, "hello", logging.KeyIngestionID, "gs://b/o#1")
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
			}
			if got["severity"] != tc.want {
				t.Errorf("severity = %v, want %s", got["severity"], tc.want)
			}
			if got["message"] != "hello" {
				t.Errorf("message = %v, want hello", got["message"])
			}
			if _, ok := got["time"]; !ok {
				t.Errorf("no time in %v", got)
			}
			if got["ingestion_id"] != "gs://b/o#1" {
				t.Errorf("ingestion_id = %v", got["ingestion_id"])
			}
			for _, k := range []string{"level", "msg"} {
				if _, ok := got[k]; ok {
					t.Errorf("slog key %q left in %v", k, got)
				}
			}
		})
	}
}

func TestTrace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, project, header, want string
	}{
		{"full header", "p", "105445aa7843bc8bf206b12000100000/1;o=1", "projects/p/traces/105445aa7843bc8bf206b12000100000"},
		{"trace only", "p", "abc", "projects/p/traces/abc"},
		{"no header", "p", "", ""},
		{"no project", "", "abc/1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := logging.Trace(tc.project, tc.header)
			if got := a.Value.String(); tc.want != "" && (a.Key != logging.KeyTrace || got != tc.want) {
				t.Errorf("Trace = %s=%s, want %s=%s", a.Key, got, logging.KeyTrace, tc.want)
			}
			if tc.want == "" && !a.Equal(slog.Attr{}) {
				t.Errorf("Trace = %v, want empty", a)
			}
		})
	}
}
