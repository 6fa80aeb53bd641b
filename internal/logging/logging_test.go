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
