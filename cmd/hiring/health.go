package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// healthCmd asks a running stack's /healthz whether it serves: for scripts
// that wait for it, and the container image's HEALTHCHECK.
type healthCmd struct {
	Stack   string        `help:"URL of a running hiring dev stack (hiring dev --print-env exports it)." default:"${stack}" env:"HIRING_STACK" placeholder:"URL"`
	Timeout time.Duration `help:"How long to wait for the answer." default:"5s"`
}

// Run succeeds when /healthz answers 200, and fails with what it answered
// otherwise.
func (c *healthCmd) Run(ctx context.Context, con *console) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	stackURL := stackOrDefault(c.Stack)
	url := stackURL + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return withHint(fmt.Errorf("no stack at %s: %w", stackURL, err), noStackHint)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = fmt.Fprintf(con.Stdout, "ok: %s answered %s\n", url, resp.Status)
	return err
}
