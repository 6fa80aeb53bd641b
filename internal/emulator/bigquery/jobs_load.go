package bigquery

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/storage"
	"github.com/duckdb/duckdb-go/v2"
	"github.com/linkedin/goavro/v2"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

// stagingTable is the temporary table, private to the DuckDB connection of
// one load, that receives the rows of every file before they move into the
// destination table in one transaction.
const stagingTable = "load_staging"

// readBuffer is the buffer between a Cloud Storage object and the Avro
// reader. Whatever a file's size, reading it holds this buffer, one Avro
// block and one Appender chunk (2048 rows).
const readBuffer = 256 << 10

// Bounds of BigQuery's TIMESTAMP and DATE.
var (
	minTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// loadSource is one Cloud Storage object that a load job reads.
type loadSource struct {
	uri            string // gs://bucket/object, or uploadURI
	bucket, object string
	generation     int64 // pinned when the URI is resolved
	size           int64
	path           string // the local file of a media upload; empty for Cloud Storage
}

// loadTarget is the destination of a load: its resource as the load leaves
// it, and how its DuckDB table changes.
type loadTarget struct {
	k     tableKey
	table *bq.Table // Schema is nil until the first file gives it
	// create (re)creates the DuckDB table with table.Schema: a new table,
	// or WRITE_TRUNCATE of an existing one.
	create bool
	// exists is true when the DuckDB table exists before the load.
	exists bool
	// deleteRows deletes the existing rows first (WRITE_TRUNCATE_DATA).
	deleteRows bool
}

// runLoad runs a load job (configuration.load): it streams the job's Avro
// files from Cloud Storage into a staging table, then in one transaction
// applies the write disposition, moves the rows into the destination table
// and records the table's new resource. Any failure leaves the destination
// exactly as it was. Writes to the destination are serialized with the
// table's lock.
func (s *Server) runLoad(ctx context.Context, rec *jobRecord) error {
	job := rec.Job
	cfg := job.Configuration.Load
	stats := &bq.JobStatistics3{ForceSendFields: []string{"BadRecords", "InputFileBytes", "InputFiles", "OutputBytes", "OutputRows"}}
	job.Statistics.Load = stats
	k, explicit, err := s.checkLoad(job, rec.upload != nil)
	if err != nil {
		return err
	}
	var sources []loadSource
	if rec.upload != nil {
		sources = []loadSource{{uri: uploadURI, path: rec.upload.path, size: rec.upload.size}}
	} else if sources, err = s.resolveSources(ctx, cfg.SourceUris); err != nil {
		return err
	}
	stats.InputFiles = int64(len(sources))
	for _, src := range sources {
		stats.InputFileBytes += src.size
	}
	unlock := s.lockTable(k.project, k.dataset, k.table)
	defer unlock()
	target, err := s.loadTarget(ctx, k, cfg, explicit)
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("load into %s: %w", k, err)
	}
	defer conn.Close()
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.main."+stagingTable)
	}()
	st := &stager{ctx: ctx, storage: s.storage, target: target, cfg: cfg}
	if err := conn.Raw(st.run(sources)); err != nil {
		return err
	}
	if err := s.commitLoad(ctx, conn, target); err != nil {
		return err
	}
	stats.OutputRows = st.rows
	stats.OutputBytes = st.bytes
	return nil
}

// checkLoad validates a load job's configuration, fills in BigQuery's
// defaults, and returns the destination and the job's explicit schema (nil
// when it has none). A job with a media upload reads it instead of
// sourceUris.
func (s *Server) checkLoad(job *bq.Job, upload bool) (tableKey, *bq.TableSchema, error) {
	cfg := job.Configuration.Load
	if cfg.SourceFormat == "" {
		cfg.SourceFormat = "CSV"
	}
	if cfg.WriteDisposition == "" {
		cfg.WriteDisposition = "WRITE_APPEND"
	}
	if cfg.CreateDisposition == "" {
		cfg.CreateDisposition = "CREATE_IF_NEEDED"
	}
	if s.storage == nil && !upload {
		return tableKey{}, nil, errInvalid("The emulator has no Cloud Storage client (Options.Storage), so it cannot load from Cloud Storage")
	}
	switch cfg.SourceFormat {
	case "AVRO":
	case "CSV":
		if err := checkCSVLoad(cfg); err != nil {
			return tableKey{}, nil, err
		}
	default:
		return tableKey{}, nil, errInvalid("Source format %s is not supported by the emulator; it loads AVRO and CSV files", cfg.SourceFormat)
	}
	if !slices.Contains([]string{"WRITE_APPEND", "WRITE_TRUNCATE", "WRITE_TRUNCATE_DATA", "WRITE_EMPTY"}, cfg.WriteDisposition) {
		return tableKey{}, nil, errInvalid("Invalid value for writeDisposition: %s", cfg.WriteDisposition)
	}
	if !slices.Contains([]string{"CREATE_IF_NEEDED", "CREATE_NEVER"}, cfg.CreateDisposition) {
		return tableKey{}, nil, errInvalid("Invalid value for createDisposition: %s", cfg.CreateDisposition)
	}
	if len(cfg.SchemaUpdateOptions) > 0 {
		return tableKey{}, nil, errInvalid("schemaUpdateOptions %v are not supported by the emulator", cfg.SchemaUpdateOptions)
	}
	switch {
	case upload && len(cfg.SourceUris) > 0:
		return tableKey{}, nil, errInvalid("A load job with a media upload cannot also have configuration.load.sourceUris")
	case !upload && len(cfg.SourceUris) == 0:
		return tableKey{}, nil, errInvalid("Required parameter is missing: configuration.load.sourceUris")
	}
	d := cfg.DestinationTable
	if d == nil || d.DatasetId == "" || d.TableId == "" {
		return tableKey{}, nil, errInvalid("Required parameter is missing: configuration.load.destinationTable")
	}
	if d.ProjectId == "" {
		d.ProjectId = job.JobReference.ProjectId
	}
	k := tableKey{d.ProjectId, d.DatasetId, d.TableId}
	if _, ok := s.cat.dataset(k.project, k.dataset); !ok {
		return tableKey{}, nil, errNotFound("Dataset %s:%s", k.project, k.dataset)
	}
	if !tableIDPattern.MatchString(k.table) {
		return tableKey{}, nil, errInvalid("Invalid table ID \"%s\".", k.table)
	}
	if cfg.Schema == nil || len(cfg.Schema.Fields) == 0 {
		return k, nil, nil
	}
	explicit := clone(cfg.Schema)
	if err := normalizeSchema(explicit); err != nil {
		return tableKey{}, nil, err
	}
	return k, explicit, nil
}

// loadTarget decides, with the destination locked, what the load does to it:
// create it, replace its schema, delete its rows or append to them.
func (s *Server) loadTarget(ctx context.Context, k tableKey, cfg *bq.JobConfigurationLoad, explicit *bq.TableSchema) (*loadTarget, error) {
	cur, exists := s.cat.table(k)
	if !exists {
		if cfg.CreateDisposition == "CREATE_NEVER" {
			return nil, errNotFound("Table %s", k)
		}
		ds, ok := s.cat.dataset(k.project, k.dataset)
		if !ok {
			return nil, errNotFound("Dataset %s:%s", k.project, k.dataset)
		}
		return &loadTarget{k: k, create: true, table: &bq.Table{
			Kind:             "bigquery#table",
			Id:               k.project + ":" + k.dataset + "." + k.table,
			SelfLink:         "/bigquery/v2/projects/" + k.project + "/datasets/" + k.dataset + "/tables/" + k.table,
			TableReference:   &bq.TableReference{ProjectId: k.project, DatasetId: k.dataset, TableId: k.table},
			Type:             "TABLE",
			CreationTime:     nowMillis(),
			Location:         ds.Location,
			TimePartitioning: cfg.TimePartitioning,
			Clustering:       cfg.Clustering,
			Schema:           explicit,
		}}, nil
	}
	if cur.Type != "TABLE" {
		return nil, errInvalid("Cannot load into %s, which is a %s", k, cur.Type)
	}
	t := &loadTarget{k: k, table: cur, exists: true}
	switch cfg.WriteDisposition {
	case "WRITE_TRUNCATE":
		t.create = true
		cur.Schema = explicit
		return t, nil
	case "WRITE_TRUNCATE_DATA":
		t.deleteRows = true
	case "WRITE_EMPTY":
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+duckTable(k)).Scan(&n); err != nil {
			return nil, duckError(err)
		}
		if n > 0 {
			return nil, errDuplicate("Table %s", k)
		}
	}
	if explicit != nil {
		if err := matchSchema(k, cur.Schema, explicit); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// commitLoad moves the staged rows into the destination in one transaction,
// with the table's new resource.
func (s *Server) commitLoad(ctx context.Context, conn *sql.Conn, t *loadTarget) error {
	dst := duckTable(t.k)
	var stmts []string
	w := appended("load appending rows")
	switch {
	case t.create:
		if err := checkLayout(t.table); err != nil {
			return err
		}
		w = rewritten("load creating the table")
		if t.exists {
			stmts = append(stmts, "DROP TABLE "+dst)
			w = rewritten("load WRITE_TRUNCATE")
		}
		stmts = append(stmts, "CREATE TABLE "+dst+" ("+columnsDDL(t.table.Schema)+")")
	case t.deleteRows:
		stmts = append(stmts, "DELETE FROM "+dst)
		w = rewritten("load WRITE_TRUNCATE_DATA")
	}
	names := make([]string, len(t.table.Schema.Fields))
	for i, f := range t.table.Schema.Fields {
		names[i] = quoteIdent(f.Name)
	}
	cols := strings.Join(names, ", ")
	stmts = append(stmts, "INSERT INTO "+dst+" ("+cols+") SELECT "+cols+" FROM temp.main."+stagingTable)
	t.table.Etag = newETag()
	t.table.LastModifiedTime = uint64(nowMillis())
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("load into %s: %w", t.k, err)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			_ = tx.Rollback()
			return loadDuckError(err)
		}
	}
	if err := putTable(ctx, tx, t.table); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("load into %s: %w", t.k, err)
	}
	if err := recordWrite(ctx, tx, t.k, w); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("load into %s: %w", t.k, err)
	}
	if err := tx.Commit(); err != nil {
		return loadDuckError(err)
	}
	s.cat.setTable(t.table)
	return nil
}

// loadDuckError reports a DuckDB error of a load as BigQuery reports a load
// error: reason invalid where a query would say invalidQuery.
func loadDuckError(err error) error {
	ae := asAPIError(duckError(err))
	if ae.Reason == "invalidQuery" {
		return errInvalid("%s", ae.Message)
	}
	return ae
}

// matchSchema checks that rows of schema provided can be written to a table
// of schema table, with BigQuery's rules and messages: every field exists in
// the table with the same type, a REQUIRED column stays REQUIRED, and every
// REQUIRED column is provided.
func matchSchema(k tableKey, table, provided *bq.TableSchema) error {
	for _, f := range provided.Fields {
		tf := fieldNamed(table, f.Name)
		switch {
		case tf == nil:
			return errInvalid("Provided Schema does not match Table %s. Cannot add fields (field: %s)", k, f.Name)
		case tf.Type != f.Type:
			return errInvalid("Provided Schema does not match Table %s. Field %s has changed type from %s to %s", k, tf.Name, tf.Type, f.Type)
		case tf.Mode == "REQUIRED" && f.Mode != "REQUIRED":
			return errInvalid("Provided Schema does not match Table %s. Field %s has changed mode from REQUIRED to %s", k, tf.Name, f.Mode)
		}
	}
	for _, tf := range table.Fields {
		if tf.Mode == "REQUIRED" && fieldNamed(provided, tf.Name) == nil {
			return errInvalid("Provided Schema does not match Table %s. Field %s is missing in new schema", k, tf.Name)
		}
	}
	return nil
}

// resolveSources lists the objects that the source URIs name, in order. A
// URI may hold one * in its object name, which matches any characters; a
// URI that matches nothing is notFound.
func (s *Server) resolveSources(ctx context.Context, uris []string) ([]loadSource, error) {
	var out []loadSource
	for _, uri := range uris {
		rest, ok := strings.CutPrefix(uri, "gs://")
		bucket, object, _ := strings.Cut(rest, "/")
		if !ok || bucket == "" || object == "" || strings.Contains(bucket, "*") {
			return nil, errInvalid("Invalid source URI %q: it must be gs://bucket/object", uri)
		}
		prefix, suffix, wildcard := strings.Cut(object, "*")
		if strings.Contains(suffix, "*") {
			return nil, errInvalid("Invalid source URI %q: only one * wildcard is allowed", uri)
		}
		if !wildcard {
			attrs, err := s.storage.Bucket(bucket).Object(object).Attrs(ctx)
			if isNotFound(err) {
				return nil, errNotFound("URI %s", uri)
			}
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %w", uri, err)
			}
			out = append(out, loadSource{uri: uri, bucket: bucket, object: object, generation: attrs.Generation, size: attrs.Size})
			continue
		}
		q := &storage.Query{Prefix: prefix}
		if err := q.SetAttrSelection([]string{"Name", "Generation", "Size"}); err != nil {
			return nil, fmt.Errorf("resolve %s: %w", uri, err)
		}
		found := false
		it := s.storage.Bucket(bucket).Objects(ctx, q)
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if isNotFound(err) {
				return nil, errNotFound("URI %s", uri)
			}
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", uri, err)
			}
			if rest, ok := strings.CutPrefix(attrs.Name, prefix); ok && strings.HasSuffix(rest, suffix) {
				found = true
				out = append(out, loadSource{uri: "gs://" + bucket + "/" + attrs.Name, bucket: bucket, object: attrs.Name, generation: attrs.Generation, size: attrs.Size})
			}
		}
		if !found {
			return nil, errNotFound("URI %s", uri)
		}
	}
	return out, nil
}

// isNotFound reports whether a Cloud Storage error means that the bucket or
// the object does not exist.
func isNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) ||
		(errors.As(err, &ge) && ge.Code == http.StatusNotFound)
}

// inFile names the file an error of a load comes from, as BigQuery does.
func inFile(err error, uri string) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return fmt.Errorf("%s: %w", uri, err)
	}
	sep := ". "
	if strings.HasSuffix(ae.Message, ".") {
		sep = " "
	}
	return &apiError{Code: ae.Code, Reason: ae.Reason, Message: ae.Message + sep + "File: " + uri}
}

// stager reads a load's files into the staging table.
type stager struct {
	ctx     context.Context
	storage *storage.Client
	target  *loadTarget
	cfg     *bq.JobConfigurationLoad

	conn driver.Conn
	app  *duckdb.Appender
	row  []driver.Value

	rows  int64
	bytes int64 // BigQuery's logical size of the rows; see value
}

// run returns the function that sql.Conn.Raw runs: the Appender needs the
// driver's connection, and the staging table is private to it.
func (st *stager) run(sources []loadSource) func(any) error {
	return func(dc any) error {
		conn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("load: unexpected DuckDB connection %T", dc)
		}
		st.conn = conn
		var err error
		for _, src := range sources {
			if err = st.file(src); err != nil {
				break
			}
		}
		if st.app != nil {
			if cerr := st.app.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("load: flush the staging table: %w", cerr)
			}
		}
		return err
	}
}

// begin creates the staging table and its Appender once the destination's
// schema is known: from the job or the table, or else from the first file.
func (st *stager) begin(fields []avroField) error {
	if st.app != nil {
		return nil
	}
	t := st.target.table
	if t.Schema == nil {
		t.Schema = &bq.TableSchema{}
		for _, f := range fields {
			t.Schema.Fields = append(t.Schema.Fields, &bq.TableFieldSchema{Name: f.name, Type: f.kind.bqType(), Mode: f.mode})
		}
		if err := normalizeSchema(t.Schema); err != nil {
			return err
		}
	}
	cols := make([]string, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		cols[i] = quoteIdent(f.Name) + " " + fieldTypes[f.Type].duck
	}
	execer, ok := st.conn.(driver.ExecerContext)
	if !ok {
		return errors.New("load: the DuckDB connection cannot execute statements")
	}
	ddl := "CREATE OR REPLACE TEMP TABLE " + stagingTable + " (" + strings.Join(cols, ", ") + ")"
	if _, err := execer.ExecContext(st.ctx, ddl, nil); err != nil {
		return fmt.Errorf("load: create the staging table: %w", err)
	}
	app, err := duckdb.NewAppender(st.conn, "temp", "main", stagingTable)
	if err != nil {
		return fmt.Errorf("load: open the staging appender: %w", err)
	}
	st.app = app
	st.row = make([]driver.Value, len(cols))
	return nil
}

// file appends the rows of one file, in the job's source format, to the
// staging table.
func (st *stager) file(src loadSource) error {
	var r io.ReadCloser
	var err error
	if src.path != "" {
		r, err = os.Open(src.path)
	} else {
		r, err = st.storage.Bucket(src.bucket).Object(src.object).Generation(src.generation).NewReader(st.ctx)
	}
	if isNotFound(err) {
		return errNotFound("URI %s", src.uri)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", src.uri, err)
	}
	defer r.Close()
	in := &sourceReader{r: r}
	if st.cfg.SourceFormat == "CSV" {
		return st.csvFile(src, in)
	}
	return st.avroFile(src, in)
}

// avroFile appends the rows of one Avro file to the staging table.
func (st *stager) avroFile(src loadSource, in *sourceReader) error {
	ocf, err := goavro.NewOCFReader(bufio.NewReaderSize(in, readBuffer))
	if err != nil {
		if in.err != nil {
			return fmt.Errorf("read %s: %w", src.uri, in.err)
		}
		return inFile(errInvalid("Error while reading data, error message: The Apache Avro library failed to parse the header with the following error: %v", err), src.uri)
	}
	fields, err := avroFields(ocf.MetaData()["avro.schema"], st.cfg.UseAvroLogicalTypes)
	if err != nil {
		return inFile(err, src.uri)
	}
	if err := st.begin(fields); err != nil {
		return inFile(err, src.uri)
	}
	cols, err := st.columns(fields)
	if err != nil {
		return inFile(err, src.uri)
	}
	for n := int64(1); ocf.Scan(); n++ {
		datum, err := ocf.Read()
		if err != nil {
			break // ocf.Err reports it
		}
		record, ok := datum.(map[string]any)
		if !ok {
			return inFile(errInvalid("Error while reading data, error message: row %d is not a record", n), src.uri)
		}
		for i, c := range cols {
			v, size, err := c.value(record)
			if err != nil {
				return inFile(errInvalid("Error while reading data, error message: Field %s: %v (row %d)", c.name, err, n), src.uri)
			}
			st.row[i] = v
			st.bytes += size
		}
		if err := st.app.AppendRow(st.row...); err != nil {
			return fmt.Errorf("load: append row %d of %s: %w", n, src.uri, err)
		}
		st.rows++
	}
	if err := ocf.Err(); err != nil {
		if in.err != nil {
			return fmt.Errorf("read %s: %w", src.uri, in.err)
		}
		return inFile(errInvalid("Error while reading data, error message: The Apache Avro library failed to read data with the following error: %v", err), src.uri)
	}
	return nil
}

// columns matches a file's fields to the destination's columns, by name and
// ignoring case, after checking that the schemas agree.
func (st *stager) columns(fields []avroField) ([]loadColumn, error) {
	schema := st.target.table.Schema
	provided := &bq.TableSchema{}
	for _, f := range fields {
		provided.Fields = append(provided.Fields, &bq.TableFieldSchema{Name: f.name, Type: f.kind.bqType(), Mode: f.mode})
	}
	if err := normalizeSchema(provided); err != nil {
		return nil, err
	}
	if err := matchSchema(st.target.k, schema, provided); err != nil {
		return nil, err
	}
	cols := make([]loadColumn, len(schema.Fields))
	for i, tf := range schema.Fields {
		cols[i] = loadColumn{name: tf.Name, maxLength: tf.MaxLength}
		for _, f := range fields {
			if strings.EqualFold(f.name, tf.Name) {
				cols[i].avroName, cols[i].kind, cols[i].present = f.name, f.kind, true
			}
		}
	}
	return cols, nil
}

// sourceReader keeps the error of the object reader, so that a failed read
// is told apart from a corrupt file.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		s.err = err
	}
	return n, err
}

// avroKind is what an Avro field holds, as goavro decodes it, and the
// BigQuery type it loads as.
type avroKind uint8

const (
	kindInteger         avroKind = iota // int or long → INTEGER
	kindFloat                           // float or double → FLOAT
	kindBoolean                         // boolean → BOOLEAN
	kindString                          // string → STRING
	kindBytes                           // bytes → BYTES
	kindTimestamp                       // timestamp-micros or -millis → TIMESTAMP
	kindDate                            // date → DATE
	kindTimestampMicros                 // timestamp-micros → INTEGER, without logical types
	kindTimestampMillis                 // timestamp-millis → INTEGER, without logical types
	kindDateDays                        // date → INTEGER, without logical types
	kindTimeMillis                      // time-millis → INTEGER, without logical types
	kindTimeMicros                      // time-micros → INTEGER, without logical types
)

func (k avroKind) bqType() string {
	switch k {
	case kindFloat:
		return "FLOAT"
	case kindBoolean:
		return "BOOLEAN"
	case kindString:
		return "STRING"
	case kindBytes:
		return "BYTES"
	case kindTimestamp:
		return "TIMESTAMP"
	case kindDate:
		return "DATE"
	}
	return "INTEGER"
}

// avroField is a field of a file's record schema.
type avroField struct {
	name string
	kind avroKind
	mode string // NULLABLE for a union with null, else REQUIRED
}

// avroFields reads the fields of an Avro file's schema, which must be a
// record of fields the emulator can load.
func avroFields(raw []byte, logical bool) ([]avroField, error) {
	var schema struct {
		Type   any `json:"type"`
		Fields []struct {
			Name string `json:"name"`
			Type any    `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, errInvalid("Error while reading data, error message: the Avro schema of the file is not valid JSON: %v", err)
	}
	if schema.Type != "record" {
		return nil, errInvalid("Error while reading data, error message: the Avro schema of the file is %v, not a record; the emulator loads records only", schema.Type)
	}
	fields := make([]avroField, len(schema.Fields))
	for i, f := range schema.Fields {
		kind, nullable, err := avroType(f.Type, logical)
		if err != nil {
			return nil, errInvalid("Unsupported Avro type for field %s: %v is not supported by the emulator", f.Name, err)
		}
		fields[i] = avroField{name: f.Name, kind: kind, mode: "REQUIRED"}
		if nullable {
			fields[i].mode = "NULLABLE"
		}
	}
	return fields, nil
}

// avroType maps an Avro field type to what it loads as, as BigQuery does:
// a union of null and one type is that type, NULLABLE.
func avroType(t any, logical bool) (avroKind, bool, error) {
	switch t := t.(type) {
	case string:
		k, err := avroPrimitive(t, "", logical)
		return k, false, err
	case map[string]any:
		name, ok := t["type"].(string)
		if !ok {
			return 0, false, fmt.Errorf("type %v", t["type"])
		}
		logicalType, _ := t["logicalType"].(string)
		k, err := avroPrimitive(name, logicalType, logical)
		return k, false, err
	case []any:
		if len(t) == 2 && (t[0] == "null") != (t[1] == "null") {
			other := t[0]
			if other == "null" {
				other = t[1]
			}
			if _, union := other.([]any); !union {
				k, _, err := avroType(other, logical)
				return k, true, err
			}
		}
		return 0, false, fmt.Errorf("the union %v", t)
	}
	return 0, false, fmt.Errorf("type %v", t)
}

// avroPrimitive maps a named Avro type and its logical type. A logical type
// on the wrong base type is ignored, as Avro readers (goavro and BigQuery)
// ignore it.
func avroPrimitive(name, logicalType string, logical bool) (avroKind, error) {
	switch name + "." + logicalType {
	case "long.timestamp-micros":
		if logical {
			return kindTimestamp, nil
		}
		return kindTimestampMicros, nil
	case "long.timestamp-millis":
		if logical {
			return kindTimestamp, nil
		}
		return kindTimestampMillis, nil
	case "int.date":
		if logical {
			return kindDate, nil
		}
		return kindDateDays, nil
	case "int.time-millis", "long.time-micros":
		if logical {
			return 0, fmt.Errorf("logical type %s (TIME)", logicalType)
		}
		if logicalType == "time-millis" {
			return kindTimeMillis, nil
		}
		return kindTimeMicros, nil
	case "bytes.decimal", "fixed.decimal":
		return 0, fmt.Errorf("logical type %s", logicalType)
	case "long.local-timestamp-micros", "long.local-timestamp-millis":
		if logical {
			return 0, fmt.Errorf("logical type %s (DATETIME)", logicalType)
		}
	}
	switch name {
	case "int", "long":
		return kindInteger, nil
	case "float", "double":
		return kindFloat, nil
	case "boolean":
		return kindBoolean, nil
	case "string":
		return kindString, nil
	case "bytes":
		return kindBytes, nil
	}
	return 0, fmt.Errorf("type %s", name)
}

// loadColumn is a destination column and the file field that fills it.
type loadColumn struct {
	name      string // the column's name
	maxLength int64
	present   bool   // false: the file lacks the column, which is NULL
	avroName  string // the field's name in the file
	kind      avroKind
}

// value converts a column's value in a decoded record to what the Appender
// takes, and returns its size as BigQuery counts it: 8 bytes for numbers,
// timestamps and dates, 1 for booleans, 2 plus the length for strings and
// bytes, 0 for NULL. The sum is the load's outputBytes, an estimate of the
// stored size.
func (c *loadColumn) value(record map[string]any) (driver.Value, int64, error) {
	if !c.present {
		return nil, 0, nil
	}
	v := record[c.avroName]
	if u, ok := v.(map[string]any); ok {
		for _, inner := range u {
			v = inner
		}
	}
	if v == nil {
		return nil, 0, nil
	}
	switch c.kind {
	case kindInteger:
		switch n := v.(type) {
		case int64:
			return n, 8, nil
		case int32:
			return int64(n), 8, nil
		}
	case kindFloat:
		switch f := v.(type) {
		case float64:
			return f, 8, nil
		case float32:
			return float64(f), 8, nil
		}
	case kindBoolean:
		if b, ok := v.(bool); ok {
			return b, 1, nil
		}
	case kindString:
		if s, ok := v.(string); ok {
			if !utf8.ValidString(s) {
				return nil, 0, errors.New("invalid UTF-8 in a STRING value")
			}
			if n := int64(utf8.RuneCountInString(s)); c.maxLength > 0 && n > c.maxLength {
				return nil, 0, fmt.Errorf("STRING(%d) has maximum length %d but got a value with length %d", c.maxLength, c.maxLength, n)
			}
			return s, 2 + int64(len(s)), nil
		}
	case kindBytes:
		if b, ok := v.([]byte); ok {
			if n := int64(len(b)); c.maxLength > 0 && n > c.maxLength {
				return nil, 0, fmt.Errorf("BYTES(%d) has maximum length %d but got a value with length %d", c.maxLength, c.maxLength, n)
			}
			return b, 2 + int64(len(b)), nil
		}
	case kindTimestamp, kindDate:
		if t, ok := v.(time.Time); ok {
			if t.Before(minTimestamp) || t.After(maxTimestamp) {
				return nil, 0, fmt.Errorf("%s value %s is out of range", c.kind.bqType(), t.Format(time.RFC3339Nano))
			}
			return t, 8, nil
		}
	case kindTimestampMicros, kindTimestampMillis, kindDateDays:
		if t, ok := v.(time.Time); ok {
			switch c.kind {
			case kindTimestampMicros:
				return t.UnixMicro(), 8, nil
			case kindTimestampMillis:
				return t.UnixMilli(), 8, nil
			}
			return t.Unix() / 86400, 8, nil
		}
	case kindTimeMillis, kindTimeMicros:
		if d, ok := v.(time.Duration); ok {
			if c.kind == kindTimeMillis {
				return d.Milliseconds(), 8, nil
			}
			return d.Microseconds(), 8, nil
		}
	}
	return nil, 0, fmt.Errorf("unexpected value %T for a %s column", v, c.kind.bqType())
}
