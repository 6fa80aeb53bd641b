package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// printEnv prints the shell commands that point gcloud, bq, hiring-pipeline's
// code and this program's commands (HIRING_STACK) at the stack running on
// --host and --port (on this machine when --host is every interface), as
// read from its /dev/config.
func (c *devCmd) printEnv(ctx context.Context, w io.Writer) error {
	host := c.Host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	stackURL := "http://" + net.JoinHostPort(host, strconv.Itoa(c.Port))
	cfg, err := fetchConfig(ctx, stackURL)
	if err != nil {
		return withHint(err, fmt.Sprintf("start the stack first, in another terminal: go run ./cmd/hiring dev%s", stackFlags(stackURL)))
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return fmt.Errorf("a folder for gcloud's configuration: %w", err)
	}
	// gcloud's configuration folder holds only what gcloud keeps for itself
	// (logs, caches): the properties come from the environment, so one
	// folder serves every stack, and the user's own configuration and
	// credentials stay out of reach.
	sdkConfig := filepath.Join(cache, "hiring-pipeline", "gcloud")
	if err := os.MkdirAll(sdkConfig, 0o700); err != nil {
		return fmt.Errorf("a folder for gcloud's configuration: %w", err)
	}
	root, rootErr := stack.SDKRoot()
	sdk := cfg.CloudSDK(root)

	var b strings.Builder
	fmt.Fprintf(&b, "# hiring-pipeline's local stack at %s, for gcloud, bq, hiring-pipeline's code and the hiring commands.\n", cfg.URL)
	fmt.Fprintf(&b, "# In a shell: eval \"$(go run ./cmd/hiring dev --print-env%s)\"\n", stackFlags(cfg.URL))
	env := sdk.Env()
	env["CLOUDSDK_CONFIG"] = sdkConfig
	env["HIRING_STACK"] = cfg.URL
	maps.Copy(env, cfg.Env)
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(env[k]))
	}
	if rootErr != nil {
		fmt.Fprintf(&b, "# no bq function: %s\n", strings.ReplaceAll(rootErr.Error(), "\n", "; "))
	} else {
		b.WriteString("bq() { command bq")
		for _, f := range sdk.BQFlags {
			b.WriteString(" " + shellQuote(f))
		}
		b.WriteString(" \"$@\"; }\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// stackFlags are the --host and --port flags that name the stack at
// stackURL in a command, empty for the defaults.
func stackFlags(stackURL string) string {
	u, err := url.Parse(stackURL)
	if err != nil {
		return ""
	}
	var flags string
	if h := u.Hostname(); h != "127.0.0.1" {
		flags += " --host " + h
	}
	if p := u.Port(); p != "8080" {
		flags += " --port " + p
	}
	return flags
}

// fetchConfig reads the configuration of the stack at stackURL.
func fetchConfig(ctx context.Context, stackURL string) (stack.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var cfg stack.Config
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, stackURL+"/dev/config", nil)
	if err != nil {
		return cfg, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return cfg, fmt.Errorf("no stack answers at %s: %w", stackURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cfg, fmt.Errorf("%s/dev/config answered %s", stackURL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s/dev/config: %w", stackURL, err)
	}
	return cfg, nil
}

// shellQuote quotes s for a POSIX shell when it holds anything but letters,
// digits and -_./:=@,+ characters.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
