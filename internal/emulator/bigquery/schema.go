package bigquery

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"
)

// fieldTypes maps every accepted spelling of a column type to the name
// BigQuery reports and the DuckDB type that stores it.
var fieldTypes = map[string]struct{ name, duck string }{
	"INTEGER":   {"INTEGER", "BIGINT"},
	"INT64":     {"INTEGER", "BIGINT"},
	"FLOAT":     {"FLOAT", "DOUBLE"},
	"FLOAT64":   {"FLOAT", "DOUBLE"},
	"NUMERIC":   {"NUMERIC", "DECIMAL(38, 9)"},
	"BOOLEAN":   {"BOOLEAN", "BOOLEAN"},
	"BOOL":      {"BOOLEAN", "BOOLEAN"},
	"STRING":    {"STRING", "VARCHAR"},
	"BYTES":     {"BYTES", "BLOB"},
	"TIMESTAMP": {"TIMESTAMP", "TIMESTAMPTZ"},
	"DATE":      {"DATE", "DATE"},
	"DATETIME":  {"DATETIME", "TIMESTAMP"},
	"TIME":      {"TIME", "TIME"},
}

var fieldNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,299}$`)

// normalizeSchema validates a table schema and spells its types and modes as
// BigQuery reports them. It refuses what the emulator cannot store.
func normalizeSchema(s *bq.TableSchema) error {
	if s == nil || len(s.Fields) == 0 {
		return errInvalid("The emulator needs a schema with at least one field to create a table")
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if !fieldNamePattern.MatchString(f.Name) {
			return errInvalid("Invalid field name \"%s\". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.", f.Name)
		}
		if seen[strings.ToLower(f.Name)] {
			return errInvalid("Field %s already exists in schema", f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		t, ok := fieldTypes[strings.ToUpper(f.Type)]
		if !ok {
			return errInvalid("Field %s has type %s, which the emulator does not support", f.Name, f.Type)
		}
		f.Type = t.name
		switch strings.ToUpper(f.Mode) {
		case "", "NULLABLE":
			f.Mode = "NULLABLE"
		case "REQUIRED":
			f.Mode = "REQUIRED"
		default:
			return errInvalid("Field %s has mode %s, which the emulator does not support", f.Name, f.Mode)
		}
		if len(f.Fields) > 0 {
			return errInvalid("Field %s has nested fields, which the emulator does not support", f.Name)
		}
		if f.MaxLength != 0 && f.Type != "STRING" && f.Type != "BYTES" {
			return errInvalid("Field %s: maxLength is only allowed on STRING and BYTES", f.Name)
		}
		if f.MaxLength < 0 {
			return errInvalid("Field %s: maxLength must be positive", f.Name)
		}
		if f.Precision != 0 || f.Scale != 0 {
			return errInvalid("Field %s: NUMERIC precision and scale are not supported by the emulator", f.Name)
		}
	}
	return nil
}

// columnsDDL returns the column list of CREATE TABLE for a normalized schema:
// REQUIRED becomes NOT NULL, maxLength a CHECK constraint.
func columnsDDL(s *bq.TableSchema) string {
	cols := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		cols[i] = columnDDL(f)
	}
	return strings.Join(cols, ", ")
}

func columnDDL(f *bq.TableFieldSchema) string {
	col := quoteIdent(f.Name) + " " + fieldTypes[f.Type].duck
	if f.Mode == "REQUIRED" {
		col += " NOT NULL"
	}
	if f.MaxLength > 0 {
		fn := "length"
		if f.Type == "BYTES" {
			fn = "octet_length"
		}
		col += fmt.Sprintf(" CHECK (%s(%s) <= %d)", fn, quoteIdent(f.Name), f.MaxLength)
	}
	return col
}

// duckColumn is a column of a query result: the BigQuery type it reports and
// the DuckDB type it is stored as.
type duckColumn struct {
	bqType   string
	duckType string
}

// resultColumn maps a DuckDB result type to BigQuery's. ok is false for types
// BigQuery has no column for (lists, structs, maps, intervals, ...).
func resultColumn(t duckdb.Type) (duckColumn, bool) {
	switch t {
	case duckdb.TYPE_BOOLEAN:
		return duckColumn{"BOOLEAN", "BOOLEAN"}, true
	case duckdb.TYPE_TINYINT, duckdb.TYPE_SMALLINT, duckdb.TYPE_INTEGER, duckdb.TYPE_BIGINT,
		duckdb.TYPE_UTINYINT, duckdb.TYPE_USMALLINT, duckdb.TYPE_UINTEGER, duckdb.TYPE_UBIGINT,
		duckdb.TYPE_HUGEINT, duckdb.TYPE_UHUGEINT, duckdb.TYPE_SQLNULL:
		return duckColumn{"INTEGER", "BIGINT"}, true
	case duckdb.TYPE_FLOAT, duckdb.TYPE_DOUBLE:
		return duckColumn{"FLOAT", "DOUBLE"}, true
	case duckdb.TYPE_DECIMAL:
		return duckColumn{"NUMERIC", "DECIMAL(38, 9)"}, true
	case duckdb.TYPE_VARCHAR, duckdb.TYPE_ENUM, duckdb.TYPE_UUID:
		return duckColumn{"STRING", "VARCHAR"}, true
	case duckdb.TYPE_BLOB:
		return duckColumn{"BYTES", "BLOB"}, true
	case duckdb.TYPE_DATE:
		return duckColumn{"DATE", "DATE"}, true
	case duckdb.TYPE_TIME:
		return duckColumn{"TIME", "TIME"}, true
	case duckdb.TYPE_TIMESTAMP, duckdb.TYPE_TIMESTAMP_S, duckdb.TYPE_TIMESTAMP_MS, duckdb.TYPE_TIMESTAMP_NS:
		return duckColumn{"DATETIME", "TIMESTAMP"}, true
	case duckdb.TYPE_TIMESTAMP_TZ:
		return duckColumn{"TIMESTAMP", "TIMESTAMPTZ"}, true
	}
	return duckColumn{}, false
}
