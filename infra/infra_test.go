package infra

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// theCode is what the Go code declares.
func theCode(t *testing.T) code {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil || mod.Go == nil {
		t.Fatalf("go.mod: %v", err)
	}
	return code{
		Functions:    hiringpipeline.Functions,
		Dictionary:   dictionary.Default().Names(),
		SystemTables: []string{warehouse.RejectedRows, warehouse.IngestLog, metrics.HiresByQuarterTable, metrics.DepartmentsAboveMeanTable},
		RawTable:     warehouse.RawTable,
		GoVersion:    mod.Go.Version,
		ClaimsPrefix: insert.ClaimsPrefix,
		OutcomeKey:   outcomeKey(t),
		Failed:       string(ingest.Failed),

		RestoreTargetPrefix: backup.TargetPrefix,
	}
}

// outcomeKey finds the log field under which internal/ingest logs a file's
// outcome: the string key before a .Outcome value in a call's arguments,
// such as "outcome", res.Outcome. The package spells it inline, so the
// check reads the source.
func outcomeKey(t *testing.T) string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), "../internal/ingest", func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, p := range pkgs {
		ast.Inspect(p, func(n ast.Node) bool {
			var args []ast.Expr
			switch n := n.(type) {
			case *ast.CallExpr:
				args = n.Args
			case *ast.CompositeLit:
				args = n.Elts
			default:
				return true
			}
			for i := 0; i+1 < len(args); i++ {
				lit, ok := args[i].(*ast.BasicLit)
				sel, isSel := args[i+1].(*ast.SelectorExpr)
				if ok && lit.Kind == token.STRING && isSel && sel.Sel.Name == "Outcome" {
					k, err := strconv.Unquote(lit.Value)
					if err == nil {
						keys[k] = true
					}
				}
			}
			return true
		})
	}
	if len(keys) != 1 {
		t.Fatalf("internal/ingest logs the outcome under %d keys, want 1: %v", len(keys), slices.Sorted(maps.Keys(keys)))
	}
	for k := range keys {
		return k
	}
	return ""
}

func TestCrossCheck(t *testing.T) {
	t.Parallel()
	if problems := crossCheck(".", theCode(t)); len(problems) > 0 {
		t.Errorf("infra/ and the code disagree:\n%s", strings.Join(problems, "\n"))
	}
}

// copyInfra copies the .tf files to a new folder, replacing old with new in
// file name once.
func copyInfra(t *testing.T, name, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("*.tf")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if f == name {
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s has no %q to change", name, old)
			}
			data = []byte(strings.Replace(string(data), old, new, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCrossCheck_Catches renames things on one side only and expects the
// cross-check to name the mismatch.
func TestCrossCheck_Catches(t *testing.T) {
	t.Parallel()
	renamed := func(defs []function.Definition, name, entry string) []function.Definition {
		out := slices.Clone(defs)
		for i := range out {
			if out[i].Name == name {
				out[i].EntryPoint = entry
			}
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		file      string
		old, new  string
		code      func(code) code
		wantMatch string
	}{
		{name: "entry point renamed in Terraform", file: "functions.tf", old: `entry_point     = "RestoreTable"`, new: `entry_point     = "RestoreTables"`,
			wantMatch: `function restore-table: Terraform's entry_point is "RestoreTables", functions.go registers "RestoreTable"`},
		{name: "entry point renamed in Go", code: func(c code) code { c.Functions = renamed(c.Functions, "metrics", "StakeholderMetrics"); return c },
			wantMatch: `function metrics: Terraform's entry_point is "Metrics", functions.go registers "StakeholderMetrics"`},
		{name: "function missing from Terraform", file: "functions.tf", old: `"metrics" = {
      entry_point`, new: `"metrics-v2" = {
      entry_point`,
			wantMatch: `function metrics \(entry point Metrics\) is registered in functions.go but not in local.function_defaults`},
		{name: "function missing from Go", code: func(c code) code { c.Functions = c.Functions[1:]; return c },
			wantMatch: `Terraform deploys function load-csv \(entry point LoadCSV\), which functions.go does not register`},
		{name: "system table renamed in Terraform", file: "main.tf", old: `"ingest_log"]`, new: `"ingestion_log"]`,
			wantMatch: `the code writes table ingest_log, which Terraform does not create`},
		{name: "metric table renamed in Go", code: func(c code) code { c.SystemTables[2] = "metrics_hires_per_quarter"; return c },
			wantMatch: `Terraform creates table metrics_hires_by_quarter, which the code does not know`},
		{name: "raw table renamed in Terraform", file: "bigquery.tf", old: `table_id            = "${each.key}_raw"`, new: `table_id            = "${each.key}_append"`,
			wantMatch: `google_bigquery_table.raw names the table of jobs "jobs_append", the code "jobs_raw"`},
		{name: "dictionary tables listed by hand", file: "main.tf", old: `fileset("${local.repository}/schemas", "*.json")`, new: `["departments.json", "jobs.json"]`,
			wantMatch: `local.dictionary must come from fileset`},
		{name: "a variable not set", file: "functions.tf", old: `HIRING_METRICS_YEARS = join`, new: `HIRING_METRIC_YEARS = join`,
			wantMatch: `function metrics reads HIRING_METRICS_YEARS, which Terraform does not set`},
		{name: "a local variable set", file: "functions.tf", old: `HIRING_MAX_BODY_BYTES        = tostring(var.max_body_bytes)`, new: `HIRING_MAX_BODY_BYTES        = tostring(var.max_body_bytes)
      HIRING_AUTH_TOKENS = "x"`,
			wantMatch: `function insert-rows: Terraform sets HIRING_AUTH_TOKENS, which only the local stack may set`},
		{name: "request timeout copied", file: "functions.tf", old: `"${local.functions["insert-rows"].timeout_seconds}s"`, new: `"60s"`,
			wantMatch: `function insert-rows: Terraform's HIRING_REQUEST_TIMEOUT is 60s for a timeout_seconds of 61, not 61s`},
		{name: "request timeout without the override", file: "functions.tf", old: `"${local.functions["insert-rows"].timeout_seconds}s"`, new: `"${local.function_defaults["insert-rows"].timeout_seconds}s"`,
			wantMatch: `function insert-rows: Terraform's HIRING_REQUEST_TIMEOUT is 60s for a timeout_seconds of 61, not 61s`},
		{name: "retention copied", file: "functions.tf", old: `"${var.idempotency_retention_days * 24}h"`, new: `"24h"`,
			wantMatch: `function insert-rows: Terraform's HIRING_IDEMPOTENCY_RETENTION is 24h for idempotency_retention_days = 2, not 48h`},
		{name: "retention in days read as hours", file: "functions.tf", old: `"${var.idempotency_retention_days * 24}h"`, new: `"${var.idempotency_retention_days}h"`,
			wantMatch: `function insert-rows: Terraform's HIRING_IDEMPOTENCY_RETENTION is 2h for idempotency_retention_days = 2, not 48h`},
		{name: "claims in another bucket", file: "functions.tf", old: `HIRING_STAGING_BUCKET        = google_storage_bucket.staging.name`, new: `HIRING_STAGING_BUCKET        = google_storage_bucket.landing.name`,
			wantMatch: `function insert-rows: Terraform's HIRING_STAGING_BUCKET is bucket-landing, not the staging bucket`},
		{name: "staged files' rule deletes every object", file: "storage_transient.tf", old: `
      matches_prefix = local.staged_prefixes`, new: ``,
			wantMatch: `google_storage_bucket.staging: lifecycle rule 1 has no matches_prefix, so it deletes every object, insert-rows' claims under idempotency/ too`},
		{name: "staged files' rule covers the claims", file: "main.tf", old: `staged_prefixes = ["valid/", "rejects/"]`, new: `staged_prefixes = ["valid/", "rejects/", "idempotency/jobs/"]`,
			wantMatch: `google_storage_bucket.staging: lifecycle rule 1 \(matches_prefix \["valid/" "rejects/" "idempotency/jobs/"\]\) deletes insert-rows' claims`},
		{name: "claims kept as long as staged files", file: "storage_transient.tf", old: `age            = var.idempotency_retention_days`, new: `age            = var.staging_retention_days`,
			wantMatch: `google_storage_bucket.staging: the claims' lifecycle rule deletes them at the age of \(var.staging_retention_days\) days`},
		{name: "claims prefix renamed in Go", code: func(c code) code { c.ClaimsPrefix = "claims/"; return c },
			wantMatch: `local.claims_prefix must be "claims/", insert.ClaimsPrefix`},
		{name: "grant on the whole bucket", file: "iam.tf", old: `/objects/${local.claims_prefix}`, new: `/objects/`,
			wantMatch: `google_storage_bucket_iam_member.insert_rows_claims: the grant to function insert-rows must be on the staging bucket with the condition resource.name.startsWith\("projects/_/buckets/bucket-staging/objects/idempotency/"\)`},
		{name: "grant to another account", file: "iam.tf", old: `google_service_account.fn["insert-rows"].email`, new: `google_service_account.fn["metrics"].email`,
			wantMatch: `function insert-rows keeps idempotency claims, but no google_storage_bucket_iam_member grants its account`},
		{name: "unconditional role on the staging bucket", file: "iam.tf", old: `buckets      = {}`, new: `buckets      = { staging = ["roles/storage.objectAdmin"] }`,
			wantMatch: `local.function_access gives function insert-rows a role on the whole staging bucket`},
		{name: "runtime behind go.mod", code: func(c code) code { c.GoVersion = "1.27"; return c },
			wantMatch: `local.go_runtime must be "go127", for go 1.27 in go.mod`},
		{name: "alert filter on another field", file: "monitoring.tf", old: `jsonPayload.outcome=\"FAILED\"`, new: `jsonPayload.result=\"FAILED\"`,
			wantMatch: `local.log_filters.load_csv_failures does not match jsonPayload.outcome="FAILED"`},
		{name: "outcome renamed in Go", code: func(c code) code { c.Failed = "FAILURE"; return c },
			wantMatch: `local.log_filters.load_csv_failures does not match jsonPayload.outcome="FAILURE"`},
		{name: "alert filter on another service", file: "monitoring.tf", old: `service_name=\"${local.load_csv_service}\"`, new: `service_name=\"hiring-load-csv\"`,
			wantMatch: `local.log_filters.load_csv_failures is not limited to the service of function load-csv`},
		{name: "5xx filter without the HTTP functions", file: "monitoring.tf", old: `[for s in local.http_services : "\"${s}\""]`, new: `["\"hiring-metrics\""]`,
			wantMatch: `local.log_filters.http_5xx must cover every HTTP function`},
		{name: "restore targets not granted", file: "iam.tf", old: `scratch      = ["_restore_staging_", "restore_"]`, new: `scratch      = ["_restore_staging_"]`,
			wantMatch: `local.function_access\["restore-table"\].scratch must hold "restore_"`},
		{name: "variable without a description", file: "variables.tf", old: `  description = "Hours of BigQuery time travel`, new: `  # "Hours of BigQuery time travel`,
			wantMatch: `variable max_time_travel_hours has no description`},
		{name: "scheduler job for no function", file: "scheduler.tf", old: `"backup-tables" = {
      schedule`, new: `"backup-table" = {
      schedule`,
			wantMatch: `scheduler job backup-table targets no HTTP function of functions.go`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := "."
			if tc.file != "" {
				dir = copyInfra(t, tc.file, tc.old, tc.new)
			}
			c := theCode(t)
			if tc.code != nil {
				c = tc.code(c)
			}
			problems := crossCheck(dir, c)
			if !slices.ContainsFunc(problems, regexp.MustCompile("^"+tc.wantMatch).MatchString) {
				t.Errorf("the cross-check did not report %q; it reported:\n%s", tc.wantMatch, strings.Join(problems, "\n"))
			}
		})
	}
}
