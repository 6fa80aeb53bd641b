package bench

import (
	"encoding/json"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// TestBatches checks that generated bodies hold valid rows of every table,
// with the keys of their batch.
func TestBatches(t *testing.T) {
	t.Parallel()
	const base, rows = 1_700_000_000_000_000, 7
	for _, table := range dictionary.Default().Tables() {
		t.Run(table.Name, func(t *testing.T) {
			t.Parallel()
			g, err := newBatches(table, base, rows)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int64{0, 1, 1000} {
				var body struct {
					Rows []json.RawMessage `json:"rows"`
				}
				if err := json.Unmarshal(g.body(n), &body); err != nil {
					t.Fatalf("batch %d is not JSON: %v\n%s", n, err, g.body(n))
				}
				if len(body.Rows) != rows {
					t.Fatalf("batch %d has %d rows, want %d", n, len(body.Rows), rows)
				}
				for i, raw := range body.Rows {
					row, rerr := table.ParseObject(int64(i), raw)
					if rerr != nil {
						t.Fatalf("batch %d row %d %s is invalid: %+v", n, i, raw, rerr.Errors)
					}
					if want := int64(base + n*rows + int64(i)); row.Key() != want {
						t.Errorf("batch %d row %d: key %v, want %d", n, i, row.Key(), want)
					}
				}
			}
		})
	}
}
