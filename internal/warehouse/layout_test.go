package warehouse_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

func TestSystemSchemas(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ingestion_columns", warehouse.RejectedRows, warehouse.IngestLog} {
		s := warehouse.SystemSchema(name)
		if len(s) == 0 {
			t.Errorf("%s: empty schema", name)
		}
		for _, f := range s {
			if f.Description == "" {
				t.Errorf("%s.%s has no description", name, f.Name)
			}
		}
	}
}

func TestRawSchema(t *testing.T) {
	t.Parallel()
	for _, tbl := range dictionary.Default().Tables() {
		s := warehouse.RawSchema(tbl)
		var names []string
		for _, f := range s {
			names = append(names, f.Name)
		}
		want := append(tbl.ColumnNames(), warehouse.ColIngestionID, warehouse.ColIngestedAt, warehouse.ColOrdinal)
		if !slices.Equal(names, want) {
			t.Errorf("%s: columns %v, want %v", tbl.Name, names, want)
		}
	}
}

// TestLayout checks that every partitioning and clustering field of the
// layout file exists in its table.
func TestLayout(t *testing.T) {
	t.Parallel()
	tables := map[string][]string{}
	for _, tbl := range dictionary.Default().Tables() {
		for _, f := range warehouse.RawSchema(tbl) {
			tables[warehouse.RawTable(tbl.Name)] = append(tables[warehouse.RawTable(tbl.Name)], f.Name)
		}
	}
	for _, name := range []string{warehouse.RejectedRows, warehouse.IngestLog} {
		for _, f := range warehouse.SystemSchema(name) {
			tables[name] = append(tables[name], f.Name)
		}
	}
	for name, cols := range tables {
		md, err := warehouse.TableMetadata(name, nil, "")
		if err != nil {
			t.Fatalf("TableMetadata(%s): %v", name, err)
		}
		if p := md.TimePartitioning; p != nil && !slices.Contains(cols, p.Field) {
			t.Errorf("%s is partitioned by %s, which it lacks", name, p.Field)
		}
		if c := md.Clustering; c != nil {
			for _, f := range c.Fields {
				if !slices.Contains(cols, f) {
					t.Errorf("%s is clustered by %s, which it lacks", name, f)
				}
			}
		}
	}
	md, err := warehouse.TableMetadata("hired_employees_raw", nil, "")
	if err != nil || md.TimePartitioning == nil || md.TimePartitioning.Field != "datetime" {
		t.Errorf("hired_employees_raw partitioning = %+v, %v; want by datetime", md, err)
	}
}

func TestViewQuery(t *testing.T) {
	t.Parallel()
	tbl, _ := dictionary.Default().Table("jobs")
	q := warehouse.ViewQuery("hiring", tbl)
	if strings.Contains(q, "${") {
		t.Errorf("view query %q has a placeholder left", q)
	}
	for _, want := range []string{"SELECT id, job\n", "FROM `hiring.jobs_raw`", "PARTITION BY id ORDER BY _ingested_at DESC"} {
		if !strings.Contains(q, want) {
			t.Errorf("view query %q lacks %q", q, want)
		}
	}
}

func TestTableMetadata_rejectedRowsExpire(t *testing.T) {
	t.Parallel()
	md, err := warehouse.TableMetadata(warehouse.RejectedRows, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := md.TimePartitioning; p == nil || p.Expiration != 90*24*time.Hour {
		t.Errorf("rejected_rows partitioning = %+v, want partitions expiring after 90 days", p)
	}
}
