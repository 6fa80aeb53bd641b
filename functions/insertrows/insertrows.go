// Package insertrows is the insert-rows function: the HTTPS API that takes
// batches of 1 to 1000 rows for any table of the dictionary (see package
// insert).
package insertrows

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bqwrite"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/idempotency"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
)

// Definition is insert-rows.
var Definition = function.Definition{
	Name:       "insert-rows",
	EntryPoint: "InsertRows",
	Config:     insert.Config{},
	HTTP:       New,
}

// New builds the function from HIRING_* configuration: one Storage Write
// API client and one Cloud Storage client (for the idempotency claims) for
// the instance's life.
func New(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (http.Handler, error) {
	cfg, err := config.Load[insert.Config](ctx, lookup)
	if err != nil {
		return nil, err
	}
	guard, err := auth.New(ctx, cfg.Config, logger)
	if err != nil {
		return nil, err
	}
	appender, err := bqwrite.New(ctx, cfg.Project, cfg.Dataset, cfg.StorageWriteEndpoint)
	if err != nil {
		return nil, err
	}
	gcs, err := clients.Storage(ctx, config.StorageEmulatorHost(lookup))
	if err != nil {
		return nil, err
	}
	claims, err := idempotency.New(gcs, cfg.ClaimsBucket, idempotency.Options{
		Prefix: insert.ClaimsPrefix, Lease: cfg.RequestTimeout, Retention: cfg.IdempotencyRetention})
	if err != nil {
		return nil, err
	}
	svc, err := insert.NewService(insert.Options{Dictionary: dictionary.Default(), Appender: appender, Transient: bqwrite.Transient,
		Claims: claims, MaxBodyBytes: cfg.MaxBodyBytes, Timeout: cfg.RequestTimeout, Logger: logger})
	if err != nil {
		return nil, err
	}
	return svc.Handler(guard), nil
}
