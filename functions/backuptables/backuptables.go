// Package backuptables is the backup-tables function: called by Cloud
// Scheduler (or an admin), it backs every table up to Avro in the backup
// bucket, as of one point in time (see package backup).
package backuptables

import (
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// Definition is backup-tables.
var Definition = function.Definition{
	Name:       "backup-tables",
	EntryPoint: "BackupTables",
	Config:     backup.Config{},
	HTTP:       backup.NewBackupFunction,
}
