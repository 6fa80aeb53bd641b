package warehouse_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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

// checkErrorsJSON checks that ErrorsJSON says what encoding/json says of
// errs: the same members and values, invalid UTF-8 replaced alike.
func checkErrorsJSON(t *testing.T, errs []dictionary.FieldError) {
	t.Helper()
	want, err := json.Marshal(errs)
	if err != nil {
		t.Fatal(err)
	}
	got := warehouse.ErrorsJSON(errs)
	var g, w []map[string]string
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("ErrorsJSON(%q) = %s: %v", errs, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Fatalf("ErrorsJSON(%q) = %s, encoding/json %s (-encoding/json +ErrorsJSON):\n%s", errs, got, want, diff)
	}
}

// TestErrorsJSON holds ErrorsJSON to encoding/json: no field, several
// errors, characters JSON escapes and invalid UTF-8.
func TestErrorsJSON(t *testing.T) {
	t.Parallel()
	cases := [][]dictionary.FieldError{
		{},
		{{Rule: dictionary.RuleFieldCount, Message: "expected 2 fields (id, job), got 3"}},
		{{Field: "id", Rule: dictionary.RuleType, Message: "not an integer"}, {Field: "name", Rule: dictionary.RuleTooLong, Message: "has 300 characters, at most 255 allowed"}},
		{{Field: "a\"b\\c\n\t<&>\u2028\x01", Rule: "r", Message: "é\xff\xfe end"}},
	}
	for _, errs := range cases {
		checkErrorsJSON(t, errs)
	}
}

// FuzzErrorsJSON holds ErrorsJSON to encoding/json on any strings.
func FuzzErrorsJSON(f *testing.F) {
	f.Add("id", "type", "not an integer", "", "field_count", "got 3")
	f.Add("a\"<\x00", "\xff", "\u2028", "b", "c", "d\\")
	f.Fuzz(func(t *testing.T, f1, r1, m1, f2, r2, m2 string) {
		checkErrorsJSON(t, []dictionary.FieldError{{Field: f1, Rule: dictionary.Rule(r1), Message: m1}, {Field: f2, Rule: dictionary.Rule(r2), Message: m2}})
	})
}
