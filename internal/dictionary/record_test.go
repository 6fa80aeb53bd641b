package dictionary_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// validRecords holds one valid CSV record per table, in schema order, and
// the typed values it parses to.
var validRecords = map[string]struct {
	record []string
	values []any
}{
	"departments": {
		record: []string{"7", "Sales"},
		values: []any{int64(7), "Sales"},
	},
	"jobs": {
		record: []string{"183", "Recruiter"},
		values: []any{int64(183), "Recruiter"},
	},
	"hired_employees": {
		record: []string{"4535", "Marcelo Gonzalez", "2021-07-27T16:02:08Z", "1", "2"},
		values: []any{int64(4535), "Marcelo Gonzalez", time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC), int64(1), int64(2)},
	},
}

// valueCase is one value put into a column: either valid, parsing to want,
// or breaking exactly one rule.
type valueCase struct {
	name  string
	value string
	want  any
	rule  dictionary.Rule
}

// textCases are the CSV values tried in every column of each type.
var textCases = map[dictionary.Type][]valueCase{
	dictionary.Integer: {
		{name: "one", value: "1", want: int64(1)},
		{name: "leading zeros", value: "007", want: int64(7)},
		{name: "largest int64", value: "9223372036854775807", want: int64(math.MaxInt64)},
		{name: "empty", value: "", rule: dictionary.RuleRequired},
		{name: "blank", value: " \t ", rule: dictionary.RuleRequired},
		{name: "letters", value: "12a", rule: dictionary.RuleType},
		{name: "decimal", value: "3.5", rule: dictionary.RuleType},
		{name: "exponent", value: "1e3", rule: dictionary.RuleType},
		{name: "hexadecimal", value: "0x1F", rule: dictionary.RuleType},
		{name: "padded", value: " 5", rule: dictionary.RuleType},
		{name: "non-ASCII digit", value: "٣", rule: dictionary.RuleType},
		{name: "invalid UTF-8", value: "1\xff", rule: dictionary.RuleType},
		{name: "zero", value: "0", rule: dictionary.RuleRange},
		{name: "minus zero", value: "-0", rule: dictionary.RuleRange},
		{name: "negative", value: "-3", rule: dictionary.RuleRange},
		{name: "smallest int64", value: "-9223372036854775808", rule: dictionary.RuleRange},
		{name: "overflow", value: "9223372036854775808", rule: dictionary.RuleRange},
		{name: "negative overflow", value: "-9223372036854775809", rule: dictionary.RuleRange},
		{name: "huge overflow", value: strings.Repeat("9", 400), rule: dictionary.RuleRange},
	},
	dictionary.String: {
		{name: "ASCII", value: "Sales", want: "Sales"},
		{name: "multibyte", value: "José Pérez 日本", want: "José Pérez 日本"},
		{name: "spaces kept", value: "  Sales  ", want: "  Sales  "},
		{name: "255 characters", value: strings.Repeat("a", 255), want: strings.Repeat("a", 255)},
		{name: "255 two-byte characters", value: strings.Repeat("é", 255), want: strings.Repeat("é", 255)},
		{name: "255 four-byte characters", value: strings.Repeat("𝄞", 255), want: strings.Repeat("𝄞", 255)},
		{name: "255 characters in spaces", value: " " + strings.Repeat("a", 253) + " ", want: " " + strings.Repeat("a", 253) + " "},
		{name: "empty", value: "", rule: dictionary.RuleRequired},
		{name: "blank", value: " \t\r\n ", rule: dictionary.RuleRequired},
		{name: "256 characters", value: strings.Repeat("a", 256), rule: dictionary.RuleTooLong},
		{name: "256 two-byte characters", value: strings.Repeat("é", 256), rule: dictionary.RuleTooLong},
		{name: "256 three-byte characters", value: strings.Repeat("日", 256), rule: dictionary.RuleTooLong},
		{name: "a 1 MiB value", value: strings.Repeat("x", 1<<20), rule: dictionary.RuleTooLong},
		{name: "Latin-1 byte", value: "Jos\xe9", rule: dictionary.RuleEncoding},
		{name: "truncated sequence", value: "Sales\xc3", rule: dictionary.RuleEncoding},
		{name: "lone continuation byte", value: "\x80abc", rule: dictionary.RuleEncoding},
		{name: "encoded surrogate", value: "\xed\xa0\x80", rule: dictionary.RuleEncoding},
		{name: "too long and invalid", value: strings.Repeat("a", 300) + "\xff", rule: dictionary.RuleEncoding},
	},
	dictionary.Timestamp: {
		{name: "UTC", value: "2021-07-27T16:02:08Z", want: time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC)},
		{name: "milliseconds", value: "2021-07-27T16:02:08.5Z", want: time.Date(2021, 7, 27, 16, 2, 8, 500000000, time.UTC)},
		{name: "microseconds", value: "2021-07-27T16:02:08.123456Z", want: time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)},
		{name: "zeros after microseconds", value: "2021-07-27T16:02:08.123456000Z", want: time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)},
		{name: "positive offset", value: "2021-07-27T18:02:08+02:00", want: time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC)},
		{name: "negative offset across midnight", value: "2021-07-26T20:32:08.000001-19:30", want: time.Date(2021, 7, 27, 16, 2, 8, 1000, time.UTC)},
		{name: "largest offset", value: "2021-07-28T16:01:08+23:59", want: time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC)},
		{name: "minus zero offset", value: "2021-07-27T16:02:08-00:00", want: time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC)},
		{name: "leap day", value: "2020-02-29T00:00:00Z", want: time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC)},
		{name: "first instant", value: "0001-01-01T00:00:00Z", want: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{name: "last microsecond", value: "9999-12-31T23:59:59.999999Z", want: time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{name: "empty", value: "", rule: dictionary.RuleRequired},
		{name: "blank", value: "   ", rule: dictionary.RuleRequired},
		{name: "no zone", value: "2021-07-27T16:02:08", rule: dictionary.RuleFormat},
		{name: "space instead of T", value: "2021-07-27 16:02:08Z", rule: dictionary.RuleFormat},
		{name: "lower-case t and z", value: "2021-07-27t16:02:08z", rule: dictionary.RuleFormat},
		{name: "date only", value: "2021-07-27", rule: dictionary.RuleFormat},
		{name: "invalid month", value: "2021-13-27T16:02:08Z", rule: dictionary.RuleFormat},
		{name: "invalid day", value: "2021-02-29T16:02:08Z", rule: dictionary.RuleFormat},
		{name: "hour 24", value: "2021-07-27T24:00:00Z", rule: dictionary.RuleFormat},
		{name: "leap second", value: "2016-12-31T23:59:60Z", rule: dictionary.RuleFormat},
		{name: "nanoseconds", value: "2021-07-27T16:02:08.123456789Z", rule: dictionary.RuleFormat},
		{name: "one nanosecond", value: "2021-07-27T16:02:08.000000001Z", rule: dictionary.RuleFormat},
		{name: "beyond nanoseconds", value: "2021-07-27T16:02:08.1234560001Z", rule: dictionary.RuleFormat},
		{name: "empty fraction", value: "2021-07-27T16:02:08.Z", rule: dictionary.RuleFormat},
		{name: "offset hour 24", value: "2021-07-27T16:02:08+24:00", rule: dictionary.RuleFormat},
		{name: "offset minute 60", value: "2021-07-27T16:02:08+05:60", rule: dictionary.RuleFormat},
		{name: "offset without colon", value: "2021-07-27T16:02:08+0200", rule: dictionary.RuleFormat},
		{name: "offset hours only", value: "2021-07-27T16:02:08+02", rule: dictionary.RuleFormat},
		{name: "year 0 after UTC", value: "0001-01-01T00:30:00+01:00", rule: dictionary.RuleFormat},
		{name: "year 0", value: "0000-06-01T00:00:00Z", rule: dictionary.RuleFormat},
		{name: "year 10000 after UTC", value: "9999-12-31T23:30:00-01:00", rule: dictionary.RuleFormat},
		{name: "five-digit year", value: "12021-07-27T16:02:08Z", rule: dictionary.RuleFormat},
		{name: "padded", value: " 2021-07-27T16:02:08Z", rule: dictionary.RuleFormat},
		{name: "day first", value: "27/07/2021 16:02:08", rule: dictionary.RuleFormat},
		{name: "Unix seconds", value: "1627401728", rule: dictionary.RuleFormat},
		{name: "invalid UTF-8", value: "2021-07-27T16:02:08Z\xff", rule: dictionary.RuleFormat},
	},
}

func TestTable_ParseRecord_values(t *testing.T) {
	t.Parallel()
	for _, tbl := range dictionary.Default().Tables() {
		valid := validRecords[tbl.Name]
		for i, f := range tbl.Fields {
			for _, tc := range textCases[f.Type] {
				t.Run(tbl.Name+"/"+f.Name+"/"+tc.name, func(t *testing.T) {
					t.Parallel()
					record := slices.Clone(valid.record)
					record[i] = tc.value
					row, rerr := tbl.ParseRecord(42, record)
					checkResult(t, tbl, 42, row, rerr)
					if tc.rule == "" {
						if rerr != nil {
							t.Fatalf("ParseRecord: %v, want a valid row", rerr)
						}
						want := slices.Clone(valid.values)
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

func TestTable_ParseRecord_rows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		table  string
		record []string
		want   []fieldRule
	}{
		{
			name:   "too few fields",
			table:  "departments",
			record: []string{"7"},
			want:   []fieldRule{{Rule: dictionary.RuleFieldCount}},
		},
		{
			name:   "too many fields",
			table:  "jobs",
			record: []string{"7", "Recruiter", ""},
			want:   []fieldRule{{Rule: dictionary.RuleFieldCount}},
		},
		{
			name:   "no fields",
			table:  "hired_employees",
			record: nil,
			want:   []fieldRule{{Rule: dictionary.RuleFieldCount}},
		},
		{
			name:   "one field short, the others bad too",
			table:  "hired_employees",
			record: []string{"0", "", "x", "y"},
			want:   []fieldRule{{Rule: dictionary.RuleFieldCount}},
		},
		{
			name:   "every field of departments bad",
			table:  "departments",
			record: []string{"", strings.Repeat("x", 256)},
			want:   []fieldRule{{"id", dictionary.RuleRequired}, {"department", dictionary.RuleTooLong}},
		},
		{
			name:   "every field of jobs bad",
			table:  "jobs",
			record: []string{"abc", "Recruit\xff"},
			want:   []fieldRule{{"id", dictionary.RuleType}, {"job", dictionary.RuleEncoding}},
		},
		{
			name:   "every field of hired_employees bad",
			table:  "hired_employees",
			record: []string{"0", " ", "2021-07-27", "x", "-1"},
			want: []fieldRule{
				{"id", dictionary.RuleRange},
				{"name", dictionary.RuleRequired},
				{"datetime", dictionary.RuleFormat},
				{"department_id", dictionary.RuleType},
				{"job_id", dictionary.RuleRange},
			},
		},
		{
			name:   "two bad fields out of five",
			table:  "hired_employees",
			record: []string{"1", "Ann", "", "2", ""},
			want:   []fieldRule{{"datetime", dictionary.RuleRequired}, {"job_id", dictionary.RuleRequired}},
		},
		{
			name:   "header row",
			table:  "departments",
			record: []string{"id", "department"},
			want:   []fieldRule{{"id", dictionary.RuleType}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl := table(t, tc.table)
			row, rerr := tbl.ParseRecord(1999, tc.record)
			checkResult(t, tbl, 1999, row, rerr)
			if diff := cmp.Diff(tc.want, fieldRules(rerr)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTable_ParseRecord_valid(t *testing.T) {
	t.Parallel()
	for _, tbl := range dictionary.Default().Tables() {
		t.Run(tbl.Name, func(t *testing.T) {
			t.Parallel()
			valid := validRecords[tbl.Name]
			row, rerr := tbl.ParseRecord(3, valid.record)
			if rerr != nil {
				t.Fatalf("ParseRecord(%q): %v", valid.record, rerr)
			}
			checkResult(t, tbl, 3, row, rerr)
			checkValues(t, row.Values, valid.values)
		})
	}
}

func TestTable_ParseRecord_nullable(t *testing.T) {
	t.Parallel()
	tbl := nullableTable(t)
	cases := []struct {
		name   string
		record []string
		want   []any
		rules  []fieldRule
	}{
		{name: "all set", record: []string{"1", "Ann", "2021-07-27T16:02:08Z", "4"}, want: []any{int64(1), "Ann", time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC), int64(4)}},
		{name: "empty is NULL", record: []string{"1", "", "", ""}, want: []any{int64(1), nil, nil, nil}},
		{name: "blank is NULL", record: []string{"1", "  ", " ", "\t"}, want: []any{int64(1), nil, nil, nil}},
		{name: "set values are checked", record: []string{"1", strings.Repeat("a", 11), "x", "0"}, rules: []fieldRule{{"nick", dictionary.RuleTooLong}, {"seen", dictionary.RuleFormat}, {"score", dictionary.RuleRange}}},
		{name: "the key is required", record: []string{"", "Ann", "", ""}, rules: []fieldRule{{"id", dictionary.RuleRequired}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			row, rerr := tbl.ParseRecord(5, tc.record)
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

// nullableTable returns a table whose fields other than the key are NULLABLE.
func nullableTable(tb testing.TB) *dictionary.Table {
	tb.Helper()
	d, err := dictionary.Load(schemaFS("people.json", `[
		{"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
		{"name": "nick", "type": "STRING", "maxLength": "10"},
		{"name": "seen", "type": "TIMESTAMP", "mode": "NULLABLE"},
		{"name": "score", "type": "INTEGER", "mode": "NULLABLE"}
	]`))
	if err != nil {
		tb.Fatal(err)
	}
	tbl, _ := d.Table("people")
	return tbl
}
