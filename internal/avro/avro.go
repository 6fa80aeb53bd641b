// Package avro writes rows of a BigQuery schema as Avro object container
// files that BigQuery loads with useAvroLogicalTypes: the Avro schema is
// derived from the BigQuery one, never written by hand.
package avro

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/linkedin/goavro/v2"
)

// Codecs are the block compressions BigQuery reads.
const (
	CodecNull    = goavro.CompressionNullLabel
	CodecDeflate = goavro.CompressionDeflateLabel
	CodecSnappy  = goavro.CompressionSnappyLabel
)

// avroTypes maps BigQuery column types to Avro types with logical types.
var avroTypes = map[bigquery.FieldType]any{
	bigquery.IntegerFieldType:   "long",
	bigquery.FloatFieldType:     "double",
	bigquery.BooleanFieldType:   "boolean",
	bigquery.StringFieldType:    "string",
	bigquery.BytesFieldType:     "bytes",
	bigquery.TimestampFieldType: map[string]string{"type": "long", "logicalType": "timestamp-micros"},
	bigquery.DateFieldType:      map[string]string{"type": "int", "logicalType": "date"},
}

// Schema returns the Avro schema of a BigQuery schema as a record named
// name: REQUIRED columns as their type, NULLABLE ones as a union with null.
func Schema(name string, s bigquery.Schema) (string, error) {
	type field struct {
		Name string `json:"name"`
		Type any    `json:"type"`
		Doc  string `json:"doc,omitempty"`
	}
	fields := make([]field, len(s))
	for i, f := range s {
		t, ok := avroTypes[f.Type]
		if !ok || f.Repeated || len(f.Schema) > 0 {
			return "", fmt.Errorf("avro.Schema: column %s of type %s has no Avro mapping here", f.Name, f.Type)
		}
		if !f.Required {
			t = []any{"null", t}
		}
		fields[i] = field{Name: f.Name, Type: t, Doc: f.Description}
	}
	data, err := json.Marshal(map[string]any{"type": "record", "name": name, "fields": fields})
	if err != nil {
		return "", fmt.Errorf("avro.Schema: %w", err)
	}
	return string(data), nil
}

// batchRows is the number of rows per Avro block.
const batchRows = 4096

// Writer writes rows to an Avro object container file. It is not safe for
// concurrent use.
type Writer struct {
	ocf    *goavro.OCFWriter
	fields []column
	batch  []any
	rows   int64
}

type column struct {
	name     string
	nullable bool
	union    string // the union branch name of a NULLABLE column
}

// NewWriter starts a container file on w for rows of schema, compressed with
// codec (CodecNull, CodecDeflate or CodecSnappy). The file's sync marker is
// derived from seed, so the same rows and seed give the same bytes.
func NewWriter(w io.Writer, name string, schema bigquery.Schema, codec, seed string) (*Writer, error) {
	js, err := Schema(name, schema)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(seed))
	var marker [16]byte
	copy(marker[:], sum[:])
	ocf, err := goavro.NewOCFWriter(goavro.OCFConfig{W: w, Schema: js, CompressionName: codec, SyncMarker: marker})
	if err != nil {
		return nil, fmt.Errorf("goavro.NewOCFWriter: %w", err)
	}
	cols := make([]column, len(schema))
	for i, f := range schema {
		c := column{name: f.Name, nullable: !f.Required}
		switch t := avroTypes[f.Type].(type) {
		case string:
			c.union = t
		case map[string]string:
			c.union = t["type"] + "." + t["logicalType"]
		}
		cols[i] = c
	}
	return &Writer{ocf: ocf, fields: cols, batch: make([]any, 0, batchRows)}, nil
}

// Write adds a row: one value per column in schema order, as int64, float64,
// bool, string, []byte or time.Time, or nil for NULL in a NULLABLE column.
func (w *Writer) Write(values []any) error {
	if len(values) != len(w.fields) {
		return fmt.Errorf("avro.Writer: %d values for %d columns", len(values), len(w.fields))
	}
	rec := make(map[string]any, len(values))
	for i, c := range w.fields {
		v := values[i]
		if t, ok := v.(time.Time); ok {
			v = t.UTC()
		}
		if c.nullable && v != nil {
			v = goavro.Union(c.union, v)
		}
		rec[c.name] = v
	}
	w.batch = append(w.batch, rec)
	w.rows++
	if len(w.batch) == batchRows {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.ocf.Append(w.batch); err != nil {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	clear(w.batch)
	w.batch = w.batch[:0]
	return nil
}

// Rows returns how many rows were written.
func (w *Writer) Rows() int64 { return w.rows }

// Close writes the rows not yet written. It does not close the underlying
// writer.
func (w *Writer) Close() error { return w.flush() }
