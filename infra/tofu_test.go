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
	for _, name := range []string{"schemas", "go.mod", "go.sum", "functions.go", "functions", "internal"} {
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
	shown := tl.run(t, dir, tl.tofu, "show", "-json", "plan.bin")
	checkDependsOnAPIs(t, []byte(shown))
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
	if err := json.Unmarshal([]byte(shown), &plan); err != nil {
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

// apis is the resource that enables the project's APIs.
const apis = "google_project_service.api"

// checkDependsOnAPIs checks, in the configuration that a plan records, that
// every service account, service identity and IAM resource depends on the
// APIs, through depends_on or a reference, directly or through other
// resources: otherwise the first apply races the enabling of the IAM and
// Resource Manager APIs.
func checkDependsOnAPIs(t *testing.T, planJSON []byte) {
	t.Helper()
	var plan struct {
		Configuration struct {
			RootModule struct {
				Resources []struct {
					Address     string          `json:"address"`
					Type        string          `json:"type"`
					Expressions json.RawMessage `json:"expressions"`
					ForEach     json.RawMessage `json:"for_each_expression"`
					DependsOn   []string        `json:"depends_on"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"configuration"`
	}
	if err := json.Unmarshal(planJSON, &plan); err != nil {
		t.Fatalf("tofu show -json: %v", err)
	}
	edges := map[string][]string{}
	var checked []string
	for _, r := range plan.Configuration.RootModule.Resources {
		deps := slices.Clone(r.DependsOn)
		for _, raw := range []json.RawMessage{r.Expressions, r.ForEach} {
			deps = append(deps, references(raw)...)
		}
		for _, d := range deps {
			if n := resourceOf(d); n != "" {
				edges[r.Address] = append(edges[r.Address], n)
			}
		}
		if r.Type == "google_service_account" || r.Type == "google_project_service_identity" || strings.Contains(r.Type, "_iam_") {
			checked = append(checked, r.Address)
		}
	}
	if len(checked) < 10 {
		t.Fatalf("only %d service account and IAM resources in the plan's configuration: %v", len(checked), checked)
	}
	reaches := func(from string) bool {
		seen := map[string]bool{}
		queue := []string{from}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if n == apis {
				return true
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			queue = append(queue, edges[n]...)
		}
		return false
	}
	for _, addr := range checked {
		if !reaches(addr) {
			t.Errorf("%s does not depend on %s, directly or through another resource: the first apply would race the enabling of the APIs", addr, apis)
		}
	}
}

// references collects every "references" list of a plan's configuration
// expressions, at any depth.
func references(raw json.RawMessage) []string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if refs, ok := x.([]any); ok && k == "references" {
					for _, r := range refs {
						if s, ok := r.(string); ok {
							out = append(out, s)
						}
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// resourceOf returns the resource (type.name or data.type.name) that a
// reference names, or "" for variables, locals and the like.
func resourceOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "[")
	parts := strings.Split(ref, ".")
	switch {
	case parts[0] == "data" && len(parts) >= 3:
		return strings.Join(parts[:3], ".")
	case len(parts) >= 2 && strings.Contains(parts[0], "_"):
		return parts[0] + "." + parts[1]
	}
	return ""
}

// expectedResources lists resources the plan of terraform.tfvars.example
// must create, derived from the code.
func expectedResources(c code) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, api := range []string{"bigquery", "bigquerystorage", "cloudbuild", "cloudfunctions", "cloudscheduler", "eventarc", "run", "storage", "pubsub", "artifactregistry",
		"cloudresourcemanager", "iam", "logging", "monitoring"} {
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
	}
	for _, table := range c.Dictionary {
		add("google_bigquery_table_iam_member.fn[%q]", "load-csv/raw:"+table+"/editor")
		add("google_bigquery_table_iam_member.fn[%q]", "insert-rows/raw:"+table+"/editor")
		add("google_bigquery_table_iam_member.fn[%q]", "backup-tables/raw:"+table+"/viewer")
		add("google_bigquery_table_iam_member.fn[%q]", "restore-table/raw:"+table+"/editor")
		add("google_bigquery_table_iam_member.fn[%q]", "metrics/view:"+table+"/viewer")
	}
	for _, table := range c.SystemTables[:2] {
		add("google_bigquery_table_iam_member.fn[%q]", "load-csv/"+table+"/editor")
	}
	for _, table := range c.SystemTables[2:] {
		add("google_bigquery_table_iam_member.fn[%q]", "metrics/"+table+"/editor")
	}
	for _, name := range []string{"backup-tables", "restore-table", "metrics"} {
		add("google_bigquery_dataset_iam_member.scratch[%q]", name)
	}
	for _, api := range []string{"eventarc", "pubsub", "storage"} {
		add("google_project_service_identity.agent[%q]", api+".googleapis.com")
	}
	for _, m := range []string{"load_csv_failures", "http_5xx"} {
		add("google_logging_metric.failures[%q]", m)
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
	for _, r := range []string{"google_service_account.trigger", "google_service_account.build", "google_project_iam_member.build_logs",
		"google_storage_bucket_iam_member.build_reads_source", "google_artifact_registry_repository.functions",
		"google_artifact_registry_repository_iam_member.build_pushes_images", "google_project_iam_member.eventarc_agent", "time_sleep.iam_propagation",
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
