// Package clients builds every Google Cloud client of hiring-pipeline from
// configuration, so that one setting points the whole program at Google or at
// the local emulators.
package clients

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/sethvargo/go-envconfig"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

// BigQuery returns a BigQuery client for cfg.Project that runs jobs in
// cfg.Location. When cfg.BigQueryEndpoint is set (HIRING_BIGQUERY_ENDPOINT),
// it talks to that endpoint without credentials: the local emulator.
func BigQuery(ctx context.Context, cfg config.Google) (*bigquery.Client, error) {
	var opts []option.ClientOption
	if cfg.BigQueryEndpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	}
	c, err := bigquery.NewClient(ctx, cfg.Project, opts...)
	if err != nil {
		return nil, fmt.Errorf("bigquery.NewClient: %w", err)
	}
	c.Location = cfg.Location
	return c, nil
}

// Storage returns a Cloud Storage client. With emulatorHost (host:port, the
// value of STORAGE_EMULATOR_HOST) it talks to that emulator without
// credentials; otherwise to Google, or to whatever STORAGE_EMULATOR_HOST
// says in the process environment, which the client honours itself.
func Storage(ctx context.Context, emulatorHost string) (*storage.Client, error) {
	var opts []option.ClientOption
	if emulatorHost != "" {
		endpoint := emulatorHost
		if !strings.Contains(endpoint, "://") {
			endpoint = "http://" + endpoint
		}
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(endpoint, "/")+"/storage/v1/"), option.WithoutAuthentication())
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("storage.NewClient: %w", err)
	}
	return c, nil
}

// Open returns the BigQuery client of cfg and the Cloud Storage client of
// lookup's STORAGE_EMULATOR_HOST (see BigQuery and Storage): what the
// functions that read both build at start.
func Open(ctx context.Context, cfg config.Google, lookup envconfig.Lookuper) (*bigquery.Client, *storage.Client, error) {
	bq, err := BigQuery(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	gcs, err := Storage(ctx, config.StorageEmulatorHost(lookup))
	if err != nil {
		return nil, nil, err
	}
	return bq, gcs, nil
}
