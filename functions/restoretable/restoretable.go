// Package restoretable is the restore-table function: for admins, it lists
// backups and restores a table from one after verifying it (see package
// backup).
package restoretable

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
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
	d, err := backup.NewDeps(ctx, lookup, logger)
	if err != nil {
		return nil, err
	}
	r, err := backup.NewRestorer(d.Config, dictionary.Default(), d.BigQuery, d.Storage, logger)
	if err != nil {
		return nil, err
	}
	return backup.RestoreHandler(r, d.Guard), nil
}
