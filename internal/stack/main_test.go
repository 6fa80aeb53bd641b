package stack_test

import (
	"os"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// TestMain lets the test binary serve a function when a stack of these tests
// runs it as an instance, and run the tests otherwise.
func TestMain(m *testing.M) {
	function.ServeIfInstance()
	os.Exit(m.Run())
}
