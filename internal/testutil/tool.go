package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of the command-line program name (gcloud, bq) for a
// test that runs it. When it is not on the PATH the test is skipped, except
// in CI (CI=true), whose machine has every program the tests need
// (google-cloud-cli comes with its image; .ci/run installs the rest): there
// it fails.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}
