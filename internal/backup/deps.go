package backup

import (
	"context"
	"log/slog"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

// Deps are what backup-tables and restore-table both build from HIRING_*
// configuration at start.
type Deps struct {
	Config   Config
	Guard    *auth.Guard
	BigQuery *bigquery.Client
	Storage  *storage.Client
}

// NewDeps builds Deps from the configuration found by lookup.
func NewDeps(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (*Deps, error) {
	cfg, err := config.Load[Config](ctx, lookup)
	if err != nil {
		return nil, err
	}
	guard, err := auth.New(ctx, cfg.Config, logger)
	if err != nil {
		return nil, err
	}
	bq, gcs, err := clients.Open(ctx, cfg.Google, lookup)
	if err != nil {
		return nil, err
	}
	return &Deps{Config: cfg, Guard: guard, BigQuery: bq, Storage: gcs}, nil
}
