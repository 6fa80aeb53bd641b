// Package backuptables is the backup-tables function: called by Cloud
// Scheduler (or an admin), it backs every table up to Avro in the backup
// bucket, as of one point in time (see package backup).
package backuptables

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

// Definition is backup-tables.
var Definition = function.Definition{
	Name:       "backup-tables",
	EntryPoint: "BackupTables",
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
	b, err := backup.NewBackuper(cfg, dictionary.Default(), bq, gcs, logger)
	if err != nil {
		return nil, err
	}
	return backup.BackupHandler(b, guard), nil
}
