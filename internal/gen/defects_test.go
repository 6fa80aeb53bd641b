package gen

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// TestDefects applies every variant of every defect to every column it
// applies to, and reads the row back through dictionary.Reader: it must be
// rejected with exactly the defect's rule.
func TestDefects(t *testing.T) {
	t.Parallel()
	opts := Options{Dir: t.TempDir(), Rows: 1, Departments: 12, Jobs: 183, Seed: 1}
	for _, tbl := range dictionary.Default().Tables() {
		g, err := newFileGen(opts, tbl, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range g.defects {
			for _, column := range d.columns {
				for variant := range d.variants {
					name := fmt.Sprintf("%s/%s/%s/%d", tbl.Name, d.rule, tbl.Fields[column].Name, variant)
					row := make([][]byte, len(g.values))
					for i, value := range g.values {
						row[i] = value(g, 3, nil)
					}
					row = d.apply(g, row, column, variant)
					line := append(bytes.Join(row, []byte(",")), "\r\n"...)
					want := dictionary.FieldError{Field: tbl.Fields[column].Name, Rule: d.rule}
					if d.rule == dictionary.RuleFieldCount || d.rule == dictionary.RuleMalformed {
						want.Field = ""
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						rec, err := tbl.NewReader(bytes.NewReader(line)).Next()
						if err != nil {
							t.Fatalf("Next: %v", err)
						}
						if rec.Err == nil || len(rec.Err.Errors) != 1 {
							t.Fatalf("%q: got %v, want exactly one error %s", line, rec.Err, want.Rule)
						}
						got := rec.Err.Errors[0]
						got.Message = ""
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("%q: error mismatch (-want +got):\n%s", line, diff)
						}
					})
				}
			}
		}
	}
}

func TestDefectsFor(t *testing.T) {
	t.Parallel()
	cases := []struct {
		table string
		want  []dictionary.Rule
	}{
		{"departments", []dictionary.Rule{"required", "type", "range", "too_long", "encoding", "field_count", "malformed"}},
		{"jobs", []dictionary.Rule{"required", "type", "range", "too_long", "encoding", "field_count", "malformed"}},
		{"hired_employees", []dictionary.Rule{"required", "type", "range", "format", "too_long", "encoding", "field_count", "malformed"}},
	}
	for _, tc := range cases {
		t.Run(tc.table, func(t *testing.T) {
			t.Parallel()
			tbl, _ := dictionary.Default().Table(tc.table)
			var got []dictionary.Rule
			for _, d := range defectsFor(tbl) {
				got = append(got, d.rule)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rules mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
