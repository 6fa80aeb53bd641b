// Package metrics is the metrics function: the two hiring metrics as JSON
// and CSV, the visual report, and the scheduled refresh of the metric
// tables (see package internal/metrics).
package metrics

import (
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
)

// Definition is metrics.
var Definition = function.Definition{
	Name:       "metrics",
	EntryPoint: "Metrics",
	Config:     metrics.Config{},
	HTTP:       metrics.NewFunction,
}
