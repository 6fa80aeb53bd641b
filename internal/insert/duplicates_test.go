package insert

import (
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestRefuseDuplicates checks the first valid row with a key wins, for an
// INTEGER key and for a STRING one, and that refused rows do not count:
// after keys that rise, as ids mostly do, and after keys that do not.
func TestRefuseDuplicates(t *testing.T) {
	t.Parallel()
	codes := testutil.Table(t, "codes", `[
		{"name": "code", "type": "STRING", "mode": "REQUIRED"},
		{"name": "n", "type": "INTEGER"}
	]`)
	jobs, _ := dictionary.Default().Table("jobs")
	cases := []struct {
		table *dictionary.Table
		body  string
		want  []any // per row: nil when valid, else the refusal's key
	}{
		{jobs, `{"rows": [{"id": 1, "job": "a"}, {"id": 2, "job": "b"}, {"id": 1, "job": "c"}, {"id": "1", "job": "d"}, {"id": 2, "job": "e"}]}`,
			[]any{nil, nil, int64(1), nil, int64(2)}},
		{jobs, `{"rows": [{"id": 1, "job": "a"}, {"id": 3, "job": "b"}, {"id": 3, "job": "c"}, {"id": 2, "job": "d"}, {"id": 4, "job": "e"}, {"id": 2, "job": "f"}]}`,
			[]any{nil, nil, int64(3), nil, nil, int64(2)}},
		{jobs, `{"rows": [{"id": 5, "job": "a"}, {"id": 2, "job": "b"}, {"id": 7, "job": "c"}, {"id": 5, "job": "d"}]}`,
			[]any{nil, nil, nil, int64(5)}},
		{jobs, `{"rows": [{"id": 1, "job": "a"}, {"id": 2, "job": "b"}, {"id": 3, "job": "c"}]}`,
			[]any{nil, nil, nil}},
		{codes, `{"rows": [{"code": "x"}, {"code": "x", "n": "bad"}, {"code": "y"}, {"code": "x"}, {"code": "X"}]}`,
			[]any{nil, "x", nil, "x", nil}},
	}
	for _, c := range cases {
		items, err := parseJSON(c.table, []byte(c.body), newRows(c.table))
		if err != nil {
			t.Fatal(err)
		}
		invalid := make([]bool, len(items))
		for i := range items {
			invalid[i] = items[i].err != nil
		}
		refuseDuplicates(c.table, items)
		for i, it := range items {
			dup := it.err != nil && it.err.Errors[0].Rule == dictionary.RuleDuplicateInBatch
			switch {
			case invalid[i] && c.want[i] == nil:
				if dup {
					t.Errorf("%s row %d: an invalid row refused as a duplicate", c.table.Name, i)
				}
				continue
			case invalid[i]:
				if it.err.Key != c.want[i] {
					t.Errorf("%s row %d: key %v, want %v", c.table.Name, i, it.err.Key, c.want[i])
				}
				continue
			}
			if (c.want[i] != nil) != dup || dup && it.err.Key != c.want[i] || dup != (it.values == nil) {
				t.Errorf("%s row %d: refused %v (%+v), want the key %v refused", c.table.Name, i, dup, it.err, c.want[i])
			}
		}
	}
}
