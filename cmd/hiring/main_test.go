package main

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the hiring command when it is started
// with a command line (as `hiring bench` starts itself for a child process),
// and run the tests otherwise, without the stack and the token that a shell
// may have exported for the commands (`hiring dev --print-env`): every test
// names its own.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	for _, v := range []string{"HIRING_STACK", "HIRING_TOKEN"} {
		if err := os.Unsetenv(v); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
