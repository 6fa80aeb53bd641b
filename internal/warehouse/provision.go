// Package warehouse knows the BigQuery side of hiring-pipeline: the dataset,
// the raw tables and reader views derived from the data dictionary, and the
// system tables.
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

// Provision creates the dataset, per dictionary table its raw table and
// reader view, and the system tables, where they do not exist yet; existing
// ones are left as they are. Terraform does the same in the cloud; this
// serves the local stack.
func Provision(ctx context.Context, client *bigquery.Client, dataset string, dict *dictionary.Dictionary) error {
	ds := client.Dataset(dataset)
	err := ds.Create(ctx, &bigquery.DatasetMetadata{
		Location:    client.Location,
		Description: "hiring-pipeline: departments, jobs and hired employees",
	})
	if err != nil && !isConflict(err) {
		return fmt.Errorf("create dataset %s: %w", dataset, err)
	}
	type table struct {
		name string
		md   func() (*bigquery.TableMetadata, error)
	}
	var tables []table
	for _, t := range dict.Tables() {
		tables = append(tables,
			table{RawTable(t.Name), func() (*bigquery.TableMetadata, error) {
				return TableMetadata(RawTable(t.Name), RawSchema(t), "Append-only rows of "+t.Name+"; read the view "+t.Name+".")
			}},
			table{t.Name, func() (*bigquery.TableMetadata, error) {
				return &bigquery.TableMetadata{
					ViewQuery:   ViewQuery(dataset, t),
					Description: "The latest ingested row per " + t.Key().Name + " of " + RawTable(t.Name) + ".",
				}, nil
			}})
	}
	for _, name := range []string{RejectedRows, IngestLog} {
		tables = append(tables, table{name, func() (*bigquery.TableMetadata, error) {
			return TableMetadata(name, SystemSchema(name), "")
		}})
	}
	for _, t := range tables {
		md, err := t.md()
		if err != nil {
			return err
		}
		if err := ds.Table(t.name).Create(ctx, md); err != nil && !isConflict(err) {
			return fmt.Errorf("create table %s.%s: %w", dataset, t.name, err)
		}
	}
	return nil
}

func isConflict(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}
