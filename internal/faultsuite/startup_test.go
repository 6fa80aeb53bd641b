package faultsuite_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestStartupFailure_Problem starts insert-rows with a configuration it
// refuses: each request answers a generic 500 problem whose error_id names
// the instance's ERROR log line, which has the reason.
func TestStartupFailure_Problem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{insertrows.Definition}, map[string]string{"HIRING_MAX_BODY_BYTES": "-1"})
	url := e.urls(t, "insert-rows")[0]
	resp, err := http.Post(url+"/tables/jobs/rows", "application/json", strings.NewReader(`{"rows":[{"id":1,"job":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer %d %s %s, want a 500 problem", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	testutil.CheckServerError(t, resp.StatusCode, body)
	var p struct {
		Code    string `json:"code"`
		Detail  string `json:"detail"`
		ErrorID string `json:"error_id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Code != "cannot_start" || strings.Contains(p.Detail, "MAX_BODY_BYTES") {
		t.Fatalf("problem %s, want code cannot_start and no reason", body)
	}
	// The instance's output reaches the buffer through a pipe: wait for
	// the line.
	var line []byte
	err = testutil.WaitFor(t.Context(), func() (bool, error) {
		for _, l := range bytes.Split([]byte(e.logs.String()), []byte("\n")) {
			if bytes.Contains(l, []byte(p.ErrorID)) {
				line = l
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no log line has error_id %s: %v; logs:\n%s", p.ErrorID, err, tail(e.logs.String(), 2000))
	}
	if !bytes.Contains(line, []byte(`"severity":"ERROR"`)) || !bytes.Contains(line, []byte("MAX_BODY_BYTES must be positive")) {
		t.Errorf("the log line of error_id %s is %s, want an ERROR with the reason", p.ErrorID, line)
	}
}
