package bigquery

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/linkedin/goavro/v2"
	bq "google.golang.org/api/bigquery/v2"
)

// Bounds of what an extract holds in memory, whatever the table's size: one
// page of rows read from DuckDB, one Avro block, and the Cloud Storage
// writer's chunk.
const (
	// extractPageRows is how many rowids one query of an extract reads.
	extractPageRows = 65536
	// extractBlockRows and extractBlockBytes bound an Avro block, in rows
	// and in logical bytes (see logicalBytes). A block is also at most a
	// 16th of the file size limit, so that files split close to it.
	extractBlockRows  = 10000
	extractBlockBytes = 1 << 20
)

// avroRecordName is the name of the record of every extracted file, as
// BigQuery names it.
const avroRecordName = "Root"

// extractJob is a validated extract configuration.
type extractJob struct {
	src            tableAt
	bucket         string
	prefix, suffix string // the object name, around its * when wildcard
	wildcard       bool
	format         string // AVRO or CSV
	codec          string // goavro's compression name
	logical        bool   // useAvroLogicalTypes
	delimiter      rune   // CSV
	header         bool   // CSV: printHeader
}

// object returns the name of the job's n-th file (from 0): with a wildcard,
// the * replaced by n on 12 digits, as BigQuery names them.
func (ex *extractJob) object(n int) string {
	if !ex.wildcard {
		return ex.prefix
	}
	return fmt.Sprintf("%s%012d%s", ex.prefix, n, ex.suffix)
}

// runExtract runs an extract job (configuration.extract): the rows of one
// table, maybe as of a time (a decorator, see history.go), in insertion
// order, to Avro files in Cloud Storage through Options.Storage. The rows
// stream from DuckDB a page at a time into Avro blocks, each uploaded
// through the storage client's chunked writer. With a * in the destination
// URI, a new file starts before a block would take the current one past
// Options.ExtractFileBytes; without one, a table that does not fit fails the
// job, as in BigQuery. The file being written when an extract fails is never
// created; the files finished before it stay.
func (s *Server) runExtract(ctx context.Context, rec *jobRecord) error {
	job := rec.Job
	stats := &bq.JobStatistics4{ForceSendFields: []string{"DestinationUriFileCounts", "InputBytes"}}
	job.Statistics.Extract = stats
	ex, err := s.checkExtract(job)
	if err != nil {
		return err
	}
	if _, err := s.storage.Bucket(ex.bucket).Attrs(ctx); isNotFound(err) {
		return errNotFound("Bucket %s", ex.bucket)
	} else if err != nil {
		return fmt.Errorf("extract to bucket %s: %w", ex.bucket, err)
	}
	release := func() {}
	if ex.src.decorated {
		k := ex.src.k
		release = sync.OnceFunc(s.lockTable(k.project, k.dataset, k.table))
		defer release()
	}
	t, err := s.sourceTable(ex.src, "extract")
	if err != nil {
		return err
	}
	tx, rows, err := s.openSource(ctx, ex.src, t, release)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // the transaction only reads
	var size int64
	if err := tx.QueryRowContext(ctx, "SELECT "+logicalBytes(t.Schema)+" FROM "+duckTable(ex.src.k)+" WHERE "+rows.filter()).Scan(&size); err != nil {
		return fmt.Errorf("extract %s: %w", ex.src, err)
	}
	files, err := s.extractRows(ctx, tx, ex, t, rows)
	if err != nil {
		return err
	}
	stats.DestinationUriFileCounts = []int64{int64(files)}
	stats.InputBytes = size
	return nil
}

// checkExtract validates an extract job's configuration and fills in
// BigQuery's defaults (CSV, NONE, a comma and a header row).
func (s *Server) checkExtract(job *bq.Job) (*extractJob, error) {
	cfg := job.Configuration.Extract
	if s.storage == nil {
		return nil, errInvalid("The emulator has no Cloud Storage client (Options.Storage), so it cannot run extract jobs")
	}
	if cfg.SourceModel != nil {
		return nil, errInvalid("Extracting models is not supported by the emulator; it extracts tables")
	}
	ref := cfg.SourceTable
	if ref == nil || ref.DatasetId == "" || ref.TableId == "" {
		return nil, errInvalid("Required parameter is missing: configuration.extract.sourceTable")
	}
	src, err := parseTableAt(ref, job.JobReference.ProjectId)
	if err != nil {
		return nil, err
	}
	if cfg.DestinationFormat == "" {
		cfg.DestinationFormat = "CSV"
	}
	if cfg.Compression == "" {
		cfg.Compression = "NONE"
	}
	ex := &extractJob{format: cfg.DestinationFormat, logical: cfg.UseAvroLogicalTypes}
	switch cfg.DestinationFormat {
	case "AVRO":
		codecs := map[string]string{"NONE": goavro.CompressionNullLabel, "DEFLATE": goavro.CompressionDeflateLabel, "SNAPPY": goavro.CompressionSnappyLabel}
		codec, ok := codecs[cfg.Compression]
		switch {
		case cfg.Compression == "GZIP" || cfg.Compression == "ZSTD":
			return nil, errInvalid("Compression %s is not supported for the AVRO format; use NONE, DEFLATE or SNAPPY", cfg.Compression)
		case !ok:
			return nil, errInvalid("Invalid value for compression: %s", cfg.Compression)
		}
		ex.codec = codec
	case "CSV":
		if cfg.Compression != "NONE" {
			return nil, errInvalid("Compression %s of CSV files is not supported by the emulator; use NONE", cfg.Compression)
		}
		switch cfg.FieldDelimiter {
		case "":
			cfg.FieldDelimiter = ","
		case "tab", `\t`:
			cfg.FieldDelimiter = "\t"
		}
		d, n := utf8.DecodeRuneInString(cfg.FieldDelimiter)
		if n != len(cfg.FieldDelimiter) || d == '"' || d == '\n' || d == '\r' {
			return nil, errInvalid("Invalid field delimiter %q: the emulator takes one character other than a quote or a line break", cfg.FieldDelimiter)
		}
		ex.delimiter = d
		ex.header = cfg.PrintHeader == nil || *cfg.PrintHeader
	case "NEWLINE_DELIMITED_JSON", "PARQUET":
		return nil, errInvalid("Destination format %s is not supported by the emulator; it extracts AVRO and CSV", cfg.DestinationFormat)
	default:
		return nil, errInvalid("Invalid value for destinationFormat: %s", cfg.DestinationFormat)
	}
	uris := cfg.DestinationUris
	if len(uris) == 0 && cfg.DestinationUri != "" {
		uris = []string{cfg.DestinationUri}
	}
	switch {
	case len(uris) == 0:
		return nil, errInvalid("Required parameter is missing: configuration.extract.destinationUris")
	case len(uris) > 1:
		return nil, errInvalid("The emulator extracts to one destination URI per job; this job has %d", len(uris))
	}
	uri := uris[0]
	rest, isGS := strings.CutPrefix(uri, "gs://")
	bucket, object, _ := strings.Cut(rest, "/")
	if !isGS || bucket == "" || object == "" || strings.Contains(bucket, "*") {
		return nil, errInvalid("Invalid destination URI %q: it must be gs://bucket/object", uri)
	}
	prefix, suffix, wildcard := strings.Cut(object, "*")
	if strings.Contains(suffix, "*") {
		return nil, errInvalid("Invalid destination URI %q: only one * wildcard is allowed", uri)
	}
	ex.src, ex.bucket, ex.prefix, ex.suffix, ex.wildcard = src, bucket, prefix, suffix, wildcard
	return ex, nil
}

// extractRows writes the rows of table t in range, read in tx in rowid
// (insertion) order, as files of the job's format, and returns how many
// files it wrote.
func (s *Server) extractRows(ctx context.Context, tx *sql.Tx, ex *extractJob, t *bq.Table, rows rowRange) (files int, err error) {
	blockBytes := max(1, min(extractBlockBytes, s.fileBytes/16))
	var enc blockEncoder
	if ex.format == "CSV" {
		enc, err = newCSVEncoder(t.Schema, ex, blockBytes)
	} else {
		enc, err = newAvroEncoder(t.Schema, ex, blockBytes)
	}
	if err != nil {
		return 0, err
	}
	out := &extractFiles{storage: s.storage, ex: ex, limit: s.fileBytes, header: enc.header()}
	defer func() {
		if err != nil {
			out.abort()
		}
	}()
	flush := func() error {
		block, err := enc.flush()
		if err != nil || block == nil {
			return err
		}
		return out.add(ctx, block)
	}
	names := make([]string, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		names[i] = quoteIdent(f.Name)
	}
	query := "SELECT " + strings.Join(names, ", ") + " FROM " + duckTable(ex.src.k) + " WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
	row := func(vals []any) error {
		if err := enc.add(vals); err != nil {
			return err
		}
		if enc.full() {
			return flush()
		}
		return nil
	}
	for lo := rows.first; lo <= rows.last; lo += extractPageRows {
		if err := scanPage(ctx, tx, query, lo, min(lo+extractPageRows-1, rows.last), len(names), row); err != nil {
			return 0, fmt.Errorf("extract %s: %w", ex.src, err)
		}
	}
	if err := flush(); err != nil {
		return 0, fmt.Errorf("extract %s: %w", ex.src, err)
	}
	return out.finish(ctx)
}

// blockEncoder turns rows into the blocks of an extracted file: every file
// starts with header, then takes whole blocks.
type blockEncoder interface {
	header() []byte
	// add adds a row, the values of the columns as DuckDB returns them, to
	// the current block.
	add(vals []any) error
	// full reports whether the current block has reached its bounds.
	full() bool
	// flush returns the encoded current block, nil when it has no rows,
	// and starts a new one.
	flush() ([]byte, error)
}

// avroEncoder writes Avro blocks.
type avroEncoder struct {
	ocf        *goavro.OCFWriter
	buf        bytes.Buffer
	head       []byte
	batch      *avroBatch
	blockBytes int64
}

func newAvroEncoder(schema *bq.TableSchema, ex *extractJob, blockBytes int64) (*avroEncoder, error) {
	cols, err := avroColumns(schema, ex.logical)
	if err != nil {
		return nil, err
	}
	js, err := avroSchema(cols)
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", ex.src, err)
	}
	e := &avroEncoder{batch: newAvroBatch(cols), blockBytes: blockBytes}
	// The OCF writer writes the header once, then each block in Append.
	// Capturing them lets every file start with the same header and take
	// whole blocks only.
	e.ocf, err = goavro.NewOCFWriter(goavro.OCFConfig{W: &e.buf, Schema: js, CompressionName: ex.codec})
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", ex.src, err)
	}
	e.head = bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	return e, nil
}

func (e *avroEncoder) header() []byte       { return e.head }
func (e *avroEncoder) add(vals []any) error { return e.batch.add(vals) }
func (e *avroEncoder) full() bool {
	return e.batch.n == extractBlockRows || e.batch.bytes >= e.blockBytes
}

func (e *avroEncoder) flush() ([]byte, error) {
	if e.batch.n == 0 {
		return nil, nil
	}
	if err := e.ocf.Append(e.batch.records[:e.batch.n]); err != nil {
		return nil, fmt.Errorf("encode Avro: %w", err)
	}
	e.batch.reset()
	block := bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	return block, nil
}

// csvEncoder writes CSV lines as BigQuery exports them: a header row of
// the column names when asked, NULL as an empty field, TIMESTAMP as
// "2006-01-02 15:04:05[.ffffff] UTC", other values as in query results.
type csvEncoder struct {
	fields     []*bq.TableFieldSchema
	buf        bytes.Buffer
	w          *csv.Writer
	rec        []string
	head       []byte
	n          int
	blockBytes int64
}

func newCSVEncoder(schema *bq.TableSchema, ex *extractJob, blockBytes int64) (*csvEncoder, error) {
	e := &csvEncoder{fields: schema.Fields, rec: make([]string, len(schema.Fields)), blockBytes: blockBytes}
	e.w = csv.NewWriter(&e.buf)
	e.w.Comma = ex.delimiter
	if ex.header {
		if err := e.w.Write(namesOf(schema)); err != nil {
			return nil, fmt.Errorf("extract %s: %w", ex.src, err)
		}
		e.w.Flush()
		e.head = bytes.Clone(e.buf.Bytes())
		e.buf.Reset()
	}
	return e, nil
}

func (e *csvEncoder) header() []byte { return e.head }
func (e *csvEncoder) full() bool {
	return e.n == extractBlockRows || int64(e.buf.Len()) >= e.blockBytes
}

func (e *csvEncoder) add(vals []any) error {
	for i, f := range e.fields {
		v, err := csvField(f.Type, vals[i])
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
		e.rec[i] = v
	}
	if err := e.w.Write(e.rec); err != nil {
		return err
	}
	e.w.Flush()
	e.n++
	return e.w.Error()
}

func (e *csvEncoder) flush() ([]byte, error) {
	if e.n == 0 {
		return nil, nil
	}
	e.n = 0
	block := bytes.Clone(e.buf.Bytes())
	e.buf.Reset()
	return block, nil
}

// csvField formats a value of a column for a CSV file.
func csvField(typ string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	switch typ {
	case "TIMESTAMP":
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("2006-01-02 15:04:05.999999") + " UTC", nil
		}
	case "NUMERIC":
		c, err := cell(typ, v, false)
		if err != nil {
			return "", err
		}
		s := c.(string)
		if strings.Contains(s, ".") {
			s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
		}
		return s, nil
	}
	c, err := cell(typ, v, false)
	if err != nil {
		return "", err
	}
	return c.(string), nil
}

// scanPage runs query in tx for the rowids from lo to hi and calls fn with
// the values of each row; fn must not keep them.
func scanPage(ctx context.Context, tx *sql.Tx, query string, lo, hi int64, width int, fn func(vals []any) error) error {
	rows, err := tx.QueryContext(ctx, query, lo, hi)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, width)
	ptrs := make([]any, width)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// extractFiles writes the blocks of an extract to its Cloud Storage objects,
// one file after the other.
type extractFiles struct {
	storage *storage.Client
	ex      *extractJob
	limit   int64  // Options.ExtractFileBytes
	header  []byte // the OCF header every file starts with

	w      *storage.Writer // the file being written; nil between files
	cancel context.CancelFunc
	size   int64 // bytes of the file being written
	blocks int   // blocks in the file being written
	names  []string
}

// add appends a block of rows to the current file or, when it would take a
// file that has rows past the limit and the URI has a wildcard, to a new
// one. Without a wildcard a table that does not fit in one file is
// invalid, with BigQuery's message.
func (f *extractFiles) add(ctx context.Context, block []byte) error {
	n := int64(len(block))
	if f.w != nil && f.blocks > 0 && f.size+n > f.limit && f.ex.wildcard {
		if err := f.close(); err != nil {
			return err
		}
	}
	if f.w == nil {
		if err := f.open(ctx); err != nil {
			return err
		}
	}
	if f.size+n > f.limit && !f.ex.wildcard {
		return errInvalid("Table %s too large to be exported to a single file. Specify a uri including a * to shard export. See 'Exporting data into one or more files' in https://cloud.google.com/bigquery/docs/exporting-data. (The emulator's limit is Options.ExtractFileBytes, %d bytes.)", f.ex.src, f.limit)
	}
	if _, err := f.w.Write(block); err != nil {
		return f.uploadError(err)
	}
	f.size += n
	f.blocks++
	return nil
}

// open starts the next file with the header.
func (f *extractFiles) open(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	f.names = append(f.names, f.ex.object(len(f.names)))
	f.w = f.storage.Bucket(f.ex.bucket).Object(f.names[len(f.names)-1]).NewWriter(wctx)
	f.cancel = cancel
	f.size, f.blocks = 0, 0
	if _, err := f.w.Write(f.header); err != nil {
		return f.uploadError(err)
	}
	f.size = int64(len(f.header))
	return nil
}

// close finishes the current file, which creates its object.
func (f *extractFiles) close() error {
	err := f.w.Close()
	f.cancel()
	f.w = nil
	if err != nil {
		return f.uploadError(err)
	}
	return nil
}

// uploadError reports a failed upload of the current file.
func (f *extractFiles) uploadError(err error) error {
	uri := "gs://" + f.ex.bucket + "/" + f.names[len(f.names)-1]
	if isNotFound(err) {
		return errNotFound("URI %s", uri)
	}
	return fmt.Errorf("extract to %s: %w", uri, err)
}

// finish closes the last file and returns how many files the job wrote. A
// table without rows still gets one file, with the header only.
func (f *extractFiles) finish(ctx context.Context) (int, error) {
	if len(f.names) == 0 {
		if err := f.open(ctx); err != nil {
			return 0, err
		}
	}
	if f.w != nil {
		if err := f.close(); err != nil {
			return 0, err
		}
	}
	return len(f.names), nil
}

// abort gives up the file being written, if any: its upload is canceled,
// so its object is never created. Files finished before stay.
func (f *extractFiles) abort() {
	if f.w != nil {
		f.cancel()
		_ = f.w.Close() // fails: its upload is canceled
		f.w = nil
	}
}

// avroColumn is how a column is written to Avro.
type avroColumn struct {
	name string
	// avroType is the Avro type of the column's values.
	avroType any
	// branch is goavro's name of the union branch of a NULLABLE column's
	// values; empty for a REQUIRED column, whose type is not a union.
	branch string
	// native turns a value read from DuckDB into goavro's native value, and
	// returns its logical size (see logicalBytes).
	native func(v any) (any, int64, error)
}

// avroColumns maps a table's columns to Avro as BigQuery exports them.
// REQUIRED columns are plain types, NULLABLE ones a union ["null", type].
// TIMESTAMP is a long with logical type timestamp-micros, with or without
// useAvroLogicalTypes (logical), as BigQuery's extract jobs write it. With
// logical, DATE is an int with logical type date, TIME a long with
// time-micros and DATETIME a string with logical type datetime; without,
// all three are strings. NUMERIC is a decimal of precision 38 and scale 9.
func avroColumns(schema *bq.TableSchema, logical bool) ([]avroColumn, error) {
	cols := make([]avroColumn, len(schema.Fields))
	for i, f := range schema.Fields {
		c := avroColumn{name: f.Name}
		switch f.Type {
		case "INTEGER":
			c.avroType, c.branch, c.native = "long", "long", nativeInteger
		case "FLOAT":
			c.avroType, c.branch, c.native = "double", "double", nativeFloat
		case "NUMERIC":
			c.avroType = map[string]any{"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 9}
			c.branch, c.native = "bytes.decimal", nativeNumeric
		case "BOOLEAN":
			c.avroType, c.branch, c.native = "boolean", "boolean", nativeBoolean
		case "STRING":
			c.avroType, c.branch, c.native = "string", "string", nativeString
		case "BYTES":
			c.avroType, c.branch, c.native = "bytes", "bytes", nativeBytes
		case "TIMESTAMP":
			c.avroType = map[string]any{"type": "long", "logicalType": "timestamp-micros"}
			c.branch, c.native = "long.timestamp-micros", nativeTime(func(t time.Time) any { return t.UnixMicro() })
		case "DATE":
			c.avroType, c.branch, c.native = "string", "string", nativeTime(func(t time.Time) any { return t.Format(time.DateOnly) })
			if logical {
				c.avroType = map[string]any{"type": "int", "logicalType": "date"}
				c.branch, c.native = "int.date", nativeTime(func(t time.Time) any { return int32(t.Unix() / 86400) })
			}
		case "TIME":
			c.avroType, c.branch, c.native = "string", "string", nativeTime(func(t time.Time) any { return t.Format("15:04:05.999999") })
			if logical {
				c.avroType = map[string]any{"type": "long", "logicalType": "time-micros"}
				c.branch, c.native = "long.time-micros", nativeTime(func(t time.Time) any {
					return int64(t.Hour())*3_600_000_000 + int64(t.Minute())*60_000_000 + int64(t.Second())*1_000_000 + int64(t.Nanosecond()/1000)
				})
			}
		case "DATETIME":
			c.avroType, c.branch, c.native = "string", "string", nativeTime(func(t time.Time) any { return t.Format("2006-01-02T15:04:05.999999") })
			if logical {
				// goavro knows no logical type datetime and takes the
				// values as strings; the file's schema keeps the annotation.
				c.avroType = map[string]any{"type": "string", "logicalType": "datetime"}
			}
		default:
			return nil, errInvalid("Field %s has type %s, which the emulator cannot extract", f.Name, f.Type)
		}
		if f.Mode == "REQUIRED" {
			c.branch = ""
		}
		cols[i] = c
	}
	return cols, nil
}

// avroSchema is the JSON schema of the files: a record named as BigQuery
// names it, one field per column.
func avroSchema(cols []avroColumn) (string, error) {
	type field struct {
		Name string `json:"name"`
		Type any    `json:"type"`
	}
	record := struct {
		Type   string  `json:"type"`
		Name   string  `json:"name"`
		Fields []field `json:"fields"`
	}{Type: "record", Name: avroRecordName, Fields: make([]field, len(cols))}
	for i, c := range cols {
		record.Fields[i] = field{Name: c.name, Type: c.avroType}
		if c.branch != "" {
			record.Fields[i].Type = []any{"null", c.avroType}
		}
	}
	data, err := json.Marshal(record)
	return string(data), err
}

func unexpected(v any, typ string) error {
	return fmt.Errorf("unexpected value %T for a %s column", v, typ)
}

func nativeInteger(v any) (any, int64, error) {
	if n, ok := v.(int64); ok {
		return n, 8, nil
	}
	return nil, 0, unexpected(v, "INTEGER")
}

func nativeFloat(v any) (any, int64, error) {
	if f, ok := v.(float64); ok {
		return f, 8, nil
	}
	return nil, 0, unexpected(v, "FLOAT")
}

func nativeNumeric(v any) (any, int64, error) {
	if d, ok := v.(duckdb.Decimal); ok {
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil)
		return new(big.Rat).SetFrac(d.Value, scale), 16, nil
	}
	return nil, 0, unexpected(v, "NUMERIC")
}

func nativeBoolean(v any) (any, int64, error) {
	if b, ok := v.(bool); ok {
		return b, 1, nil
	}
	return nil, 0, unexpected(v, "BOOLEAN")
}

func nativeString(v any) (any, int64, error) {
	if s, ok := v.(string); ok {
		return s, 2 + int64(len(s)), nil
	}
	return nil, 0, unexpected(v, "STRING")
}

func nativeBytes(v any) (any, int64, error) {
	if b, ok := v.([]byte); ok {
		return b, 2 + int64(len(b)), nil
	}
	return nil, 0, unexpected(v, "BYTES")
}

// nativeTime converts the time.Time values of a TIMESTAMP, DATE, TIME or
// DATETIME column with conv.
func nativeTime(conv func(time.Time) any) func(v any) (any, int64, error) {
	return func(v any) (any, int64, error) {
		if t, ok := v.(time.Time); ok {
			return conv(t.UTC()), 8, nil
		}
		return nil, 0, fmt.Errorf("unexpected value %T for a time column", v)
	}
}

// avroBatch is the rows of one Avro block as goavro takes them. Its records
// and union values are reused from block to block.
type avroBatch struct {
	cols    []avroColumn
	records []any              // map[string]any, one per row
	unions  [][]map[string]any // per row and column, the union value of a NULLABLE column
	n       int                // rows in the batch
	bytes   int64              // their logical size
}

func newAvroBatch(cols []avroColumn) *avroBatch {
	b := &avroBatch{cols: cols, records: make([]any, extractBlockRows), unions: make([][]map[string]any, extractBlockRows)}
	for i := range b.records {
		b.records[i] = make(map[string]any, len(cols))
		b.unions[i] = make([]map[string]any, len(cols))
		for j, c := range cols {
			if c.branch != "" {
				b.unions[i][j] = map[string]any{c.branch: nil}
			}
		}
	}
	return b
}

// add appends a row, the values of the columns in order, as DuckDB
// returns them.
func (b *avroBatch) add(vals []any) error {
	rec := b.records[b.n].(map[string]any)
	for j, c := range b.cols {
		v := vals[j]
		if v == nil {
			if c.branch == "" {
				return fmt.Errorf("the REQUIRED column %s holds a NULL", c.name)
			}
			rec[c.name] = nil
			continue
		}
		nv, size, err := c.native(v)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
		b.bytes += size
		if c.branch == "" {
			rec[c.name] = nv
			continue
		}
		u := b.unions[b.n][j]
		u[c.branch] = nv
		rec[c.name] = u
	}
	b.n++
	return nil
}

func (b *avroBatch) reset() {
	b.n = 0
	b.bytes = 0
}
