package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tools finds the binaries that scripts/tools.sh builds: in $HIRING_TOOLS
// (default ~/.cache/hiring-pipeline/tools). Without them the tests skip,
// except in CI, where .ci/run builds them first.
type tools struct {
	tofu, trivy, tofurc, trivyCache string
}

func findTools(t *testing.T) tools {
	t.Helper()
	dir := os.Getenv("HIRING_TOOLS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "hiring-pipeline", "tools")
	}
	tl := tools{tofu: filepath.Join(dir, "bin", "tofu"), trivy: filepath.Join(dir, "bin", "trivy"), tofurc: filepath.Join(dir, "tofurc"),
		trivyCache: filepath.Join(dir, "trivy-cache")}
	for _, p := range []string{tl.tofu, tl.trivy, tl.tofurc} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: .ci/run builds the tools with scripts/tools.sh before the tests", p)
			}
			t.Skipf("%s is missing: run scripts/tools.sh to build OpenTofu, Trivy and the stand-in providers (CI does)", p)
		}
	}
	return tl
}

// workdir copies the configuration without its lock file or state into a
// new folder beside links to the repository files it reads.
func workdir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "infra")
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.tf")
	tests, _ := filepath.Glob("tests/*.tftest.hcl")
	for _, f := range append(append(files, tests...), "terraform.tfvars.example") {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"schemas", "go.mod", "go.sum", "functions.go", "internal"} {
		abs, err := filepath.Abs(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs a tool in dir and returns its output; a failure fails the test.
func (tl tools) run(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+tl.tofurc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "TF_PLUGIN_CACHE_DIR=", "CHECKPOINT_DISABLE=1",
		"TRIVY_SKIP_CHECK_UPDATE=true", "TRIVY_SKIP_VERSION_CHECK=true", "TRIVY_DISABLE_TELEMETRY=true", "TRIVY_CACHE_DIR="+tl.trivyCache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %s", filepath.Base(bin), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestTofu checks the configuration offline with OpenTofu against the
// stand-in providers: formatting, validate, a plan with the example
// variables (which must create every resource the deployment needs) and the
// tests of tests/*.tftest.hcl.
func TestTofu(t *testing.T) {
	t.Parallel()
	tl := findTools(t)
	tl.run(t, ".", tl.tofu, "fmt", "-check", "-recursive", "-diff", "-no-color")
	dir := workdir(t)
	tl.run(t, dir, tl.tofu, "init", "-backend=false", "-input=false", "-no-color")
	tl.run(t, dir, tl.tofu, "validate", "-no-color")
	out := tl.run(t, dir, tl.tofu, "plan", "-input=false", "-no-color", "-var-file=terraform.tfvars.example", "-out=plan.bin")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "Plan:") {
			t.Log(line)
		}
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Type    string `json:"type"`
			Mode    string `json:"mode"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(tl.run(t, dir, tl.tofu, "show", "-json", "plan.bin")), &plan); err != nil {
		t.Fatalf("tofu show -json: %v", err)
	}
	created := map[string]bool{}
	for _, rc := range plan.ResourceChanges {
		if rc.Mode == "managed" && slices.Equal(rc.Change.Actions, []string{"create"}) {
			created[rc.Address] = true
		}
	}
	for _, addr := range expectedResources(theCode(t)) {
		if !created[addr] {
			t.Errorf("the plan does not create %s", addr)
		}
	}
	t.Logf("the plan creates %d resources", len(created))
	tl.run(t, dir, tl.tofu, "test", "-no-color")
}

// expectedResources lists resources the plan of terraform.tfvars.example
// must create, derived from the code.
func expectedResources(c code) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, api := range []string{"bigquery", "bigquerystorage", "cloudbuild", "cloudfunctions", "cloudscheduler", "eventarc", "run", "storage", "pubsub", "artifactregistry"} {
		add("google_project_service.api[%q]", api+".googleapis.com")
	}
	for _, b := range []string{"landing", "staging", "backups", "source"} {
		add("google_storage_bucket.%s", b)
	}
	add("google_storage_bucket_object.source")
	add("google_bigquery_dataset.hiring")
	for _, table := range c.Dictionary {
		add("google_bigquery_table.raw[%q]", table)
		add("google_bigquery_table.view[%q]", table)
	}
	for _, table := range c.SystemTables[:2] {
		add("google_bigquery_table.system[%q]", table)
	}
	for _, table := range c.SystemTables[2:] {
		add("google_bigquery_table.metric[%q]", table)
	}
	for _, d := range c.Functions {
		add("google_cloudfunctions2_function.fn[%q]", d.Name)
		add("google_service_account.fn[%q]", d.Name)
		add("google_bigquery_dataset_iam_member.fn[%q]", d.Name)
	}
	for _, s := range []string{"backup-tables", "metrics"} {
		add("google_cloud_scheduler_job.job[%q]", s)
		add("google_service_account.scheduler[%q]", s)
		add("google_cloud_run_service_iam_member.invoker[%q]", s+"/scheduler")
	}
	add("google_cloud_run_service_iam_member.invoker[%q]", "load-csv/trigger")
	add("google_cloud_run_service_iam_member.invoker[%q]", "insert-rows/serviceAccount:hr-system@my-hiring-project.iam.gserviceaccount.com")
	add("google_cloud_run_service_iam_member.invoker[%q]", "metrics/user:analyst@example.com")
	add("google_cloud_run_service_iam_member.invoker[%q]", "restore-table/user:data-lead@example.com")
	for _, r := range []string{"google_service_account.trigger", "google_service_account.build", "google_project_iam_member.build",
		"google_project_iam_member.gcs_publishes_events", "google_project_iam_member.trigger_receives_events",
		"google_service_account_iam_member.pubsub_mints_trigger_tokens", "google_storage_bucket_iam_member.insert_rows_claims"} {
		add("%s", r)
	}
	return out
}

// finding is a misconfiguration Trivy reports.
type finding struct {
	ID, Severity, Title, Target string
	Line                        int
}

// trivy runs `trivy config` on the folder with the given extra flags.
func (tl tools) trivyFindings(t *testing.T, args ...string) []finding {
	t.Helper()
	out := tl.run(t, ".", tl.trivy, append([]string{"config", "--skip-check-update", "--quiet", "--format", "json"}, append(args, ".")...)...)
	var report struct {
		Results []struct {
			Target            string
			Misconfigurations []struct {
				ID, Severity, Title string
				CauseMetadata       struct{ StartLine int }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("trivy's report: %v\n%s", err, out)
	}
	var fs []finding
	for _, r := range report.Results {
		for _, m := range r.Misconfigurations {
			fs = append(fs, finding{m.ID, m.Severity, m.Title, r.Target, m.CauseMetadata.StartLine})
		}
	}
	return fs
}

// TestTrivy scans the configuration with `trivy config`: no HIGH or
// CRITICAL finding at all, and no other finding that .trivyignore.yaml
// does not accept with its reason.
func TestTrivy(t *testing.T) {
	t.Parallel()
	tl := findTools(t)
	for _, f := range tl.trivyFindings(t) {
		if f.Severity == "HIGH" || f.Severity == "CRITICAL" {
			t.Errorf("%s %s at %s:%d: %s", f.Severity, f.ID, f.Target, f.Line, f.Title)
		}
	}
	for _, f := range tl.trivyFindings(t, "--ignorefile", ".trivyignore.yaml") {
		t.Errorf("%s %s at %s:%d: %s (fix it, or accept it with its reason in .trivyignore.yaml)", f.Severity, f.ID, f.Target, f.Line, f.Title)
	}
}
