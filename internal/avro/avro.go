// Package avro writes rows of a BigQuery schema as Avro object container
// files that BigQuery loads with useAvroLogicalTypes: the Avro schema is
// derived from the BigQuery one, never written by hand.
package avro

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
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

// Writer writes rows to an Avro object container file. Encoding and writing
// happen on a goroutine of their own, one block behind the rows being added,
// so that the caller's work (reading, validating) overlaps them; memory is
// bounded by two blocks. A Writer is not safe for concurrent use.
type Writer struct {
	ocf    *goavro.OCFWriter
	fields []column
	rows   int64

	cur  []any        // the block being filled, of reused records
	n    int          // rows in cur
	free chan []any   // blocks ready to be filled
	full chan []any   // blocks to encode
	done chan error   // the encoder's result, once full is closed
	err  atomic.Value // the encoder's first error
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
	aw := &Writer{ocf: ocf, fields: cols, free: make(chan []any, 2), full: make(chan []any, 1), done: make(chan error, 1)}
	aw.free <- make([]any, batchRows)
	aw.free <- make([]any, batchRows)
	go aw.encode()
	return aw, nil
}

// encode writes the blocks it receives until full is closed.
func (w *Writer) encode() {
	var err error
	for block := range w.full {
		if err == nil {
			if err = w.ocf.Append(block); err != nil {
				w.err.Store(err)
			}
		}
		w.free <- block[:cap(block)]
	}
	w.done <- err
}

// Write adds a row: one value per column in schema order, as int64, float64,
// bool, string, []byte or time.Time, or nil for NULL in a NULLABLE column. It
// returns the error of an earlier block, if any.
func (w *Writer) Write(values []any) error {
	if err, ok := w.err.Load().(error); ok {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	if len(values) != len(w.fields) {
		return fmt.Errorf("avro.Writer: %d values for %d columns", len(values), len(w.fields))
	}
	if w.cur == nil {
		w.cur = <-w.free
	}
	rec, _ := w.cur[w.n].(map[string]any)
	if rec == nil {
		rec = make(map[string]any, len(values))
		w.cur[w.n] = rec
	}
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
	w.n++
	w.rows++
	if w.n == batchRows {
		w.flush()
	}
	return nil
}

// flush hands the current block to the encoder.
func (w *Writer) flush() {
	if w.n == 0 {
		return
	}
	w.full <- w.cur[:w.n]
	w.cur, w.n = nil, 0
}

// Rows returns how many rows were written.
func (w *Writer) Rows() int64 { return w.rows }

// Close encodes the rows not yet encoded and waits for the encoder. It does
// not close the underlying writer. The Writer must not be used after.
func (w *Writer) Close() error {
	w.flush()
	close(w.full)
	if err := <-w.done; err != nil {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	return nil
}
