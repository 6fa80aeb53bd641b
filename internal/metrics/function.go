package metrics

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

// NewFunction builds the metrics function from HIRING_* configuration.
func NewFunction(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	cfg, err := config.Load[Config](ctx, lookup)
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
	s, err := NewService(cfg, bq, logger)
	if err != nil {
		return nil, err
	}
	return s.Handler(guard), nil
}
