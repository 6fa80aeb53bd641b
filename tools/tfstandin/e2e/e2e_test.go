// Package e2e runs OpenTofu against the stand-in providers that
// scripts/tools.sh installs as a filesystem mirror, entirely offline.
//
// The tools folder is $HIRING_TOOLS, by default
// ~/.cache/hiring-pipeline/tools. Without it the tests skip, except when
// CI=true, where a missing tool is a failure.
package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tofu returns the tofu binary and the CLI configuration that points it at
// the mirror.
func tofu(t *testing.T) (bin, cliConfig string) {
	t.Helper()
	dir := os.Getenv("HIRING_TOOLS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "hiring-pipeline", "tools")
	}
	bin = filepath.Join(dir, "bin", "tofu")
	cliConfig = filepath.Join(dir, "tofurc")
	for _, p := range []string{bin, cliConfig} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%v: run scripts/tools.sh first", err)
			}
			t.Skipf("%v: run scripts/tools.sh to build tofu and the stand-in providers", err)
		}
	}
	return bin, cliConfig
}

// run runs tofu in dir and returns its combined output and whether it
// exited 0.
func run(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	bin, cliConfig := tofu(t)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"TF_PLUGIN_CACHE_DIR=",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err != nil {
		if _, exited := err.(*exec.ExitError); !exited {
			t.Fatalf("tofu %s: %v", strings.Join(args, " "), err)
		}
	}
	return out.String(), err == nil
}

// copyDir copies the test configuration src into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func initDir(t *testing.T, dir string) {
	t.Helper()
	if out, ok := run(t, dir, "init", "-no-color"); !ok {
		t.Fatalf("tofu init failed:\n%s", out)
	}
}

// TestGoodConfigPlans checks that a configuration using the resources the
// project deploys initialises from the mirror, validates, plans and passes
// a `tofu test` run with command = plan.
func TestGoodConfigPlans(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "good"))
	initDir(t, dir)
	lock, err := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`provider "registry.opentofu.org/hashicorp/google"`,
		`provider "registry.opentofu.org/hashicorp/archive"`,
		`provider "registry.terraform.io/hashicorp/random"`,
	} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("lock file lacks %s:\n%s", want, lock)
		}
	}
	if out, ok := run(t, dir, "validate", "-no-color"); !ok {
		t.Fatalf("tofu validate failed:\n%s", out)
	}
	out, ok := run(t, dir, "plan", "-no-color", "-var", "project_id=demo-project")
	if !ok {
		t.Fatalf("tofu plan failed:\n%s", out)
	}
	for _, want := range []string{
		"Plan: 16 to add, 0 to change, 0 to destroy.",
		`name                        = "demo-project-raw"`,
		"function_uri   = (known after apply)",
		`bq_sa          = "serviceAccount:standin@standin-project.iam.gserviceaccount.com"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if out, ok := run(t, dir, "test", "-no-color"); !ok || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("tofu test failed:\n%s", out)
	}
	if out, ok := run(t, dir, "apply", "-no-color", "-auto-approve", "-var", "project_id=demo-project"); ok || !strings.Contains(out, "plan-only stand-in") {
		t.Errorf("tofu apply should fail with a plan-only message:\n%s", out)
	}
}

// versions is the provider requirement every broken configuration shares.
const versions = `
terraform {
  required_providers {
    google  = { source = "hashicorp/google", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.7" }
  }
}
provider "google" {
  project = "demo-project"
}
`

// TestBrokenConfigsFail checks that the stand-in's schema makes OpenTofu
// reject the mistakes it is meant to catch, with OpenTofu's own message.
func TestBrokenConfigsFail(t *testing.T) {
	cases := []struct {
		name    string
		command string
		config  string
		want    string
	}{{
		name:    "misspelled argument",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name    = "b"
  locaton = "EU"
}`,
		want: `An argument named "locaton" is not expected here.`,
	}, {
		name:    "missing required argument",
		command: "validate",
		config: `resource "google_bigquery_dataset" "d" {
  location = "EU"
}`,
		want: `The argument "dataset_id" is required, but no definition was found.`,
	}, {
		name:    "argument where a block is expected",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name       = "b"
  location   = "EU"
  versioning = true
}`,
		want: `Did you mean to define a block of type "versioning"?`,
	}, {
		name:    "list where a bool is expected",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name                        = "b"
  location                    = "EU"
  uniform_bucket_level_access = [true]
}`,
		want: `Inappropriate value for attribute "uniform_bucket_level_access": bool required`,
	}, {
		name:    "string where a list is expected",
		command: "validate",
		config: `resource "google_bigquery_table" "t" {
  dataset_id = "d"
  table_id   = "t"
  clustering = "id"
}`,
		want: `Inappropriate value for attribute "clustering": list of string required`,
	}, {
		name:    "undeclared variable",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name     = var.bucket_name
  location = "EU"
}`,
		want: `Reference to undeclared input variable`,
	}, {
		name:    "misspelled nested block",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name     = "b"
  location = "EU"
  verisoning {
    enabled = true
  }
}`,
		want: `Blocks of type "verisoning" are not expected here.`,
	}, {
		name:    "misspelled argument in a nested block",
		command: "validate",
		config: `resource "google_cloud_scheduler_job" "j" {
  name = "j"
  http_target {
    uri = "https://example.invalid/"
    oidc_token {
      service_acount_email = "sa@demo-project.iam.gserviceaccount.com"
    }
  }
}`,
		want: `An argument named "service_acount_email" is not expected here.`,
	}, {
		name:    "second single-item block",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name     = "b"
  location = "EU"
  versioning {
    enabled = true
  }
  versioning {
    enabled = false
  }
}`,
		want: `No more than 1 "versioning" blocks are allowed`,
	}, {
		name:    "missing required nested block",
		command: "validate",
		config: `resource "google_storage_bucket" "b" {
  name     = "b"
  location = "EU"
  lifecycle_rule {
    condition {
      age = 30
    }
  }
}`,
		want: `Insufficient action blocks`,
	}, {
		name:    "unknown attribute reference",
		command: "validate",
		config: `resource "google_service_account" "sa" {
  account_id = "sa"
}
output "email" {
  value = google_service_account.sa.emial
}`,
		want: `This object has no argument, nested block, or exported attribute named "emial"`,
	}, {
		name:    "unknown resource type",
		command: "validate",
		config: `resource "google_storage_bukcet" "b" {
  name     = "b"
  location = "EU"
}`,
		want: `The provider hashicorp/google does not support resource type "google_storage_bukcet".`,
	}, {
		name:    "missing archive source",
		command: "plan",
		config: `data "archive_file" "src" {
  type        = "zip"
  source_dir  = "${path.module}/no-such-dir"
  output_path = "${path.module}/build/src.zip"
}`,
		want: `archive_file source_dir "./no-such-dir" cannot be read`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"versions.tf": versions, "main.tf": tc.config} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			initDir(t, dir)
			out, ok := run(t, dir, tc.command, "-no-color")
			if ok {
				t.Fatalf("tofu %s succeeded, want an error containing %q:\n%s", tc.command, tc.want, out)
			}
			// OpenTofu wraps long messages; compare with line breaks
			// and the diagnostic gutter folded away.
			if !strings.Contains(fold(out), fold(tc.want)) {
				t.Fatalf("tofu %s output lacks %q:\n%s", tc.command, tc.want, out)
			}
		})
	}
}

// fold joins words separated by any run of spaces, line breaks or the
// "│" gutter that OpenTofu draws beside diagnostics.
func fold(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\n' || r == '\t' || r == '│'
	}), " ")
}
