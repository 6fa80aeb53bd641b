// Package schemas holds the data dictionary: one BigQuery JSON schema file per
// table, embedded so that Go code and Terraform read the same bytes.
package schemas

import "embed"

// FS holds every <table>.json schema file of this folder.
//
//go:embed *.json
var FS embed.FS
