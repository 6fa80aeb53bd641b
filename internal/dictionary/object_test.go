package dictionary_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// validMembers holds one valid JSON object per table: its member values as
// raw JSON, in schema order.
var validMembers = map[string][]string{
	"departments":     {`7`, `"Sales"`},
	"jobs":            {`183`, `"Recruiter"`},
	"hired_employees": {`4535`, `"Marcelo Gonzalez"`, `"2021-07-27T16:02:08Z"`, `1`, `2`},
}

// missing, as a raw JSON value, leaves the member out of the object.
const missing = ""

// object builds a JSON object from member names and raw values, leaving out
// the members whose value is missing.
func object(names, values []string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i, name := range names {
		if values[i] == missing {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + name + `":` + values[i])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// jsonString returns s as a JSON string.
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonCases returns the raw JSON values tried in every column of each type:
// the JSON-specific ones, and for timestamps every CSV case as a JSON string.
func jsonCases() map[dictionary.Type][]valueCase {
	cases := map[dictionary.Type][]valueCase{
		dictionary.Integer: {
			{name: "one", value: `1`, want: int64(1)},
			{name: "largest int64", value: `9223372036854775807`, want: int64(math.MaxInt64)},
			{name: "spaces around", value: " \n7\t ", want: int64(7)},
			{name: "missing", value: missing, rule: dictionary.RuleRequired},
			{name: "null", value: `null`, rule: dictionary.RuleRequired},
			{name: "empty string", value: `""`, rule: dictionary.RuleRequired},
			{name: "blank string", value: `"  "`, rule: dictionary.RuleRequired},
			{name: "string", value: `"12"`, rule: dictionary.RuleType},
			{name: "float", value: `3.5`, rule: dictionary.RuleType},
			{name: "integral float", value: `1.0`, rule: dictionary.RuleType},
			{name: "exponent", value: `1e3`, rule: dictionary.RuleType},
			{name: "huge exponent", value: `1e400`, rule: dictionary.RuleType},
			{name: "bool", value: `true`, rule: dictionary.RuleType},
			{name: "object", value: `{"value": 1}`, rule: dictionary.RuleType},
			{name: "array", value: `[1]`, rule: dictionary.RuleType},
			{name: "zero", value: `0`, rule: dictionary.RuleRange},
			{name: "minus zero", value: `-0`, rule: dictionary.RuleRange},
			{name: "negative", value: `-3`, rule: dictionary.RuleRange},
			{name: "overflow", value: `9223372036854775808`, rule: dictionary.RuleRange},
			{name: "negative overflow", value: `-9223372036854775809`, rule: dictionary.RuleRange},
		},
		dictionary.String: {
			{name: "ASCII", value: `"Sales"`, want: "Sales"},
			{name: "escapes", value: `"Jos\u00e9 \"Pepe\" P\u00e9rez\\"`, want: `José "Pepe" Pérez\`},
			{name: "raw multibyte", value: `"José 日本"`, want: "José 日本"},
			{name: "surrogate pair", value: `"\ud834\udd1e"`, want: "𝄞"},
			{name: "255 characters", value: jsonString(strings.Repeat("a", 255)), want: strings.Repeat("a", 255)},
			{name: "255 escaped characters", value: `"` + strings.Repeat(`\u00e9`, 255) + `"`, want: strings.Repeat("é", 255)},
			{name: "missing", value: missing, rule: dictionary.RuleRequired},
			{name: "null", value: `null`, rule: dictionary.RuleRequired},
			{name: "empty", value: `""`, rule: dictionary.RuleRequired},
			{name: "blank", value: `" \t\n"`, rule: dictionary.RuleRequired},
			{name: "number", value: `5`, rule: dictionary.RuleType},
			{name: "bool", value: `false`, rule: dictionary.RuleType},
			{name: "object", value: `{}`, rule: dictionary.RuleType},
			{name: "array", value: `["Sales"]`, rule: dictionary.RuleType},
			{name: "256 characters", value: jsonString(strings.Repeat("a", 256)), rule: dictionary.RuleTooLong},
			{name: "256 two-byte characters", value: `"` + strings.Repeat("é", 256) + `"`, rule: dictionary.RuleTooLong},
			{name: "256 escaped characters", value: `"` + strings.Repeat(`\u00e9`, 256) + `"`, rule: dictionary.RuleTooLong},
			{name: "invalid UTF-8 bytes", value: "\"Jos\xe9\"", rule: dictionary.RuleEncoding},
			{name: "truncated sequence", value: "\"Sales\xc3\"", rule: dictionary.RuleEncoding},
		},
		dictionary.Timestamp: {
			{name: "missing", value: missing, rule: dictionary.RuleRequired},
			{name: "null", value: `null`, rule: dictionary.RuleRequired},
			{name: "number", value: `1627401728`, rule: dictionary.RuleType},
			{name: "bool", value: `true`, rule: dictionary.RuleType},
			{name: "object", value: `{"seconds": 1627401728}`, rule: dictionary.RuleType},
			{name: "invalid UTF-8 bytes", value: "\"2021-07-27T16:02:08Z\xff\"", rule: dictionary.RuleEncoding},
		},
	}
	for _, tc := range textCases[dictionary.Timestamp] {
		if tc.rule == dictionary.RuleFormat || tc.rule == dictionary.RuleRequired || tc.rule == "" {
			tc.name = "string " + tc.name
			tc.value = jsonString(tc.value)
			cases[dictionary.Timestamp] = append(cases[dictionary.Timestamp], tc)
		}
	}
	return cases
}

func TestTable_ParseObjectValues_values(t *testing.T) {
	t.Parallel()
	cases := jsonCases()
	for _, tbl := range dictionary.Default().Tables() {
		valid := validMembers[tbl.Name]
		for i, f := range tbl.Fields {
			for _, tc := range cases[f.Type] {
				t.Run(tbl.Name+"/"+f.Name+"/"+tc.name, func(t *testing.T) {
					t.Parallel()
					values := slices.Clone(valid)
					values[i] = tc.value
					row, rerr := parseObject(tbl, 17, object(tbl.ColumnNames(), values))
					checkResult(t, tbl, 17, row, rerr)
					if tc.rule == "" {
						if rerr != nil {
							t.Fatalf("ParseObjectValues: %v, want a valid row", rerr)
						}
						want := slices.Clone(validRecords[tbl.Name].values)
						want[i] = tc.want
						checkValues(t, row.Values, want)
						return
					}
					want := []fieldRule{{Field: f.Name, Rule: tc.rule}}
					if diff := cmp.Diff(want, fieldRules(rerr)); diff != "" {
						t.Errorf("errors mismatch (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

func TestTable_ParseObjectValues_valid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		table  string
		object string
	}{
		{"departments", "departments", `{"id": 7, "department": "Sales"}`},
		{"jobs", "jobs", `{"id":183,"job":"Recruiter"}`},
		{"hired_employees", "hired_employees", `{"id":4535,"name":"Marcelo Gonzalez","datetime":"2021-07-27T16:02:08Z","department_id":1,"job_id":2}`},
		{"members in another order", "hired_employees", `{"job_id":2,"department_id":1,"datetime":"2021-07-27T16:02:08Z","name":"Marcelo Gonzalez","id":4535}`},
		{"whitespace around", "departments", " \r\n\t{ \"id\" : 7 ,\n \"department\" : \"Sales\" }\n "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl := table(t, tc.table)
			row, rerr := parseObject(tbl, 0, []byte(tc.object))
			if rerr != nil {
				t.Fatalf("ParseObjectValues(%s): %v", tc.object, rerr)
			}
			checkResult(t, tbl, 0, row, rerr)
			checkValues(t, row.Values, validRecords[tc.table].values)
		})
	}
}

func TestTable_ParseObjectValues_rows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		table  string
		object string
		want   []fieldRule
	}{
		{
			name:   "unknown field",
			table:  "departments",
			object: `{"id": 7, "department": "Sales", "budget": 1000}`,
			want:   []fieldRule{{"budget", dictionary.RuleUnknownField}},
		},
		{
			name:   "unknown field in another case",
			table:  "jobs",
			object: `{"ID": 7, "job": "Recruiter"}`,
			want:   []fieldRule{{"ID", dictionary.RuleUnknownField}, {"id", dictionary.RuleRequired}},
		},
		{
			name:   "unknown fields with any value",
			table:  "jobs",
			object: `{"id": 7, "job": "Recruiter", "a": null, "b": {"c": [1, 2]}}`,
			want:   []fieldRule{{"a", dictionary.RuleUnknownField}, {"b", dictionary.RuleUnknownField}},
		},
		{
			name:   "duplicate field",
			table:  "departments",
			object: `{"id": 7, "department": "Sales", "id": 7}`,
			want:   []fieldRule{{"id", dictionary.RuleDuplicateField}},
		},
		{
			name:   "duplicate field with a bad value",
			table:  "hired_employees",
			object: `{"id": 1, "name": "Ann", "datetime": "2021-07-27T16:02:08Z", "department_id": 1, "job_id": 2, "name": 5}`,
			want:   []fieldRule{{"name", dictionary.RuleDuplicateField}},
		},
		{
			name:   "field three times",
			table:  "jobs",
			object: `{"job": "a", "id": 7, "job": "b", "job": "c"}`,
			want:   []fieldRule{{"job", dictionary.RuleDuplicateField}, {"job", dictionary.RuleDuplicateField}},
		},
		{
			name:   "empty object",
			table:  "hired_employees",
			object: `{}`,
			want: []fieldRule{
				{"id", dictionary.RuleRequired},
				{"name", dictionary.RuleRequired},
				{"datetime", dictionary.RuleRequired},
				{"department_id", dictionary.RuleRequired},
				{"job_id", dictionary.RuleRequired},
			},
		},
		{
			name:   "every error, in document order then missing fields",
			table:  "hired_employees",
			object: `{"job_id": 0, "salary": 1, "name": "", "id": "1", "name": "Ann", "department_id": 2.5}`,
			want: []fieldRule{
				{"job_id", dictionary.RuleRange},
				{"salary", dictionary.RuleUnknownField},
				{"name", dictionary.RuleRequired},
				{"id", dictionary.RuleType},
				{"name", dictionary.RuleDuplicateField},
				{"department_id", dictionary.RuleType},
				{"datetime", dictionary.RuleRequired},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl := table(t, tc.table)
			row, rerr := parseObject(tbl, 3, []byte(tc.object))
			checkResult(t, tbl, 3, row, rerr)
			if diff := cmp.Diff(tc.want, fieldRules(rerr)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTable_ParseObjectValues_malformed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		object string
		rule   dictionary.Rule
	}{
		{"empty", ``, dictionary.RuleMalformed},
		{"blank", " \n ", dictionary.RuleMalformed},
		{"only an opening brace", `{`, dictionary.RuleMalformed},
		{"unterminated", `{"id": 1`, dictionary.RuleMalformed},
		{"unterminated string", `{"id": 1, "name": "Ann}`, dictionary.RuleMalformed},
		{"trailing comma", `{"id": 1,}`, dictionary.RuleMalformed},
		{"missing colon", `{"id" 1}`, dictionary.RuleMalformed},
		{"single quotes", `{'id': 1}`, dictionary.RuleMalformed},
		{"unquoted name", `{id: 1}`, dictionary.RuleMalformed},
		{"leading zero", `{"id": 01}`, dictionary.RuleMalformed},
		{"NaN", `{"id": NaN}`, dictionary.RuleMalformed},
		{"control character in a string", "{\"name\": \"A\x01nn\"}", dictionary.RuleMalformed},
		{"bad escape", `{"name": "\x41"}`, dictionary.RuleMalformed},
		{"data after the object", `{"id": 1} x`, dictionary.RuleMalformed},
		{"two objects", `{"id": 1}{"id": 2}`, dictionary.RuleMalformed},
		{"closing bracket after", `{"id": 1}]`, dictionary.RuleMalformed},
		{"closing brace only", `}`, dictionary.RuleMalformed},
		{"invalid UTF-8 outside strings", "{\"id\": 1\xff}", dictionary.RuleMalformed},
		{"deep nesting", `{"id": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, dictionary.RuleMalformed},
		{"array", `[{"id": 1}]`, dictionary.RuleType},
		{"null", `null`, dictionary.RuleType},
		{"string", `"id,department"`, dictionary.RuleType},
		{"number", `42`, dictionary.RuleType},
	}
	for _, tbl := range dictionary.Default().Tables() {
		for _, tc := range cases {
			t.Run(tbl.Name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				row, rerr := parseObject(tbl, 9, []byte(tc.object))
				checkResult(t, tbl, 9, row, rerr)
				if diff := cmp.Diff([]fieldRule{{Rule: tc.rule}}, fieldRules(rerr)); diff != "" {
					t.Errorf("errors mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestTable_ParseObjectValues_nullable(t *testing.T) {
	t.Parallel()
	tbl := nullableTable(t)
	cases := []struct {
		name   string
		object string
		want   []any
		rules  []fieldRule
	}{
		{name: "all set", object: `{"id": 1, "nick": "Ann", "seen": "2021-07-27T16:02:08Z", "score": 4}`, want: []any{int64(1), "Ann", time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC), int64(4)}},
		{name: "missing is NULL", object: `{"id": 1}`, want: []any{int64(1), nil, nil, nil}},
		{name: "null is NULL", object: `{"id": 1, "nick": null, "seen": null, "score": null}`, want: []any{int64(1), nil, nil, nil}},
		{name: "blank strings are NULL", object: `{"id": 1, "nick": " ", "seen": ""}`, want: []any{int64(1), nil, nil, nil}},
		{name: "a string is not an integer", object: `{"id": 1, "score": ""}`, rules: []fieldRule{{"score", dictionary.RuleType}}},
		{name: "set values are checked", object: `{"id": 1, "nick": "abcdefghijk", "seen": "now", "score": -1}`, rules: []fieldRule{{"nick", dictionary.RuleTooLong}, {"seen", dictionary.RuleFormat}, {"score", dictionary.RuleRange}}},
		{name: "the key is required", object: `{"nick": "Ann"}`, rules: []fieldRule{{"id", dictionary.RuleRequired}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			row, rerr := parseObject(tbl, 5, []byte(tc.object))
			checkResult(t, tbl, 5, row, rerr)
			if diff := cmp.Diff(tc.rules, fieldRules(rerr)); diff != "" {
				t.Fatalf("errors mismatch (-want +got):\n%s", diff)
			}
			if tc.rules == nil {
				checkValues(t, row.Values, tc.want)
			}
		})
	}
}
