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
// listens on every interface as in Cloud Run.
package main

import (
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/hiring-pipeline/hiring-pipeline"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if err := funcframework.StartHostPort(os.Getenv("HOST"), port); err != nil {
		fmt.Fprintf(os.Stderr, "function: serving %s on port %s: %v\n", os.Getenv("FUNCTION_TARGET"), port, err)
		os.Exit(1)
	}
}
