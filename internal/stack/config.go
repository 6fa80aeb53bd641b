package stack

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
)

// Config is what a client needs to use the stack; GET /dev/config answers
// with it.
type Config struct {
	// URL is the stack's HTTP server.
	URL      string `json:"url"`
	Project  string `json:"project"`
	Dataset  string `json:"dataset"`
	Location string `json:"location"`
	Buckets  struct {
		Landing string `json:"landing"`
		Staging string `json:"staging"`
		Backups string `json:"backups"`
	} `json:"buckets"`
	// BigQueryEndpoint is the URL a BigQuery client takes as its endpoint.
	BigQueryEndpoint string `json:"bigquery_endpoint"`
	// BigQueryStorageEndpoint is the host:port of the Storage Write API
	// (gRPC, plaintext).
	BigQueryStorageEndpoint string `json:"bigquery_storage_endpoint"`
	// StorageEmulatorHost is the host:port for STORAGE_EMULATOR_HOST.
	StorageEmulatorHost string `json:"storage_emulator_host"`
	// Auth says whether the HTTP functions check callers, and with which
	// bearer token per role (static mode, hiring dev --auth).
	Auth struct {
		Mode   string            `json:"mode"`
		Tokens map[string]string `json:"tokens,omitempty"`
	} `json:"auth"`
	// Functions maps each mounted function to its URL.
	Functions map[string]string `json:"functions"`
	// Instances lists each function's running instances, as
	// Stack.Instances does: filled when the configuration is asked for,
	// since instances come and go.
	Instances map[string][]Instance `json:"instances"`
	// Env holds the environment variables that point hiring-pipeline's code
	// (or any Google client) at the stack.
	Env map[string]string `json:"env"`
}

func newConfig(opts Options, url, storageHost, storageWriteHost string) (Config, error) {
	c := Config{
		URL:                     url,
		Project:                 opts.Project,
		Dataset:                 opts.Dataset,
		Location:                "US",
		BigQueryEndpoint:        url + "/bigquery/v2/",
		BigQueryStorageEndpoint: storageWriteHost,
		StorageEmulatorHost:     storageHost,
		Functions:               map[string]string{},
	}
	c.Buckets.Landing = opts.Project + "-landing"
	c.Buckets.Staging = opts.Project + "-staging"
	c.Buckets.Backups = opts.Project + "-backups"
	c.Env = map[string]string{
		"HIRING_PROJECT":                   c.Project,
		"HIRING_DATASET":                   c.Dataset,
		"HIRING_BIGQUERY_LOCATION":         c.Location,
		"HIRING_BIGQUERY_ENDPOINT":         c.BigQueryEndpoint,
		"HIRING_BIGQUERY_STORAGE_ENDPOINT": c.BigQueryStorageEndpoint,
		"HIRING_LANDING_BUCKET":            c.Buckets.Landing,
		"HIRING_STAGING_BUCKET":            c.Buckets.Staging,
		"HIRING_BACKUP_BUCKET":             c.Buckets.Backups,
		"STORAGE_EMULATOR_HOST":            storageHost,
		"HIRING_AUTH_MODE":                 auth.ModeOff,
	}
	c.Auth.Mode = auth.ModeOff
	if opts.Auth {
		c.Auth.Mode = auth.ModeStatic
		c.Auth.Tokens = map[string]string{}
		var pairs []string
		for _, role := range auth.Roles {
			tok, err := randomToken()
			if err != nil {
				return c, err
			}
			c.Auth.Tokens[string(role)] = string(role) + "-" + tok
			pairs = append(pairs, string(role)+":"+c.Auth.Tokens[string(role)])
		}
		c.Env["HIRING_AUTH_MODE"] = auth.ModeStatic
		c.Env["HIRING_AUTH_TOKENS"] = strings.Join(pairs, ",")
	}
	for k, v := range opts.Env {
		if _, set := c.Env[k]; set {
			return c, fmt.Errorf("Env may not set %s: the stack sets it to %q", k, c.Env[k])
		}
		c.Env[k] = v
	}
	return c, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeJSON encodes v before writing, so a failed encoding sends no half
// answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
