package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the hiring command when it is started
// with a command line (as `hiring bench` starts itself for a child process),
// and run the tests otherwise.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
