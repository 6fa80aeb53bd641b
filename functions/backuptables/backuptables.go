// Package backuptables is the backup-tables function: called by Cloud
// Scheduler (or an admin), it backs every table up to Avro in the backup
// bucket, as of one point in time (see package backup).
package backuptables

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
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
	d, err := backup.NewDeps(ctx, lookup, logger)
	if err != nil {
		return nil, err
	}
	b, err := backup.NewBackuper(d.Config, dictionary.Default(), d.BigQuery, d.Storage, logger)
	if err != nil {
		return nil, err
	}
	return backup.BackupHandler(b, d.Guard), nil
}
