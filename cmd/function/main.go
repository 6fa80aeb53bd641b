// Command function serves one function of hiring-pipeline alone, the way
// Cloud Run's Go buildpack builds and runs a deployed function: it links the
// root package, so that every function registers with the Functions
// Framework, and serves the one whose entry point $FUNCTION_TARGET names
// (for example InsertRows) at / on $PORT (default 8080). The function reads
// its HIRING_* configuration from the environment on its first request.
//
// It exists to run a function as a deployment does, for instance to measure
// its cold start (hiring bench cold-start). $HOST, which Cloud Run does not
// set, restricts the listener to one interface, such as 127.0.0.1; unset, it
// listens on every interface as in Cloud Run. See function.Serve.
package main

import (
	"context"
	"fmt"
	"os"

	_ "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

func main() {
	if err := function.Serve(context.Background()); err != nil {
		fmt.Fprintf(os.Stderr, "function: %v\n", err)
		os.Exit(1)
	}
}
