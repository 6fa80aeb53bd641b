package backup

import (
	"context"
	"log/slog"
	"net/http"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// deps are what both functions build from their configuration.
type deps struct {
	cfg   Config
	guard *auth.Guard
	bq    *bigquery.Client
	gcs   *storage.Client
}

func newDeps(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (*deps, error) {
	cfg, err := config.Load[Config](ctx, lookup)
	if err != nil {
		return nil, err
	}
	guard, err := auth.New(ctx, cfg.Config, logger)
	if err != nil {
		return nil, err
	}
	bq, err := clients.BigQuery(ctx, cfg.Google)
	if err != nil {
		return nil, err
	}
	gcs, err := clients.Storage(ctx, config.StorageEmulatorHost(lookup))
	if err != nil {
		return nil, err
	}
	return &deps{cfg: cfg, guard: guard, bq: bq, gcs: gcs}, nil
}

// NewBackupFunction builds backup-tables from HIRING_* configuration.
func NewBackupFunction(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	d, err := newDeps(ctx, lookup, logger)
	if err != nil {
		return nil, err
	}
	b, err := NewBackuper(d.cfg, dictionary.Default(), d.bq, d.gcs, logger)
	if err != nil {
		return nil, err
	}
	return BackupHandler(b, d.guard), nil
}

// NewRestoreFunction builds restore-table from HIRING_* configuration.
func NewRestoreFunction(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	d, err := newDeps(ctx, lookup, logger)
	if err != nil {
		return nil, err
	}
	r, err := NewRestorer(d.cfg, dictionary.Default(), d.bq, d.gcs, logger)
	if err != nil {
		return nil, err
	}
	return RestoreHandler(r, d.guard), nil
}
