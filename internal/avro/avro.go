// Package avro writes rows of a BigQuery schema as Avro object container
// files that BigQuery loads with useAvroLogicalTypes: the Avro schema is
// derived from the BigQuery one, never written by hand.
package avro

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/golang/snappy"
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

// Writer writes rows to an Avro object container file. goavro writes the
// file's header from the schema; the Writer encodes the rows of each block
// itself, in the Avro binary encoding of that schema (a differential test
// holds it byte for byte to goavro's encoding of the same rows), because
// goavro's records are maps and cost more than the rest of a load. Blocks
// are compressed and written on a goroutine of their own, one block behind
// the rows being added, so that the caller's work (reading, validating)
// overlaps them; memory is bounded by two blocks. A Writer is not safe for
// concurrent use.
type Writer struct {
	w      io.Writer
	codec  string
	marker [16]byte
	cols   []column
	rows   int64

	cur  *block       // the block being filled
	free chan *block  // blocks ready to be filled
	full chan *block  // blocks to compress and write
	done chan error   // the writing goroutine's result, once full is closed
	err  atomic.Value // the writing goroutine's first error
}

// block is the encoded rows of one Avro block, and the buffers that
// compress and frame it.
type block struct {
	rows  int64
	data  []byte
	out   []byte
	comp  []byte
	flate *flate.Writer
	buf   bytes.Buffer
}

// kind is how a column's values are encoded.
type kind int

const (
	kindLong kind = iota
	kindDouble
	kindBoolean
	kindString
	kindBytes
	kindTimestamp
	kindDate
)

var kinds = map[bigquery.FieldType]kind{
	bigquery.IntegerFieldType:   kindLong,
	bigquery.FloatFieldType:     kindDouble,
	bigquery.BooleanFieldType:   kindBoolean,
	bigquery.StringFieldType:    kindString,
	bigquery.BytesFieldType:     kindBytes,
	bigquery.TimestampFieldType: kindTimestamp,
	bigquery.DateFieldType:      kindDate,
}

type column struct {
	name     string
	typ      bigquery.FieldType
	kind     kind
	nullable bool
}

// NewWriter starts a container file on w for rows of schema, compressed with
// codec (CodecNull, CodecDeflate or CodecSnappy). The file's sync marker is
// derived from seed, so the same rows and seed give the same blocks (goavro
// writes the header's metadata in map order).
func NewWriter(w io.Writer, name string, schema bigquery.Schema, codec, seed string) (*Writer, error) {
	js, err := Schema(name, schema)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(seed))
	aw := &Writer{w: w, codec: codec, free: make(chan *block, 2), full: make(chan *block, 1), done: make(chan error, 1)}
	copy(aw.marker[:], sum[:])
	// goavro writes the header: the schema, the codec and the marker.
	if _, err := goavro.NewOCFWriter(goavro.OCFConfig{W: w, Schema: js, CompressionName: codec, SyncMarker: aw.marker}); err != nil {
		return nil, fmt.Errorf("goavro.NewOCFWriter: %w", err)
	}
	aw.cols = make([]column, len(schema))
	for i, f := range schema {
		aw.cols[i] = column{name: f.Name, typ: f.Type, kind: kinds[f.Type], nullable: !f.Required}
	}
	aw.free <- &block{}
	aw.free <- &block{}
	go aw.writeBlocks()
	return aw, nil
}

// writeBlocks compresses and writes the blocks it receives until full is
// closed.
func (w *Writer) writeBlocks() {
	var err error
	for b := range w.full {
		if err == nil {
			if err = w.writeBlock(b); err != nil {
				w.err.Store(err)
			}
		}
		b.rows, b.data = 0, b.data[:0]
		w.free <- b
	}
	w.done <- err
}

// writeBlock writes one block: its row count, its size, its data compressed
// with the file's codec, and the sync marker.
func (w *Writer) writeBlock(b *block) error {
	data := b.data
	switch w.codec {
	case CodecDeflate:
		b.buf.Reset()
		if b.flate == nil {
			b.flate, _ = flate.NewWriter(&b.buf, flate.DefaultCompression)
		} else {
			b.flate.Reset(&b.buf)
		}
		if _, err := b.flate.Write(data); err != nil {
			return err
		}
		if err := b.flate.Close(); err != nil {
			return err
		}
		data = b.buf.Bytes()
	case CodecSnappy:
		// Each block's snappy data is followed by the CRC-32 of its
		// uncompressed data, big-endian.
		// snappy allocates when the buffer is short of the block's worst
		// case; blocks differ by a few bytes, so the buffer gets room to
		// spare once instead of a new one for every larger block.
		if need := snappy.MaxEncodedLen(len(data)) + 4; cap(b.comp) < need {
			b.comp = make([]byte, 0, need+need/8)
		}
		enc := snappy.Encode(b.comp[:cap(b.comp)], data)
		b.comp = binary.BigEndian.AppendUint32(enc, crc32.ChecksumIEEE(data))
		data = b.comp
	}
	b.out = binary.AppendVarint(binary.AppendVarint(b.out[:0], b.rows), int64(len(data)))
	if _, err := w.w.Write(b.out); err != nil {
		return err
	}
	if _, err := w.w.Write(data); err != nil {
		return err
	}
	_, err := w.w.Write(w.marker[:])
	return err
}

// Write adds a row: one value per column in schema order, as int64, float64,
// bool, string, []byte or time.Time, or nil for NULL in a NULLABLE column. It
// returns the error of an earlier block, if any.
func (w *Writer) Write(values []any) error {
	if err := w.failed(); err != nil {
		return err
	}
	if len(values) != len(w.cols) {
		return fmt.Errorf("avro.Writer: %d values for %d columns", len(values), len(w.cols))
	}
	b := w.block()
	data, err := appendRow(b.data, w.cols, values)
	if err != nil {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	b.data = data
	w.added(1)
	return nil
}

// WriteEncoded adds n rows already in the Avro binary encoding of the
// Writer's schema, end to end in rows: rows encoded with AppendLong,
// AppendString, AppendBytes, AppendNull and AppendNonNull away from the
// Writer, on other goroutines. The caller answers for the encoding and the
// count; nothing checks them. A block holds the rows of whole calls, and is
// written once it has batchRows rows or more. It returns the error of an
// earlier block, if any.
func (w *Writer) WriteEncoded(rows []byte, n int) error {
	if err := w.failed(); err != nil {
		return err
	}
	b := w.block()
	b.data = append(b.data, rows...)
	w.added(n)
	return nil
}

// failed returns the error of an earlier block, if any.
func (w *Writer) failed() error {
	if err, ok := w.err.Load().(error); ok {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	return nil
}

// block returns the block being filled.
func (w *Writer) block() *block {
	if w.cur == nil {
		w.cur = <-w.free
	}
	return w.cur
}

// added counts n rows added to the current block, and hands the block to
// the writing goroutine when it is full.
func (w *Writer) added(n int) {
	w.cur.rows += int64(n)
	w.rows += int64(n)
	if w.cur.rows >= batchRows {
		w.flush()
	}
}

// flush hands the current block to the writing goroutine.
func (w *Writer) flush() {
	if w.cur == nil || w.cur.rows == 0 {
		return
	}
	w.full <- w.cur
	w.cur = nil
}

// Rows returns how many rows were written.
func (w *Writer) Rows() int64 { return w.rows }

// Close writes the rows not yet written and waits for the writing
// goroutine. It does not close the underlying writer. The Writer must not be
// used after.
func (w *Writer) Close() error {
	w.flush()
	close(w.full)
	if err := <-w.done; err != nil {
		return fmt.Errorf("avro.Writer: %w", err)
	}
	return nil
}

// AppendLong appends the Avro binary encoding of a long, which is also that
// of a timestamp-micros (microseconds since the Unix epoch).
func AppendLong(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

// AppendString appends the Avro binary encoding of a string.
func AppendString(b []byte, s string) []byte {
	return append(binary.AppendVarint(b, int64(len(s))), s...)
}

// AppendBytes appends the Avro binary encoding of bytes.
func AppendBytes(b, p []byte) []byte {
	return append(binary.AppendVarint(b, int64(len(p))), p...)
}

// AppendNull appends a NULL of a NULLABLE column, the union ["null", T].
func AppendNull(b []byte) []byte { return append(b, 0) }

// AppendNonNull appends the union branch of a value of a NULLABLE column,
// ["null", T]: the value's own encoding follows.
func AppendNonNull(b []byte) []byte { return append(b, 2) }

// appendRow appends the Avro binary encoding of one record of cols to b.
func appendRow(b []byte, cols []column, values []any) ([]byte, error) {
	for i, c := range cols {
		v := values[i]
		if c.nullable {
			// A NULLABLE column is the union ["null", type]: the branch's
			// index, then the value of a non-null branch.
			if v == nil {
				b = AppendNull(b)
				continue
			}
			b = AppendNonNull(b)
		}
		var ok bool
		if b, ok = appendValue(b, c.kind, v); !ok {
			return b, fmt.Errorf("column %s: cannot encode a Go %T as %s", c.name, v, c.typ)
		}
	}
	return b, nil
}

// appendValue appends the Avro binary encoding of v as a value of kind k,
// as goavro encodes it, or reports that v is not of a type k takes.
func appendValue(b []byte, k kind, v any) ([]byte, bool) {
	switch k {
	case kindLong:
		if x, ok := v.(int64); ok {
			return AppendLong(b, x), true
		}
	case kindDouble:
		if x, ok := v.(float64); ok {
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), true
		}
	case kindBoolean:
		if x, ok := v.(bool); ok {
			if x {
				return append(b, 1), true
			}
			return append(b, 0), true
		}
	case kindString:
		if x, ok := v.(string); ok {
			return AppendString(b, x), true
		}
	case kindBytes:
		if x, ok := v.([]byte); ok {
			return AppendBytes(b, x), true
		}
	case kindTimestamp:
		if x, ok := v.(time.Time); ok {
			return AppendLong(b, x.Unix()*1e6+int64(x.Nanosecond()/1e3)), true
		}
	case kindDate:
		if x, ok := v.(time.Time); ok {
			return binary.AppendVarint(b, x.Unix()/86400), true
		}
	}
	return b, false
}
