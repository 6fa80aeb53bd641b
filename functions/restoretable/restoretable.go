// Package restoretable is the restore-table function: for admins, it lists
// backups and restores a table from one after verifying it (see package
// backup).
package restoretable

import (
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// Definition is restore-table.
var Definition = function.Definition{
	Name:       "restore-table",
	EntryPoint: "RestoreTable",
	Config:     backup.Config{},
	HTTP:       backup.NewRestoreFunction,
}
