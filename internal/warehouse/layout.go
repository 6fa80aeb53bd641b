package warehouse

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/bigquery"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/schemas"
)

// The dataset holds, per dictionary table T:
//
//   - T_raw, append-only: T's columns, then the ingestion columns of
//     schemas/system/ingestion_columns.json. Loads and API inserts only ever
//     append to it.
//   - T, a view that keeps the latest ingested row per key (the table's first
//     column): what readers (metrics, backups, analysts) query.
//
// and the system tables rejected_rows and ingest_log.
const (
	RejectedRows = "rejected_rows"
	IngestLog    = "ingest_log"
)

// The ingestion columns of every raw table.
const (
	ColIngestionID = "_ingestion_id"
	ColIngestedAt  = "_ingested_at"
	ColOrdinal     = "_ordinal"
)

// RawTable returns the name of the append-only table behind a dictionary
// table.
func RawTable(table string) string { return table + "_raw" }

// systemSchema reads schemas/system/<name>.json.
func systemSchema(name string) (bigquery.Schema, error) {
	data, err := fs.ReadFile(schemas.FS, "system/"+name+".json")
	if err != nil {
		return nil, err
	}
	s, err := bigquery.SchemaFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("schemas/system/%s.json: %w", name, err)
	}
	return s, nil
}

var systemSchemas = sync.OnceValues(func() (map[string]bigquery.Schema, error) {
	out := map[string]bigquery.Schema{}
	for _, name := range []string{"ingestion_columns", RejectedRows, IngestLog} {
		s, err := systemSchema(name)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
})

// SystemSchema returns the schema of rejected_rows, ingest_log or the
// ingestion columns, as embedded from schemas/system. The embedded files are
// checked by this package's tests, so an error here means a broken build.
func SystemSchema(name string) bigquery.Schema {
	all, err := systemSchemas()
	if err != nil {
		panic(fmt.Sprintf("embedded system schemas are invalid: %v", err))
	}
	s, ok := all[name]
	if !ok {
		panic(fmt.Sprintf("no system schema %q", name))
	}
	return copySchema(s)
}

func copySchema(s bigquery.Schema) bigquery.Schema {
	out := make(bigquery.Schema, len(s))
	for i, f := range s {
		c := *f
		out[i] = &c
	}
	return out
}

// Layout is how a table is partitioned and clustered, from
// schemas/system/table_layout.json (BigQuery's REST field names).
type Layout struct {
	TimePartitioning *struct {
		Type  string `json:"type"`
		Field string `json:"field"`
		// ExpirationMs deletes a partition this long after its time:
		// rejected_rows keeps raw rows, personal data, 90 days.
		ExpirationMs int64 `json:"expirationMs,string"`
	} `json:"timePartitioning"`
	Clustering *struct {
		Fields []string `json:"fields"`
	} `json:"clustering"`
}

var layouts = sync.OnceValues(func() (map[string]Layout, error) {
	data, err := fs.ReadFile(schemas.FS, "system/table_layout.json")
	if err != nil {
		return nil, err
	}
	var m map[string]Layout
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("schemas/system/table_layout.json: %w", err)
	}
	return m, nil
})

// TableMetadata returns the metadata that creates a table of the dataset:
// its schema, description, and partitioning and clustering from the layout.
func TableMetadata(table string, schema bigquery.Schema, description string) (*bigquery.TableMetadata, error) {
	all, err := layouts()
	if err != nil {
		return nil, err
	}
	md := &bigquery.TableMetadata{Schema: schema, Description: description}
	l := all[table]
	if p := l.TimePartitioning; p != nil {
		md.TimePartitioning = &bigquery.TimePartitioning{Type: bigquery.TimePartitioningType(p.Type), Field: p.Field,
			Expiration: time.Duration(p.ExpirationMs) * time.Millisecond}
	}
	if c := l.Clustering; c != nil {
		md.Clustering = &bigquery.Clustering{Fields: c.Fields}
	}
	return md, nil
}

// RawSchema returns the schema of a raw table: the dictionary table's
// columns, then the ingestion columns.
func RawSchema(t *dictionary.Table) bigquery.Schema {
	return append(t.BigQuerySchema(), SystemSchema("ingestion_columns")...)
}

// ViewQuery returns the GoogleSQL of a table's reader view: per key, the row
// ingested last. It fills schemas/system/reader_view.sql, the template that
// Terraform fills too.
func ViewQuery(dataset string, t *dictionary.Table) string {
	tmpl, err := fs.ReadFile(schemas.FS, "system/reader_view.sql")
	if err != nil {
		panic(fmt.Sprintf("embedded reader view template: %v", err))
	}
	return strings.NewReplacer(
		"${dataset}", dataset,
		"${raw_table}", RawTable(t.Name),
		"${columns}", strings.Join(t.ColumnNames(), ", "),
		"${key}", t.Key().Name,
	).Replace(string(tmpl))
}

// Rejection is a rejected_rows row, typed: the first broken rule as
// columns, every broken rule as JSON, and the raw row as text (invalid
// UTF-8 replaced) plus its exact bytes when they are not UTF-8. An empty
// Source (an API batch), Field or nil RawBytes is a NULL, and Generation
// is NULL with Source.
type Rejection struct {
	At                         time.Time
	IngestionID, Table, Source string
	Generation, RowNumber      int64
	Raw                        string
	RawBytes                   []byte
	Rule, Field, Message       string
	ErrorCount                 int64
	Errors                     string
}

// Reject returns the rejected_rows row of the row numbered rowNumber, raw,
// that broke rerr's rules, with r's At, IngestionID, Table, Source and
// Generation: those of the file or batch. errors is ErrorsJSON of rerr's
// errors, which a caller refusing many rows alike may keep.
func (r Rejection) Reject(rowNumber int64, raw string, rerr *dictionary.RowError, errors string) Rejection {
	first := rerr.Errors[0]
	r.RowNumber, r.Raw, r.RawBytes = rowNumber, raw, nil
	r.Rule, r.Field, r.Message = string(first.Rule), first.Field, first.Message
	r.ErrorCount, r.Errors = int64(len(rerr.Errors)), errors
	if !utf8.ValidString(raw) {
		r.RawBytes = []byte(raw)
		r.Raw = strings.ToValidUTF8(raw, "\uFFFD")
	}
	return r
}

// ErrorsJSON returns the errors column of a rejected_rows row: every rule
// the row broke, as JSON, the members of each as dictionary.FieldError's
// tags name them. It writes the JSON itself: encoding/json's reflection cost
// a load as much as a tenth of its validation when the refused rows' messages
// differ. TestErrorsJSON holds it to encoding/json.
func ErrorsJSON(errs []dictionary.FieldError) string {
	b := make([]byte, 0, 96*len(errs)+2)
	b = append(b, '[')
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if e.Field != "" {
			b = append(b, `"field":`...)
			b = appendQuote(b, e.Field)
			b = append(b, ',')
		}
		b = append(b, `"rule":`...)
		b = appendQuote(b, string(e.Rule))
		b = append(b, `,"message":`...)
		b = appendQuote(b, e.Message)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// appendQuote appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as
// encoding/json writes it.
func appendQuote(b []byte, s string) []byte {
	b, _ = jsontext.AppendQuote(b, s)
	return b
}

// Values returns the row's values in its schema's order.
func (r Rejection) Values() []any {
	var field, src, gen, rawBytes any
	if r.Field != "" {
		field = r.Field
	}
	if r.Source != "" {
		src, gen = r.Source, r.Generation
	}
	if r.RawBytes != nil {
		rawBytes = r.RawBytes
	}
	return []any{r.At, r.IngestionID, r.Table, src, gen, r.RowNumber, r.Raw, rawBytes,
		r.Rule, field, r.Message, r.ErrorCount, r.Errors}
}

// RejectedRow returns the values of the rejected_rows row of the row
// numbered rowNumber, raw, that broke rerr's rules. source and generation
// are those of a file; "" and 0 for an API batch.
func RejectedRow(at time.Time, ingestionID, table, source string, generation, rowNumber int64, raw []byte, rerr *dictionary.RowError) []any {
	file := Rejection{At: at, IngestionID: ingestionID, Table: table, Source: source, Generation: generation}
	return file.Reject(rowNumber, string(raw), rerr, ErrorsJSON(rerr.Errors)).Values()
}
