package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

func putFaults(t *testing.T, url, body string) (int, stack.FaultsDoc) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url+"/dev/faults", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc stack.FaultsDoc
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%v: %s", err, data)
		}
	}
	return resp.StatusCode, doc
}

// TestStack_Faults turns the local BigQuery's faults on and off through
// /dev/faults, as a person trying things out would, and sees a client's
// call fail, then succeed.
func TestStack_Faults(t *testing.T) {
	t.Parallel()
	st := start(t, stack.Options{})
	cfg := st.Config()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer bq.Close()
	for _, bad := range []string{`{"bigquery": {"rate": 1.5}}`, `{"bigquery": {"rate": 0.5, "mode": "slow"}}`, `{"bigquery": {"rate": 0.5, "seconds": -1}}`, `{"bigquery": {"latency_ms": -5}}`, `{"rate": 1}`} {
		if status, _ := putFaults(t, cfg.URL, bad); status != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", bad, status)
		}
	}
	status, doc := putFaults(t, cfg.URL, `{"bigquery": {"rate": 1, "seconds": 600, "latency_ms": 20}}`)
	if status != http.StatusOK || doc.BigQuery.Rate != 1 || doc.BigQuery.Mode != "unavailable" || doc.BigQuery.Until == nil || doc.BigQuery.LatencyMS != 20 {
		t.Fatalf("PUT rate 1: %d %+v", status, doc)
	}
	// datasets.insert is a call the client does not retry.
	err = bq.Dataset("faulted").Create(ctx, nil)
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != http.StatusServiceUnavailable {
		t.Errorf("with every call failing, a dataset insert answered %v, want 503", err)
	}
	var got stack.FaultsDoc
	getJSON(t, cfg.URL+"/dev/faults", &got)
	if got.BigQuery.Injected < 1 {
		t.Errorf("GET /dev/faults counts %d faults injected", got.BigQuery.Injected)
	}
	if status, doc := putFaults(t, cfg.URL, `{"bigquery": {"rate": 0}}`); status != http.StatusOK || doc.BigQuery.Rate != 0 {
		t.Fatalf("PUT rate 0: %d %+v", status, doc)
	}
	if err := bq.Dataset("faulted").Create(ctx, nil); err != nil {
		t.Errorf("with faults off, a dataset insert failed: %v", err)
	}
}

// TestStack_Env adds a variable to the functions' configuration, and may
// not change one the stack sets.
func TestStack_Env(t *testing.T) {
	t.Parallel()
	st := start(t, stack.Options{Env: map[string]string{"HIRING_REQUEST_TIMEOUT": "3s"}})
	if got := st.Config().Env["HIRING_REQUEST_TIMEOUT"]; got != "3s" {
		t.Errorf("Env has HIRING_REQUEST_TIMEOUT %q", got)
	}
	_, err := stack.Start(context.Background(), stack.Options{Env: map[string]string{"HIRING_PROJECT": "elsewhere"}})
	if err == nil || !strings.Contains(err.Error(), "HIRING_PROJECT") {
		t.Errorf("Env changing HIRING_PROJECT: %v, want an error naming it", err)
	}
}
