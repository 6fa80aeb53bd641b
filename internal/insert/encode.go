package insert

import (
	"fmt"
	"slices"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/bqwrite"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// rowEncoder encodes the valid rows of a table's batches, with their
// ingestion columns, into the Storage Write API messages of its raw table,
// from their unboxed values.
type rowEncoder struct {
	table *dictionary.Table
	enc   *bqwrite.Encoder
}

// newRowEncoder returns the rowEncoder of table t. It fails if the raw
// table's schema is not t's fields followed by the ingestion columns.
func newRowEncoder(t *dictionary.Table) (*rowEncoder, error) {
	schema := warehouse.RawSchema(t)
	n := len(t.Fields)
	ingestion := []string{warehouse.ColIngestionID, warehouse.ColIngestedAt, warehouse.ColOrdinal}
	if len(schema) != n+len(ingestion) {
		return nil, fmt.Errorf("insert: %s: the raw schema has %d columns, want %d", t.Name, len(schema), n+len(ingestion))
	}
	for i, name := range ingestion {
		if schema[n+i].Name != name {
			return nil, fmt.Errorf("insert: %s: raw column %d is %s, want %s", t.Name, n+i, schema[n+i].Name, name)
		}
	}
	enc, err := bqwrite.NewEncoder(schema)
	if err != nil {
		return nil, fmt.Errorf("insert: %s: %w", t.Name, err)
	}
	return &rowEncoder{table: t, enc: enc}, nil
}

// encode returns the messages of the batch's valid items, each stamped with
// ingestionID, receivedAt and its index in the batch (_ordinal). The
// messages share one buffer.
func (r *rowEncoder) encode(items []item, ingestionID string, receivedAt time.Time) ([][]byte, error) {
	n := len(r.table.Fields)
	at := receivedAt.UnixMicro()
	out := make([][]byte, 0, len(items))
	var buf []byte
	var err error
	for i := range items {
		it := &items[i]
		if it.err != nil {
			continue
		}
		if len(out) == 1 {
			// The first row's size, with a margin, sizes the rest.
			buf = slices.Grow(buf, len(buf)*(len(items)-1)*5/4)
		}
		start := len(buf)
		for f := range r.table.Fields {
			switch v := &it.values[f]; {
			case v.Null:
			case r.table.Fields[f].Type == dictionary.String:
				buf, err = r.enc.AppendString(buf, f, v.Str)
			default:
				buf, err = r.enc.AppendInt(buf, f, v.Int)
			}
			if err != nil {
				return nil, err
			}
		}
		if buf, err = r.enc.AppendString(buf, n, ingestionID); err != nil {
			return nil, err
		}
		if buf, err = r.enc.AppendInt(buf, n+1, at); err != nil {
			return nil, err
		}
		if buf, err = r.enc.AppendInt(buf, n+2, int64(i)); err != nil {
			return nil, err
		}
		out = append(out, buf[start:len(buf):len(buf)])
	}
	return out, nil
}
