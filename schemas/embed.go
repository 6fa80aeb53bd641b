// Package schemas holds the data dictionary, one BigQuery JSON schema file
// per table, and in system/ the schemas of the pipeline's own tables, all
// embedded so that Go code and Terraform read the same bytes.
package schemas

import "embed"

// FS holds every <table>.json schema file of the dictionary at its root,
// and under system/ the system schemas, the table layout and the template
// of the reader views.
//
//go:embed *.json system/*.json system/*.sql
var FS embed.FS
