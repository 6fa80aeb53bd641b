// Package restoretable is the restore-table function: for admins, it lists
// backups and restores a table from one after verifying it (see package
// backup).
package restoretable

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// Definition is restore-table.
var Definition = function.Definition{
	Name:       "restore-table",
	EntryPoint: "RestoreTable",
	Config:     backup.Config{},
	HTTP:       New,
}

// New builds the function from HIRING_* configuration.
func New(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	cfg, err := config.Load[backup.Config](ctx, lookup)
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
	r, err := backup.NewRestorer(cfg, dictionary.Default(), bq, gcs, logger)
	if err != nil {
		return nil, err
	}
	return backup.RestoreHandler(r, guard), nil
}
