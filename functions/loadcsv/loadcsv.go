// Package loadcsv is the load-csv function: a Cloud Storage "object
// finalized" event in the landing bucket loads that CSV file into BigQuery
// (see package ingest).
package loadcsv

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/sethvargo/go-envconfig"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
)

// FinalizedType is the CloudEvent type Eventarc sends for a new object.
const FinalizedType = "google.cloud.storage.object.v1.finalized"

// Definition is load-csv, triggered by the landing bucket.
var Definition = function.Definition{
	Name:          "load-csv",
	EntryPoint:    "LoadCSV",
	TriggerBucket: "landing",
	Config:        ingest.Config{},
	Event:         New,
}

// New builds the function from HIRING_* configuration.
func New(ctx context.Context, lookup envconfig.Lookuper, logger *slog.Logger) (function.EventHandler, error) {
	cfg, err := config.Load[ingest.Config](ctx, lookup)
	if err != nil {
		return nil, err
	}
	bq, err := clients.BigQuery(ctx, cfg.Google)
	if err != nil {
		return nil, err
	}
	gcs, err := clients.Storage(ctx, config.StorageEmulatorHost(lookup))
	if err != nil {
		return nil, err
	}
	loader, err := ingest.NewLoader(cfg, dictionary.Default(), bq, gcs, logger)
	if err != nil {
		return nil, err
	}
	return Handler(loader, logger), nil
}

// Handler decodes finalized events and loads their objects. Events of other
// types and payloads that do not decode are logged and acknowledged;
// transient load failures return an error so that Eventarc retries.
func Handler(loader *ingest.Loader, logger *slog.Logger) function.EventHandler {
	return func(ctx context.Context, e event.Event) error {
		if e.Type() != FinalizedType {
			logger.Info("event ignored: not an object finalized event", "event_type", e.Type(), "event_id", e.ID())
			return nil
		}
		o, err := Decode(e.Data())
		if err != nil {
			logger.Error("event ignored: its payload is not a Cloud Storage object", "event_id", e.ID(), "error", err)
			return nil
		}
		_, err = loader.Load(ctx, o)
		return err
	}
}

// objectData is the payload of a Cloud Storage event, decoded leniently:
// unknown fields are ignored, and generation and size may be JSON strings
// (as Eventarc sends them) or numbers.
type objectData struct {
	Bucket          string    `json:"bucket"`
	Name            string    `json:"name"`
	Generation      flexInt   `json:"generation"`
	Size            flexInt   `json:"size"`
	ContentType     string    `json:"contentType"`
	ContentEncoding string    `json:"contentEncoding"`
	TimeCreated     time.Time `json:"timeCreated"`
}

type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = flexInt(v)
	return nil
}

// Decode reads the object of a Cloud Storage event payload.
func Decode(data []byte) (ingest.Object, error) {
	var d objectData
	if err := json.Unmarshal(data, &d); err != nil {
		return ingest.Object{}, fmt.Errorf("loadcsv.Decode: %w", err)
	}
	if d.Bucket == "" || d.Name == "" || d.Generation <= 0 {
		return ingest.Object{}, fmt.Errorf("loadcsv.Decode: bucket, name and a positive generation are required, got %q, %q, %d", d.Bucket, d.Name, d.Generation)
	}
	return ingest.Object{
		Bucket: d.Bucket, Name: d.Name, Generation: int64(d.Generation), Size: int64(d.Size),
		ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, Created: d.TimeCreated,
	}, nil
}
