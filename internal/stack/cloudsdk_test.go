package stack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

func TestConfig_CloudSDK(t *testing.T) {
	t.Parallel()
	cfg := stack.Config{URL: "http://127.0.0.1:8080", Project: "hiring-local", StorageEmulatorHost: "127.0.0.1:8081"}
	s := cfg.CloudSDK("/opt/sdk")
	wantEnv := map[string]string{
		"CLOUDSDK_CORE_PROJECT":                   "hiring-local",
		"CLOUDSDK_AUTH_DISABLE_CREDENTIALS":       "true",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": "http://127.0.0.1:8081/storage/v1/",
	}
	if got := s.Env(); !maps.Equal(got, wantEnv) {
		t.Errorf("Env() = %v, want %v", got, wantEnv)
	}
	wantFlags := []string{"--api", "http://127.0.0.1:8080", "--project_id", "hiring-local", "--oauth_access_token=unused",
		"--discovery_file", filepath.FromSlash("/opt/sdk/platform/bq/discovery_next/bigquery.json")}
	if !slices.Equal(s.BQFlags, wantFlags) {
		t.Errorf("BQFlags = %q, want %q", s.BQFlags, wantFlags)
	}
	if got := cfg.CloudSDK("").BQFlags; got != nil {
		t.Errorf("BQFlags without an SDK = %q, want none", got)
	}
}

// TestStack_gcloudUploadIsLoaded drops a file in the landing bucket with the
// real `gcloud storage cp`, configured by Config.CloudSDK as
// `hiring dev --print-env` does, and checks that load-csv loaded it: its
// ingest_log row through the Go BigQuery client, and its rows through the
// real bq.
func TestStack_gcloudUploadIsLoaded(t *testing.T) {
	t.Parallel()
	gcloud := testutil.Tool(t, "gcloud")
	bq := testutil.Tool(t, "bq")
	st := start(t, stack.Options{Functions: functions(t, "load-csv")})
	cfg := st.Config()
	root, err := stack.SDKRoot()
	if err != nil {
		t.Fatalf("SDKRoot: %v", err)
	}
	sdk := cfg.CloudSDK(root)
	env := append(os.Environ(), "CLOUDSDK_CONFIG="+t.TempDir(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	for k, v := range sdk.Env() {
		env = append(env, k+"="+v)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	file := filepath.Join(t.TempDir(), "departments.csv")
	if err := os.WriteFile(file, []byte("901,Recruiting\n902,Data Platform\n0,Nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	object := "gs://" + cfg.Buckets.Landing + "/departments/from-gcloud.csv"
	run(gcloud, "storage", "cp", file, object)
	gen := strings.TrimSpace(run(gcloud, "storage", "objects", "describe", object, "--format=value(generation)"))
	if gen == "" {
		t.Fatalf("objects describe printed no generation")
	}

	ctx := t.Context()
	client, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer client.Close()
	type logRow struct {
		Table    string `bigquery:"table_name"`
		Outcome  string `bigquery:"outcome"`
		Read     int64  `bigquery:"rows_read"`
		Loaded   int64  `bigquery:"rows_loaded"`
		Rejected int64  `bigquery:"rows_rejected"`
	}
	var got []logRow
	err = testutil.WaitFor(ctx, func() (bool, error) {
		q := client.Query("SELECT table_name, outcome, rows_read, rows_loaded, rows_rejected FROM `" + cfg.Dataset + ".ingest_log` WHERE ingestion_id = @id")
		q.Parameters = []bigquery.QueryParameter{{Name: "id", Value: object + "#" + gen}}
		it, err := q.Read(ctx)
		if err != nil {
			return false, err
		}
		got = got[:0]
		for {
			var r logRow
			err := it.Next(&r)
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				return false, err
			}
			got = append(got, r)
		}
		return len(got) > 0, nil
	})
	if err != nil {
		t.Fatalf("waiting for the ingest_log row of %s#%s: %v", object, gen, err)
	}
	want := logRow{Table: "departments", Outcome: "LOADED", Read: 3, Loaded: 2, Rejected: 1}
	if len(got) != 1 || got[0] != want {
		t.Errorf("ingest_log of %s#%s = %+v, want one row %+v", object, gen, got, want)
	}

	out := run(bq, append(sdk.BQFlags, "query", "--nouse_legacy_sql", "--format=json",
		"SELECT id, department FROM "+cfg.Dataset+".departments WHERE id > 900 ORDER BY id")...)
	var rows []map[string]string
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("bq query printed %q: %v", out, err)
	}
	wantRows := []map[string]string{{"id": "901", "department": "Recruiting"}, {"id": "902", "department": "Data Platform"}}
	if !slices.EqualFunc(rows, wantRows, maps.Equal) {
		t.Errorf("bq query = %v, want %v", rows, wantRows)
	}
}
