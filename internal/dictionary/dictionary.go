// Package dictionary is the data dictionary of hiring-pipeline: the tables,
// their columns and the rules every row must satisfy, derived from the
// BigQuery JSON schema files in schemas/.
package dictionary

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/schemas"
)

// Type is a column type the dictionary knows how to validate.
type Type string

// The supported column types, spelled as in BigQuery schemas.
const (
	Integer   Type = "INTEGER"
	String    Type = "STRING"
	Timestamp Type = "TIMESTAMP"
)

// Field is one column of a table.
type Field struct {
	Name        string
	Type        Type
	Required    bool
	MaxLength   int // in characters; 0 means no limit
	Description string
}

// Table is one table of the dictionary. Its first field is its key: readers
// see one row per key value.
type Table struct {
	Name   string
	Fields []Field

	schemaJSON []byte
	bqSchema   bigquery.Schema
	index      map[string]int
}

// Dictionary is the set of tables.
type Dictionary struct {
	tables []*Table
	byName map[string]*Table
}

// schemaField is one entry of a BigQuery JSON schema file.
type schemaField struct {
	Name        string        `json:"name"`
	Type        string        `json:"type"`
	Mode        string        `json:"mode"`
	Description string        `json:"description"`
	MaxLength   string        `json:"maxLength"`
	Fields      []schemaField `json:"fields"`
}

// Load reads every <table>.json file at the root of fsys. It refuses types,
// modes and names that the rest of the pipeline cannot handle, so that a
// schema file is either usable everywhere or rejected here.
func Load(fsys fs.FS) (*Dictionary, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("dictionary.Load: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("dictionary.Load: no schema files")
	}
	d := &Dictionary{byName: make(map[string]*Table, len(names))}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("dictionary.Load: %w", err)
		}
		t, err := parseTable(strings.TrimSuffix(path.Base(name), ".json"), data)
		if err != nil {
			return nil, fmt.Errorf("dictionary.Load: %s: %w", name, err)
		}
		d.tables = append(d.tables, t)
		d.byName[t.Name] = t
	}
	slices.SortFunc(d.tables, func(a, b *Table) int { return strings.Compare(a.Name, b.Name) })
	return d, nil
}

var defaultDictionary = sync.OnceValues(func() (*Dictionary, error) { return Load(schemas.FS) })

// Default returns the dictionary embedded from schemas/. The embedded files
// are checked by this package's tests, so an error here means a broken build.
func Default() *Dictionary {
	d, err := defaultDictionary()
	if err != nil {
		panic(fmt.Sprintf("embedded data dictionary is invalid: %v", err))
	}
	return d
}

func parseTable(name string, data []byte) (*Table, error) {
	if !validName(name) {
		return nil, fmt.Errorf("table name %q: use letters, digits and underscores", name)
	}
	var raw []schemaField
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a BigQuery JSON schema: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("no fields")
	}
	t := &Table{Name: name, schemaJSON: data, index: make(map[string]int, len(raw))}
	// BigQuery column names are case-insensitive: "id" and "ID" collide.
	folded := make(map[string]bool, len(raw))
	for i, sf := range raw {
		f, err := parseField(sf)
		if err != nil {
			return nil, fmt.Errorf("field %d: %w", i, err)
		}
		if folded[strings.ToLower(f.Name)] {
			return nil, fmt.Errorf("field %q: declared twice (column names are case-insensitive)", f.Name)
		}
		folded[strings.ToLower(f.Name)] = true
		t.index[f.Name] = i
		t.Fields = append(t.Fields, f)
	}
	if !t.Fields[0].Required {
		return nil, fmt.Errorf("key field %q must be REQUIRED", t.Fields[0].Name)
	}
	bqSchema, err := bigquery.SchemaFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("bigquery.SchemaFromJSON: %w", err)
	}
	t.bqSchema = bqSchema
	return t, nil
}

func parseField(sf schemaField) (Field, error) {
	// Types and modes are matched in upper case only, as
	// bigquery.SchemaFromJSON does: a lower-case "required" would be REQUIRED
	// here and NULLABLE in BigQuerySchema.
	f := Field{Name: sf.Name, Type: Type(sf.Type), Description: sf.Description}
	if !validName(sf.Name) {
		return f, fmt.Errorf("name %q: use letters, digits and underscores", sf.Name)
	}
	if f.Type == "INT64" {
		f.Type = Integer
	}
	switch f.Type {
	case Integer, String, Timestamp:
	default:
		return f, fmt.Errorf("field %q: type %q is not supported (use INTEGER, STRING or TIMESTAMP)", sf.Name, sf.Type)
	}
	if len(sf.Fields) > 0 {
		return f, fmt.Errorf("field %q: nested fields are not supported", sf.Name)
	}
	switch sf.Mode {
	case "REQUIRED":
		f.Required = true
	case "", "NULLABLE":
	default:
		return f, fmt.Errorf("field %q: mode %q is not supported (use REQUIRED or NULLABLE)", sf.Name, sf.Mode)
	}
	if sf.MaxLength != "" {
		n, err := strconv.Atoi(sf.MaxLength)
		if err != nil || n <= 0 || f.Type != String {
			return f, fmt.Errorf("field %q: maxLength %q must be a positive integer on a STRING field", sf.Name, sf.MaxLength)
		}
		f.MaxLength = n
	}
	return f, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 300 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Tables returns every table, sorted by name.
func (d *Dictionary) Tables() []*Table { return slices.Clone(d.tables) }

// Names returns every table name, sorted.
func (d *Dictionary) Names() []string {
	names := make([]string, len(d.tables))
	for i, t := range d.tables {
		names[i] = t.Name
	}
	return names
}

// Table returns the table called name.
func (d *Dictionary) Table(name string) (*Table, bool) {
	t, ok := d.byName[name]
	return t, ok
}

// Key returns the table's key field, its first column.
func (t *Table) Key() Field { return t.Fields[0] }

// Field returns the field called name.
func (t *Table) Field(name string) (Field, bool) {
	i, ok := t.index[name]
	if !ok {
		return Field{}, false
	}
	return t.Fields[i], true
}

// ColumnNames returns the field names in schema order.
func (t *Table) ColumnNames() []string {
	names := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		names[i] = f.Name
	}
	return names
}

// SchemaJSON returns the table's schema file, byte for byte.
func (t *Table) SchemaJSON() []byte { return slices.Clone(t.schemaJSON) }

// BigQuerySchema returns the table's schema for cloud.google.com/go/bigquery,
// with modes, descriptions and maximum lengths.
// The result is a copy that the caller may change.
func (t *Table) BigQuerySchema() bigquery.Schema {
	s := make(bigquery.Schema, len(t.bqSchema))
	for i, f := range t.bqSchema {
		c := *f
		s[i] = &c
	}
	return s
}

// IsHeader reports whether a CSV record names the table's columns in order,
// which is how a tolerated header row looks.
func (t *Table) IsHeader(record []string) bool {
	if len(record) != len(t.Fields) {
		return false
	}
	for i, f := range t.Fields {
		if strings.TrimSpace(record[i]) != f.Name {
			return false
		}
	}
	return true
}
