package insert

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bqwrite"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// TestRowEncoder holds the messages of valid rows encoded from their
// unboxed values to bqwrite.Encoder.EncodeRows of the same rows boxed, with
// the ingestion columns: byte for byte, over the default tables and a table
// of NULLABLE fields of each type, refused rows in between.
func TestRowEncoder(t *testing.T) {
	t.Parallel()
	people := testutil.Table(t, "people", `[
		{"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
		{"name": "nick", "type": "STRING"},
		{"name": "seen", "type": "TIMESTAMP"},
		{"name": "score", "type": "INTEGER"}
	]`)
	rng := rand.New(rand.NewPCG(14, 3))
	value := func(f dictionary.Field) dictionary.Value {
		if !f.Required && rng.IntN(4) == 0 {
			return dictionary.Value{Null: true}
		}
		switch f.Type {
		case dictionary.String:
			return dictionary.Value{Str: strings.Repeat([]string{"a", "é", "Ann Bo", "\x00"}[rng.IntN(4)], rng.IntN(200))}
		case dictionary.Timestamp:
			return dictionary.Value{Int: rng.Int64N(253402300800000000) - 62135596800000000}
		default:
			return dictionary.Value{Int: []int64{0, 1, 127, 128, -1, math.MaxInt64, math.MinInt64, rng.Int64()}[rng.IntN(8)]}
		}
	}
	at := time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
	for _, tbl := range append(dictionary.Default().Tables(), people) {
		enc, err := newRowEncoder(tbl)
		if err != nil {
			t.Fatal(err)
		}
		boxed, err := bqwrite.NewEncoder(warehouse.RawSchema(tbl))
		if err != nil {
			t.Fatal(err)
		}
		items := make([]item, 300)
		var rows [][]any
		for i := range items {
			if rng.IntN(5) == 0 {
				items[i].err = &dictionary.RowError{Table: tbl.Name, Row: int64(i)}
				continue
			}
			items[i].values = make([]dictionary.Value, len(tbl.Fields))
			for f := range tbl.Fields {
				items[i].values[f] = value(tbl.Fields[f])
			}
			rows = append(rows, append(tbl.RowOf(items[i].values).Values, "api:"+tbl.Name+":k", at, int64(i)))
		}
		got, err := enc.encode(items, "api:"+tbl.Name+":k", at)
		if err != nil {
			t.Fatalf("table %s: encode: %v", tbl.Name, err)
		}
		want, err := boxed.EncodeRows(rows)
		if err != nil {
			t.Fatalf("table %s: EncodeRows: %v", tbl.Name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("table %s: %d messages, want %d", tbl.Name, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("table %s, valid row %d (%v): typed %x, boxed %x", tbl.Name, i, rows[i], got[i], want[i])
			}
		}
	}
}
