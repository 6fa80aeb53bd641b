package function

import (
	"context"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

// DefaultPort is the port Serve listens on when $PORT is not set, as Cloud
// Run's default.
const DefaultPort = "8080"

// Serve serves one registered function the way Cloud Run's Go buildpack runs
// a deployed one: functions-framework-go serves the function whose entry
// point $FUNCTION_TARGET names (for example InsertRows) at / on $PORT
// (default DefaultPort). $HOST, which Cloud Run does not set, restricts the
// listener to one interface, such as 127.0.0.1; unset, it listens on every
// interface. The functions must have been registered, by linking the root
// package of the module; each reads its HIRING_* configuration from the
// environment on its first request.
//
// Serve returns the error that stopped serving, which names the target and
// the port, or nil as soon as ctx ends: functions-framework-go offers no
// graceful stop, so the caller is expected to exit then, as an instance does
// on SIGTERM.
func Serve(ctx context.Context) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = DefaultPort
	}
	served := make(chan error, 1)
	go func() { served <- funcframework.StartHostPort(os.Getenv("HOST"), port) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving %s on port %s: %w", os.Getenv("FUNCTION_TARGET"), port, err)
	case <-ctx.Done():
		return nil
	}
}
