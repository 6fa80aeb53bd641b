package metrics

import (
	"embed"
	"fmt"
)

// queries holds the GoogleSQL of the metrics, one file per metric, the same
// text for BigQuery and the local emulator. Each takes an INT64 parameter
// @year and names tables without dataset: the query's default dataset is
// the configured one.
//
//go:embed sql/*.sql
var queries embed.FS

// Query returns the SQL of a metric: hires_by_quarter or
// departments_above_mean.
func Query(name string) (string, error) {
	data, err := queries.ReadFile("sql/" + name + ".sql")
	if err != nil {
		return "", fmt.Errorf("metrics: no query %q: %w", name, err)
	}
	return string(data), nil
}
