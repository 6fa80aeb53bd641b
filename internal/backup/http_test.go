package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestHandlers_ServerErrors points both functions at a backups bucket that
// does not exist: backing up, listing and restoring fail on the server's
// side, and each answers a generic 500 whose error_id is logged with the
// whole error (the bucket, Cloud Storage's 404); the answer has neither.
func TestHandlers_ServerErrors(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	var logs testutil.SyncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	cfg := Config{Google: config.Google{Project: "test-project", Dataset: "hiring"}, Buckets: config.Buckets{Backups: "no-such-backups"}, Codec: "SNAPPY"}
	b, err := NewBackuper(cfg, dictionary.Default(), h.bq, h.gcs, logger)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRestorer(cfg, dictionary.Default(), h.bq, h.gcs, logger)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		handler http.Handler
		method  string
		path    string
		body    string
	}{
		{"backup", BackupHandler(b, guard), http.MethodPost, "/", `{"tables":["jobs"]}`},
		{"list", RestoreHandler(r, guard), http.MethodGet, "/backups", ""},
		{"restore latest", RestoreHandler(r, guard), http.MethodPost, "/restore", `{"table":"jobs","backup_id":"latest"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500: %s", rec.Code, body)
			}
			testutil.CheckServerError(t, rec.Code, body)
			if bytes.Contains(body, []byte("no-such-backups")) {
				t.Errorf("the answer %s names the bucket", body)
			}
			var p struct {
				ErrorID string `json:"error_id"`
			}
			if err := json.Unmarshal(body, &p); err != nil || p.ErrorID == "" {
				t.Fatalf("no error_id in %s", body)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, p.ErrorID) {
					if !strings.Contains(line, `"level":"ERROR"`) || !(strings.Contains(line, "no-such-backups") || strings.Contains(line, "googleapi: Error 404")) {
						t.Errorf("the log line of %s is %s, want an ERROR with the whole error", p.ErrorID, line)
					}
					return
				}
			}
			t.Errorf("no log line has error_id %s:\n%s", p.ErrorID, logs.String())
		})
	}
}
