package function

import (
	"context"
	"fmt"
	"os"
)

// InstanceVar is the environment variable that a local stack sets for each
// function instance it runs as a process (stack.Options.Instances), to the
// function's name and the instance's number, such as insert-rows-2. A
// process that has it serves a function (see ServeIfInstance), and the
// function's log lines carry it as "instance", with the process id as
// "pid". Deployed functions do not have it.
const InstanceVar = "HIRING_STACK_INSTANCE"

// ServeIfInstance lets a test binary be the program of a local stack's
// instances: when InstanceVar is set it serves the function that
// $FUNCTION_TARGET names, as Serve does, and exits the process (status 1,
// with the error on stderr, when serving fails); otherwise it returns at
// once. A TestMain calls it first, in a test package that links the root
// package of the module (so that the functions are registered):
//
//	func TestMain(m *testing.M) {
//		function.ServeIfInstance()
//		os.Exit(m.Run())
//	}
//
// and the tests start stacks with InstanceCommand set to TestInstanceCommand.
func ServeIfInstance() {
	if os.Getenv(InstanceVar) == "" {
		return
	}
	if err := Serve(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Getenv(InstanceVar), err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestInstanceCommand returns the command that runs the current test binary
// as a stack's instance (see ServeIfInstance): its path, and -test.run=^$ so
// that a binary whose TestMain does not call ServeIfInstance runs no test and
// exits, which the stack reports as an instance that never listened, instead
// of running the tests again in every instance.
func TestInstanceCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("test instance command: %w", err)
	}
	return []string{exe, "-test.run=^$"}, nil
}
