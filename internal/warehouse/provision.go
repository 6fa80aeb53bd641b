// Package warehouse knows the BigQuery side of hiring-pipeline: the dataset
// and the tables derived from the data dictionary.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// Provision creates the dataset and one table per dictionary table, where
// they do not exist yet; existing ones are left as they are. Terraform does
// the same in the cloud; this serves the local stack.
func Provision(ctx context.Context, client *bigquery.Client, dataset string, dict *dictionary.Dictionary) error {
	ds := client.Dataset(dataset)
	err := ds.Create(ctx, &bigquery.DatasetMetadata{
		Location:    client.Location,
		Description: "hiring-pipeline: departments, jobs and hired employees",
	})
	if err != nil && !isConflict(err) {
		return fmt.Errorf("create dataset %s: %w", dataset, err)
	}
	for _, t := range dict.Tables() {
		err := ds.Table(t.Name).Create(ctx, &bigquery.TableMetadata{Schema: t.BigQuerySchema()})
		if err != nil && !isConflict(err) {
			return fmt.Errorf("create table %s.%s: %w", dataset, t.Name, err)
		}
	}
	return nil
}

func isConflict(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}
