package ingest

import (
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// rowEncoder encodes a file's valid rows, with their ingestion columns, in
// the Avro binary encoding of the table's raw schema, from the validators'
// unboxed values: the validators encode the rows, and the encoding goroutine
// only copies them into blocks. TestRowEncoder holds its files byte for byte
// to those of avro.Writer.Write with the same rows.
type rowEncoder struct {
	// fields are the table's columns: whether each is NULLABLE and a
	// STRING (an INTEGER or TIMESTAMP is a long).
	fields []encodedField
	// ingestion is the encoding of _ingestion_id and _ingested_at, the
	// same for every row of the file; _ordinal, the line, follows.
	ingestion []byte
}

type encodedField struct{ nullable, str bool }

// newRowEncoder returns the rowEncoder of table t's rows ingested as
// ingestionID at the time at. It refuses a raw schema whose columns are not
// the table's, then _ingestion_id (STRING), _ingested_at (TIMESTAMP) and
// _ordinal (INTEGER), all REQUIRED.
func newRowEncoder(t *dictionary.Table, ingestionID string, at time.Time) (*rowEncoder, error) {
	schema := warehouse.RawSchema(t)
	want := []bigquery.FieldType{bigquery.StringFieldType, bigquery.TimestampFieldType, bigquery.IntegerFieldType}
	if len(schema) != len(t.Fields)+len(want) {
		return nil, fmt.Errorf("ingest: the raw schema of %s has %d columns for %d fields", t.Name, len(schema), len(t.Fields))
	}
	e := &rowEncoder{fields: make([]encodedField, len(t.Fields))}
	for i, c := range schema[len(t.Fields):] {
		if c.Type != want[i] || !c.Required {
			return nil, fmt.Errorf("ingest: ingestion column %s of %s is %s, want a REQUIRED %s", c.Name, t.Name, c.Type, want[i])
		}
	}
	for i, f := range t.Fields {
		c := schema[i]
		if c.Name != f.Name || c.Required != f.Required || c.Type != bigquery.FieldType(f.Type) {
			return nil, fmt.Errorf("ingest: column %d of the raw schema of %s is %s %s, not the field %s", i, t.Name, c.Name, c.Type, f.Name)
		}
		e.fields[i] = encodedField{nullable: !f.Required, str: f.Type == dictionary.String}
	}
	e.ingestion = avro.AppendLong(avro.AppendString(nil, ingestionID), at.UnixMicro())
	return e, nil
}

// append appends the encoding of a valid row, of values as
// Table.ParseRecordValues gave them, read on line.
func (e *rowEncoder) append(b []byte, values []dictionary.Value, line int64) []byte {
	for i, f := range e.fields {
		v := values[i]
		if f.nullable {
			if v.Null {
				b = avro.AppendNull(b)
				continue
			}
			b = avro.AppendNonNull(b)
		}
		if f.str {
			b = avro.AppendString(b, v.Str)
		} else {
			b = avro.AppendLong(b, v.Int)
		}
	}
	return avro.AppendLong(append(b, e.ingestion...), line)
}

// appendRejection appends the Avro binary encoding of a rejected_rows row,
// in the order and with the NULLs of warehouse.Rejection.Values.
// TestAppendRejection holds it to avro.Writer.Write of those values.
func appendRejection(b []byte, r warehouse.Rejection) []byte {
	b = avro.AppendLong(b, r.At.UnixMicro())
	b = avro.AppendString(avro.AppendString(b, r.IngestionID), r.Table)
	if r.Source == "" {
		b = avro.AppendNull(avro.AppendNull(b))
	} else {
		b = avro.AppendLong(avro.AppendNonNull(avro.AppendString(avro.AppendNonNull(b), r.Source)), r.Generation)
	}
	b = avro.AppendString(avro.AppendLong(b, r.RowNumber), r.Raw)
	if r.RawBytes == nil {
		b = avro.AppendNull(b)
	} else {
		b = avro.AppendBytes(avro.AppendNonNull(b), r.RawBytes)
	}
	b = avro.AppendString(b, r.Rule)
	if r.Field == "" {
		b = avro.AppendNull(b)
	} else {
		b = avro.AppendString(avro.AppendNonNull(b), r.Field)
	}
	b = avro.AppendLong(avro.AppendString(b, r.Message), r.ErrorCount)
	return avro.AppendString(b, r.Errors)
}

// errorsMemo keeps the errors column (warehouse.ErrorsJSON) of the last
// distinct lists of errors a validator met: the refused rows of a file
// mostly repeat a few, and the JSON encoding cost more than the rest of
// their rows. It is not safe for concurrent use.
type errorsMemo struct {
	errs [][]dictionary.FieldError
	json []string
	next int
}

// memoErrors is how many lists of errors an errorsMemo keeps.
const memoErrors = 16

// of returns the errors column of errs.
func (m *errorsMemo) of(errs []dictionary.FieldError) string {
	for i, e := range m.errs {
		if slices.Equal(e, errs) {
			return m.json[i]
		}
	}
	j := warehouse.ErrorsJSON(errs)
	if len(m.errs) < memoErrors {
		m.errs, m.json = append(m.errs, errs), append(m.json, j)
	} else {
		m.errs[m.next], m.json[m.next] = errs, j
		m.next = (m.next + 1) % memoErrors
	}
	return j
}
