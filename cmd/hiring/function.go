package main

import (
	"context"

	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// functionCmd serves one function as a deployed instance does; `hiring dev
// --instances N` runs the hiring binary itself in this mode for each
// instance. It is hidden: its interface is the environment that the stack
// sets (FUNCTION_TARGET, PORT, HOST and the HIRING_* configuration).
type functionCmd struct{}

// Run serves the function that $FUNCTION_TARGET names on $PORT until the
// process is told to stop (SIGTERM or Ctrl+C).
func (c *functionCmd) Run(ctx context.Context) error { return function.Serve(ctx) }
