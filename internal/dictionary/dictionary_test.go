package dictionary_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/schemas"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	type column struct {
		Name      string
		Type      dictionary.Type
		MaxLength int
	}
	// The data dictionary of ARCHITECTURE.md.
	want := map[string][]column{
		"departments": {
			{"id", dictionary.Integer, 0},
			{"department", dictionary.String, 255},
		},
		"hired_employees": {
			{"id", dictionary.Integer, 0},
			{"name", dictionary.String, 255},
			{"datetime", dictionary.Timestamp, 0},
			{"department_id", dictionary.Integer, 0},
			{"job_id", dictionary.Integer, 0},
		},
		"jobs": {
			{"id", dictionary.Integer, 0},
			{"job", dictionary.String, 255},
		},
	}
	d := dictionary.Default()
	if diff := cmp.Diff([]string{"departments", "hired_employees", "jobs"}, d.Names()); diff != "" {
		t.Fatalf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, tbl := range d.Tables() {
		got := make([]column, len(tbl.Fields))
		for i, f := range tbl.Fields {
			got[i] = column{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength}
			if !f.Required {
				t.Errorf("%s.%s: not REQUIRED", tbl.Name, f.Name)
			}
			if f.Description == "" {
				t.Errorf("%s.%s: no description", tbl.Name, f.Name)
			}
		}
		if diff := cmp.Diff(want[tbl.Name], got); diff != "" {
			t.Errorf("%s columns mismatch (-want +got):\n%s", tbl.Name, diff)
		}
		if key := tbl.Key(); key.Name != "id" {
			t.Errorf("%s: Key() = %q, want id", tbl.Name, key.Name)
		}
		file, err := schemas.FS.ReadFile(tbl.Name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tbl.SchemaJSON(), file) {
			t.Errorf("%s: SchemaJSON() differs from schemas/%s.json", tbl.Name, tbl.Name)
		}
	}
}

func TestDictionary_Table(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ok   bool
	}{
		{"departments", true},
		{"jobs", true},
		{"hired_employees", true},
		{"Jobs", false},
		{"rejected_rows", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl, ok := dictionary.Default().Table(tc.name)
			if ok != tc.ok {
				t.Fatalf("Table(%q) ok = %v, want %v", tc.name, ok, tc.ok)
			}
			if ok && tbl.Name != tc.name {
				t.Errorf("Table(%q).Name = %q", tc.name, tbl.Name)
			}
		})
	}
}

func TestTable_Field(t *testing.T) {
	t.Parallel()
	tbl := table(t, "hired_employees")
	if diff := cmp.Diff([]string{"id", "name", "datetime", "department_id", "job_id"}, tbl.ColumnNames()); diff != "" {
		t.Errorf("ColumnNames() mismatch (-want +got):\n%s", diff)
	}
	f, ok := tbl.Field("datetime")
	if !ok || f.Type != dictionary.Timestamp {
		t.Errorf("Field(datetime) = %+v, %v; want a TIMESTAMP field", f, ok)
	}
	if _, ok := tbl.Field("salary"); ok {
		t.Errorf("Field(salary) found, want not found")
	}
}

func TestTable_IsHeader(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		record []string
		want   bool
	}{
		{"column names", []string{"id", "department"}, true},
		{"padded with spaces", []string{" id ", "department "}, true},
		{"other case", []string{"ID", "Department"}, false},
		{"wrong order", []string{"department", "id"}, false},
		{"too few", []string{"id"}, false},
		{"too many", []string{"id", "department", "x"}, false},
		{"a data row", []string{"1", "Sales"}, false},
		{"empty", nil, false},
	}
	tbl := table(t, "departments")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tbl.IsHeader(tc.record); got != tc.want {
				t.Errorf("IsHeader(%q) = %v, want %v", tc.record, got, tc.want)
			}
		})
	}
}

func TestTable_BigQuerySchema(t *testing.T) {
	t.Parallel()
	tbl := table(t, "hired_employees")
	s := tbl.BigQuerySchema()
	wantTypes := []bigquery.FieldType{bigquery.IntegerFieldType, bigquery.StringFieldType, bigquery.TimestampFieldType, bigquery.IntegerFieldType, bigquery.IntegerFieldType}
	if len(s) != len(wantTypes) {
		t.Fatalf("got %d fields, want %d", len(s), len(wantTypes))
	}
	for i, f := range s {
		if f.Name != tbl.Fields[i].Name || f.Type != wantTypes[i] || !f.Required || f.Description == "" {
			t.Errorf("field %d: got %+v, want %s %s REQUIRED with a description", i, f, tbl.Fields[i].Name, wantTypes[i])
		}
	}
	if s[1].MaxLength != 255 {
		t.Errorf("name MaxLength = %d, want 255", s[1].MaxLength)
	}
	s[0].Name = "changed"
	if got := tbl.BigQuerySchema()[0].Name; got != "id" {
		t.Errorf("changing a returned schema changed the table: field 0 is %q", got)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"people.json": {Data: []byte(`[
			{"name": "id", "type": "INT64", "mode": "REQUIRED"},
			{"name": "nick", "type": "STRING", "maxLength": "3", "description": "d"},
			{"name": "seen", "type": "TIMESTAMP", "mode": "NULLABLE"}
		]`)},
		"README.md":      {Data: []byte("not a schema")},
		"sub/other.json": {Data: []byte("not read: only the root counts")},
	}
	d, err := dictionary.Load(fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff([]string{"people"}, d.Names()); diff != "" {
		t.Fatalf("Names() mismatch (-want +got):\n%s", diff)
	}
	tbl, _ := d.Table("people")
	want := []dictionary.Field{
		{Name: "id", Type: dictionary.Integer, Required: true},
		{Name: "nick", Type: dictionary.String, MaxLength: 3, Description: "d"},
		{Name: "seen", Type: dictionary.Timestamp},
	}
	if diff := cmp.Diff(want, tbl.Fields); diff != "" {
		t.Errorf("Fields mismatch (-want +got):\n%s", diff)
	}
	for i, f := range tbl.BigQuerySchema() {
		if f.Name != want[i].Name || f.Required != want[i].Required || f.MaxLength != int64(want[i].MaxLength) {
			t.Errorf("BigQuerySchema field %d = %+v, want it to match %+v", i, f, want[i])
		}
	}
}

func TestLoad_rejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr string
	}{
		{
			name:    "no schema files",
			fsys:    fstest.MapFS{"README.md": {Data: []byte("x")}},
			wantErr: "no schema files",
		},
		{
			name:    "not JSON",
			fsys:    schemaFS("t.json", `{"name": "id"`),
			wantErr: "t.json: not a BigQuery JSON schema",
		},
		{
			name:    "an object instead of an array",
			fsys:    schemaFS("t.json", `{"name": "id", "type": "INTEGER", "mode": "REQUIRED"}`),
			wantErr: "t.json: not a BigQuery JSON schema",
		},
		{
			name:    "no fields",
			fsys:    schemaFS("t.json", `[]`),
			wantErr: "t.json: no fields",
		},
		{
			name:    "unsupported type",
			fsys:    schemaFS("t.json", key+`, {"name": "score", "type": "FLOAT"}]`),
			wantErr: `field "score": type "FLOAT" is not supported`,
		},
		{
			name:    "RECORD type",
			fsys:    schemaFS("t.json", key+`, {"name": "r", "type": "RECORD", "fields": [{"name": "a", "type": "STRING"}]}]`),
			wantErr: `field "r": type "RECORD" is not supported`,
		},
		{
			name:    "nested fields",
			fsys:    schemaFS("t.json", key+`, {"name": "r", "type": "STRING", "fields": [{"name": "a", "type": "STRING"}]}]`),
			wantErr: `field "r": nested fields are not supported`,
		},
		{
			name:    "lower-case type",
			fsys:    schemaFS("t.json", key+`, {"name": "s", "type": "string"}]`),
			wantErr: `field "s": type "string" is not supported`,
		},
		{
			name:    "lower-case mode",
			fsys:    schemaFS("t.json", `[{"name": "id", "type": "INTEGER", "mode": "required"}]`),
			wantErr: `field "id": mode "required" is not supported`,
		},
		{
			name:    "REPEATED mode",
			fsys:    schemaFS("t.json", key+`, {"name": "tags", "type": "STRING", "mode": "REPEATED"}]`),
			wantErr: `field "tags": mode "REPEATED" is not supported`,
		},
		{
			name:    "maxLength zero",
			fsys:    schemaFS("t.json", key+`, {"name": "s", "type": "STRING", "maxLength": "0"}]`),
			wantErr: `field "s": maxLength "0" must be a positive integer on a STRING field`,
		},
		{
			name:    "maxLength negative",
			fsys:    schemaFS("t.json", key+`, {"name": "s", "type": "STRING", "maxLength": "-5"}]`),
			wantErr: `maxLength "-5" must be a positive integer`,
		},
		{
			name:    "maxLength not a number",
			fsys:    schemaFS("t.json", key+`, {"name": "s", "type": "STRING", "maxLength": "ten"}]`),
			wantErr: `maxLength "ten" must be a positive integer`,
		},
		{
			name:    "maxLength as a JSON number",
			fsys:    schemaFS("t.json", key+`, {"name": "s", "type": "STRING", "maxLength": 10}]`),
			wantErr: "not a BigQuery JSON schema",
		},
		{
			name:    "maxLength on an INTEGER",
			fsys:    schemaFS("t.json", key+`, {"name": "n", "type": "INTEGER", "maxLength": "10"}]`),
			wantErr: `field "n": maxLength "10" must be a positive integer on a STRING field`,
		},
		{
			name:    "duplicate field",
			fsys:    schemaFS("t.json", key+`, {"name": "id", "type": "STRING"}]`),
			wantErr: `field "id": declared twice`,
		},
		{
			name:    "duplicate field in another case",
			fsys:    schemaFS("t.json", key+`, {"name": "ID", "type": "INTEGER"}]`),
			wantErr: `field "ID": declared twice`,
		},
		{
			name:    "bad field name",
			fsys:    schemaFS("t.json", key+`, {"name": "first name", "type": "STRING"}]`),
			wantErr: `name "first name": use letters, digits and underscores`,
		},
		{
			name:    "empty field name",
			fsys:    schemaFS("t.json", key+`, {"name": "", "type": "STRING"}]`),
			wantErr: `name "": use letters, digits and underscores`,
		},
		{
			name:    "field name starting with a digit",
			fsys:    schemaFS("t.json", key+`, {"name": "1st", "type": "STRING"}]`),
			wantErr: `name "1st": use letters, digits and underscores`,
		},
		{
			name:    "bad table name",
			fsys:    schemaFS("hired-employees.json", key+`]`),
			wantErr: `table name "hired-employees": use letters, digits and underscores`,
		},
		{
			name:    "table name starting with a digit",
			fsys:    schemaFS("2jobs.json", key+`]`),
			wantErr: `table name "2jobs"`,
		},
		{
			name:    "NULLABLE key",
			fsys:    schemaFS("t.json", `[{"name": "id", "type": "INTEGER", "mode": "NULLABLE"}]`),
			wantErr: `key field "id" must be REQUIRED`,
		},
		{
			name:    "key without mode",
			fsys:    schemaFS("t.json", `[{"name": "id", "type": "INTEGER"}]`),
			wantErr: `key field "id" must be REQUIRED`,
		},
		{
			name: "one bad file among good ones",
			fsys: fstest.MapFS{
				"a.json": {Data: []byte(key + `]`)},
				"b.json": {Data: []byte(key + `, {"name": "x", "type": "BYTES"}]`)},
			},
			wantErr: `b.json: field 1: field "x": type "BYTES" is not supported`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := dictionary.Load(tc.fsys)
			if err == nil {
				t.Fatalf("Load succeeded with tables %v, want an error containing %q", d.Names(), tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "dictionary.Load: ") {
				t.Errorf("Load error = %q, want it to start with %q and contain %q", err, "dictionary.Load: ", tc.wantErr)
			}
		})
	}
}

// key is the start of a schema whose first field is a valid key.
const key = `[{"name": "id", "type": "INTEGER", "mode": "REQUIRED"}`

func schemaFS(name, data string) fstest.MapFS {
	return fstest.MapFS{name: {Data: []byte(data)}}
}

func TestRules(t *testing.T) {
	t.Parallel()
	// The codes are a public contract: they are stored in rejected_rows.
	want := []dictionary.Rule{
		"required", "type", "range", "format", "too_long", "encoding", "control_character",
		"unknown_field", "duplicate_field", "field_count", "malformed", "record_too_long", "too_many_fields",
		"duplicate_in_batch",
	}
	if diff := cmp.Diff(want, dictionary.Rules); diff != "" {
		t.Errorf("Rules mismatch (-want +got):\n%s", diff)
	}
}

func TestRowError(t *testing.T) {
	t.Parallel()
	e := &dictionary.RowError{Table: "jobs", Row: 7, Errors: []dictionary.FieldError{
		{Field: "id", Rule: dictionary.RuleRange, Message: "must be greater than 0, got 0"},
		{Field: "job", Rule: dictionary.RuleRequired, Message: "is required but empty"},
		{Field: "x", Rule: dictionary.RuleRange, Message: "m"},
		{Rule: dictionary.RuleFieldCount, Message: "expected 2 fields"},
	}}
	wantMsg := "jobs row 7: id: range: must be greater than 0, got 0; job: required: is required but empty; x: range: m; field_count: expected 2 fields"
	if got := e.Error(); got != wantMsg {
		t.Errorf("Error() = %q, want %q", got, wantMsg)
	}
	wantRules := []dictionary.Rule{dictionary.RuleRange, dictionary.RuleRequired, dictionary.RuleFieldCount}
	if diff := cmp.Diff(wantRules, e.Rules()); diff != "" {
		t.Errorf("Rules() mismatch (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	t.Parallel()
	tbl := table(t, "jobs")
	row, rerr := tbl.ParseRecord(1, []string{"12", "Recruiter"})
	if rerr != nil {
		t.Fatal(rerr)
	}
	if got := row.Key(); got != int64(12) {
		t.Errorf("Key() = %#v, want int64(12)", got)
	}
	if got, ok := row.Get("job"); !ok || got != "Recruiter" {
		t.Errorf("Get(job) = %#v, %v; want Recruiter, true", got, ok)
	}
	if got, ok := row.Get("salary"); ok {
		t.Errorf("Get(salary) = %#v, true; want not found", got)
	}
	if diff := cmp.Diff(map[string]any{"id": int64(12), "job": "Recruiter"}, row.Map()); diff != "" {
		t.Errorf("Map() mismatch (-want +got):\n%s", diff)
	}
}
