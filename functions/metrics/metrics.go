// Package metrics is the metrics function: the two hiring metrics as JSON
// and CSV, the visual report, and the scheduled refresh of the metric
// tables (see package internal/metrics).
package metrics

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
)

// Definition is metrics.
var Definition = function.Definition{
	Name:       "metrics",
	EntryPoint: "Metrics",
	Config:     metrics.Config{},
	HTTP:       New,
}

// New builds the function from HIRING_* configuration.
func New(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	cfg, err := config.Load[metrics.Config](ctx, lookup)
	if err != nil {
		return nil, err
	}
	guard, err := auth.New(ctx, cfg.Config, logger)
	if err != nil {
		return nil, err
	}
	bq, err := clients.BigQuery(ctx, cfg.Google)
	if err != nil {
		return nil, err
	}
	s, err := metrics.NewService(cfg, bq, logger)
	if err != nil {
		return nil, err
	}
	return s.Handler(guard), nil
}
