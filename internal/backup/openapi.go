package backup

import (
	"net/http"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

type obj = httpapi.Object

var manifestSchema = obj{
	"type":     "object",
	"required": []string{"backup_id", "snapshot_time", "completed_at", "project", "dataset", "codec", "tool_version", "tables"},
	"properties": obj{
		"backup_id": obj{"type": "string", "description": "The backup's UTC time, " + IDLayout + ", so that ids sort by time; " +
			"a backup of some of the tables adds - and 8 hex digits that name the set."},
		"snapshot_time": obj{"type": "string", "format": "date-time", "description": "Every table is exported as of this time."},
		"completed_at":  obj{"type": "string", "format": "date-time"},
		"project":       obj{"type": "string"},
		"dataset":       obj{"type": "string"},
		"codec":         obj{"type": "string", "enum": []string{"NONE", "DEFLATE", "SNAPPY"}},
		"tool_version":  obj{"type": "string"},
		"tables": obj{"type": "array", "items": obj{
			"type":     "object",
			"required": []string{"table", "source", "schema", "rows", "files", "copy_job_id", "extract_job_id"},
			"properties": obj{
				"table":  obj{"type": "string"},
				"source": obj{"type": "string", "description": "The raw table that was exported."},
				"schema": obj{"type": "array", "items": obj{"type": "object"}, "description": "BigQuery JSON schema of the source."},
				"rows":   obj{"type": "integer"},
				"files": obj{"type": "array", "items": obj{
					"type":     "object",
					"required": []string{"uri", "bytes", "crc32c"},
					"properties": obj{
						"uri":    obj{"type": "string"},
						"bytes":  obj{"type": "integer"},
						"crc32c": obj{"type": "integer", "description": "CRC32C (Castagnoli) of the object."},
						"generation": obj{"type": "integer", "description": "The object's generation at backup time; a restore loads only it. " +
							"Absent from backups of older builds."},
					},
				}},
				"copy_job_id":    obj{"type": "string"},
				"extract_job_id": obj{"type": "string"},
			},
		}},
	},
}

// BackupOpenAPI returns the OpenAPI 3 document of backup-tables.
func BackupOpenAPI() map[string]any {
	responses := httpapi.Problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusInternalServerError)
	responses["200"] = httpapi.JSONResponse("The backup of this scheduled time was already complete: its manifest.", httpapi.Ref("Manifest"))
	responses["201"] = httpapi.JSONResponse("The backup is complete: its manifest.", httpapi.Ref("Manifest"))
	paths := obj{"/": obj{
		"post": obj{
			"summary":     "Back up every table (or those named) as of one point in time, to Avro files and a manifest in the backup bucket.",
			"operationId": "backup",
			"parameters": []any{obj{"name": ScheduleTimeHeader, "in": "header", "schema": obj{"type": "string", "format": "date-time"},
				"description": "Sent by Cloud Scheduler: the backup id and the snapshot time derive from it, so a retried run finds the same backup."}},
			"requestBody": obj{"required": false, "content": obj{"application/json": obj{"schema": obj{
				"type": "object", "additionalProperties": false,
				"properties": obj{"tables": obj{"type": "array", "items": obj{"type": "string"}, "description": "Tables to back up; default all."}},
			}}}},
			"responses": responses,
		},
		"get": obj{"summary": "Not allowed: use POST.", "operationId": "backupGet", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
	}}
	return httpapi.OpenAPI("hiring-pipeline backup-tables",
		"Backs the tables up to Avro in Cloud Storage, all as of one point in time, with a manifest written last. "+
			"Problem codes: malformed_body, invalid_schedule_time, unknown_table, unauthenticated, forbidden, method_not_allowed, not_found, body_too_large (over 64 KiB), internal (500, generic, with an error_id).",
		"admin", paths, obj{"Manifest": manifestSchema})
}

// RestoreOpenAPI returns the OpenAPI 3 document of restore-table.
func RestoreOpenAPI() map[string]any {
	list := httpapi.Problems(http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusInternalServerError)
	list["200"] = httpapi.JSONResponse("The backups with a manifest, newest first; those whose manifest is corrupt are listed with status corrupt.", obj{
		"type": "object", "required": []string{"backups"},
		"properties": obj{"backups": obj{"type": "array", "items": httpapi.Ref("Summary")}},
	})
	restore := httpapi.Problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusInternalServerError)
	restore["200"] = httpapi.JSONResponse("The backup was verified and, unless a dry run, loaded.", httpapi.Ref("RestoreResult"))
	paths := obj{
		"/backups": obj{
			"get": obj{
				"summary":     "List the backups: complete ones, and corrupt ones with the reason.",
				"operationId": "listBackups",
				"parameters":  []any{obj{"name": "table", "in": "query", "schema": obj{"type": "string"}, "description": "Only backups that hold this table."}},
				"responses":   list,
			},
			"post": obj{"summary": "Not allowed: use GET.", "operationId": "listBackupsPost", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
		},
		"/restore": obj{
			"post": obj{
				"summary": "Verify a backup of a table (every file in the backup's own folder, with the manifest's size, CRC32C and generation; " +
					"Avro schema; row count), load it into a staging table, check the rows loaded and that no file changed, and only then replace " +
					"the table's rows (or create target_table) with one atomic copy job. A failed check changes nothing. Job ids derive from " +
					"the restore, so a retry adopts its jobs.",
				"operationId": "restore",
				"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": obj{
					"type": "object", "additionalProperties": false, "required": []string{"table", "backup_id"},
					"properties": obj{
						"table":     obj{"type": "string"},
						"backup_id": obj{"type": "string", "description": "A backup id, or latest: the newest backup that holds the table and whose manifest is readable."},
						"dry_run":   obj{"type": "boolean", "default": false},
						"target_table": obj{"type": "string", "description": "Create this new table of the dataset instead, for inspection: its name must start with " + TargetPrefix +
							"; another name answers 400 invalid_target_table, an existing table 400 target_table_exists."},
					},
				}}}},
				"responses": restore,
			},
			"get": obj{"summary": "Not allowed: use POST.", "operationId": "restoreGet", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
		},
	}
	schemas := obj{
		"Summary": obj{
			"type": "object", "required": []string{"backup_id", "status", "tables"},
			"properties": obj{
				"backup_id": obj{"type": "string"},
				"status": obj{"type": "string", "enum": []string{StatusComplete, StatusCorrupt},
					"description": "complete: the manifest is readable. corrupt: it is not (not JSON, or about another backup); such a backup has no times " +
						"nor tables, cannot be restored, and latest skips it."},
				"reason":        obj{"type": "string", "description": "For a corrupt backup, what is wrong, in generic terms, e.g. manifest.json is not valid JSON."},
				"snapshot_time": obj{"type": "string", "format": "date-time", "description": "Absent for a corrupt backup."},
				"completed_at":  obj{"type": "string", "format": "date-time", "description": "Absent for a corrupt backup."},
				"tables": obj{"type": "array", "items": obj{
					"type": "object", "required": []string{"table", "rows", "files", "bytes"},
					"properties": obj{"table": obj{"type": "string"}, "rows": obj{"type": "integer"}, "files": obj{"type": "integer"}, "bytes": obj{"type": "integer"}},
				}},
			},
		},
		"RestoreResult": obj{
			"type": "object",
			"required": []string{"table", "backup_id", "snapshot_time", "target", "dry_run", "files", "bytes", "rows", "rows_loaded",
				"checks", "verify_ms", "load_ms"},
			"properties": obj{
				"table":         obj{"type": "string"},
				"backup_id":     obj{"type": "string"},
				"snapshot_time": obj{"type": "string", "format": "date-time"},
				"target":        obj{"type": "string", "description": "The table that received the rows."},
				"dry_run":       obj{"type": "boolean"},
				"files":         obj{"type": "integer"},
				"bytes":         obj{"type": "integer"},
				"rows":          obj{"type": "integer", "description": "Rows in the backup's files."},
				"rows_loaded":   obj{"type": "integer", "description": "Rows the load job wrote; 0 for a dry run."},
				"checks":        obj{"type": "array", "items": obj{"type": "string"}},
				"load_job_id":   obj{"type": "string"},
				"verify_ms":     obj{"type": "integer"},
				"load_ms":       obj{"type": "integer"},
			},
		},
	}
	return httpapi.OpenAPI("hiring-pipeline restore-table",
		"Lists backups and restores a table from one, after verifying it. "+
			"Problem codes: malformed_body, invalid_backup_id, invalid_target_table, target_table_exists, unknown_table, unknown_backup, "+
			"table_not_in_backup, backup_corrupt (422: an unreadable manifest, a file outside the backup's folder, missing, replaced or not "+
			"decoding), count_mismatch, schema_mismatch, load_failed and copy_failed (422: the job ran and failed; the logs have its error), "+
			"backup_changed (409: a file changed during the restore), target_table_used (409: an earlier restore of this backup made that "+
			"table, dropped since), unauthenticated, forbidden, method_not_allowed, not_found, body_too_large (over 64 KiB), "+
			"internal (500, generic, with an error_id).",
		"admin", paths, schemas)
}
