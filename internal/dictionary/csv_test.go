package dictionary_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// readRecord is what a test asserts about one Record.
type readRecord struct {
	Line   int64
	Raw    string
	Values []any
	Rules  []fieldRule
}

// readAll reads every record of src with the default limits, checking the
// invariants of each.
func readAll(tb testing.TB, tbl *dictionary.Table, src io.Reader) ([]readRecord, error) {
	tb.Helper()
	return readAllLimited(tb, tbl, src, dictionary.Limits{})
}

// readAllLimited reads every record of src within limits. When the input
// reads without error, it reads it again with NextFields and validates the
// fields with ParseRecordInto once every record is read (the fields are
// the reader's no longer), and checks that this gives what Next gave, and
// that ParseRecordValues decides as ParseRecordInto does.
func readAllLimited(tb testing.TB, tbl *dictionary.Table, src io.Reader, limits dictionary.Limits) ([]readRecord, error) {
	tb.Helper()
	var seen bytes.Buffer
	got, keys, err := nextAll(tb, tbl, tbl.NewLimitedReader(io.TeeReader(src, &seen), limits))
	if err != nil {
		return got, err
	}
	fields, fieldKeys := readFields(tb, tbl, bytes.NewReader(seen.Bytes()), limits)
	if diff := cmp.Diff(got, fields); diff != "" {
		tb.Errorf("NextFields and ParseRecordInto differ from Next (-Next +NextFields):\n%s", diff)
	}
	if diff := cmp.Diff(keys, fieldKeys); diff != "" {
		tb.Errorf("the keys of the refused rows differ (-Next +NextFields):\n%s", diff)
	}
	return got, nil
}

// nextAll reads every record of r with Next, checking the invariants of
// each, and returns them with the keys of the refused rows (nil for a
// valid one).
func nextAll(tb testing.TB, tbl *dictionary.Table, r *dictionary.Reader) ([]readRecord, []any, error) {
	tb.Helper()
	var got []readRecord
	var keys []any
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return got, keys, nil
		}
		if err != nil {
			return got, keys, err
		}
		checkResult(tb, tbl, rec.Line, rec.Row, rec.Err)
		if n := len(got); n > 0 && rec.Line <= got[n-1].Line {
			tb.Errorf("record on line %d after a record on line %d", rec.Line, got[n-1].Line)
		}
		got = append(got, readRecord{Line: rec.Line, Raw: string(rec.Raw), Values: rec.Row.Values, Rules: fieldRules(rec.Err)})
		keys = append(keys, errKey(rec.Err))
	}
}

// readFields reads every record of src with NextFields, then validates
// the records that were read whole with ParseRecordInto, into one slice
// of values reused from record to record, and with ParseRecordValues,
// whose values and errors it holds to ParseRecordInto's.
func readFields(tb testing.TB, tbl *dictionary.Table, src io.Reader, limits dictionary.Limits) ([]readRecord, []any) {
	tb.Helper()
	r := tbl.NewLimitedReader(src, limits)
	var read []dictionary.Fields
	for {
		rec, err := r.NextFields()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("NextFields: %v", err)
		}
		rec.Values = slices.Clone(rec.Values)
		read = append(read, rec)
	}
	var got []readRecord
	var keys []any
	values := make([]any, len(tbl.Fields))
	typed := make([]dictionary.Value, len(tbl.Fields))
	for _, rec := range read {
		rerr := rec.Err
		var row dictionary.Row
		if rerr == nil {
			row, rerr = tbl.ParseRecordInto(rec.Line, rec.Values, values)
			checkTypedValues(tb, tbl, rec, row, rerr, typed)
		}
		got = append(got, readRecord{Line: rec.Line, Raw: rec.Raw, Values: slices.Clone(row.Values), Rules: fieldRules(rerr)})
		keys = append(keys, errKey(rerr))
	}
	return got, keys
}

// checkTypedValues validates rec with ParseRecordValues into typed, reused from
// record to record, and holds the result to ParseRecordInto's: row and rerr.
func checkTypedValues(tb testing.TB, tbl *dictionary.Table, rec dictionary.Fields, row dictionary.Row, rerr *dictionary.RowError, typed []dictionary.Value) {
	tb.Helper()
	terr := tbl.ParseRecordValues(rec.Line, rec.Values, typed)
	if diff := cmp.Diff(rerr, terr); diff != "" {
		tb.Errorf("line %d: ParseRecordValues and ParseRecordInto refuse differently (-Into +Values):\n%s", rec.Line, diff)
		return
	}
	if terr != nil {
		return
	}
	boxed := make([]any, len(typed))
	for i, f := range tbl.Fields {
		boxed[i] = typed[i].Any(f.Type)
	}
	if diff := cmp.Diff(row.Values, boxed); diff != "" {
		tb.Errorf("line %d: ParseRecordValues and ParseRecordInto differ (-Into +Values):\n%s", rec.Line, diff)
	}
}

// errKey is the key of a refused row, and nil for a valid one.
func errKey(e *dictionary.RowError) any {
	if e == nil {
		return nil
	}
	return e.Key
}

// sources returns ways to feed data to a Reader: whole, and in small reads
// that cut records and line terminators anywhere.
func sources(data string) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":    strings.NewReader(data),
		"one byte": iotest.OneByteReader(strings.NewReader(data)),
		"half":     iotest.HalfReader(strings.NewReader(data)),
	}
}

func TestReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2<<20)
	cases := []struct {
		name  string
		table string
		input string
		want  []readRecord
	}{
		{
			name:  "LF",
			input: "1,Sales\n2,Legal\n",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "CRLF",
			input: "1,Sales\r\n2,Legal\r\n",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "mixed line endings",
			input: "1,Sales\r\n2,Legal\n3,Support\r\n",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal"), valid(3, "3,Support", 3, "Support")},
		},
		{
			name:  "no final newline",
			input: "1,Sales\r\n2,Legal",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "CR at the end",
			input: "1,Sales\r\n2,Legal\r",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "CR inside a field",
			input: "1,Sa\rles\r\n",
			want:  []readRecord{rejected(1, "1,Sa\rles", fieldRule{"department", dictionary.RuleControlCharacter})},
		},
		{
			name:  "DEL and a tab inside fields, with and without other non-ASCII characters",
			input: "1,Sa\x7fles\n2,Vent\x7fas é\n3,Lé\tgal\n4,Légal\n",
			want: []readRecord{
				rejected(1, "1,Sa\x7fles", fieldRule{"department", dictionary.RuleControlCharacter}),
				rejected(2, "2,Vent\x7fas é", fieldRule{"department", dictionary.RuleControlCharacter}),
				rejected(3, "3,Lé\tgal", fieldRule{"department", dictionary.RuleControlCharacter}),
				valid(4, "4,Légal", 4, "Légal"),
			},
		},
		{
			name:  "empty file",
			input: "",
		},
		{
			name:  "only line breaks",
			input: "\r\n\n\r\n\r",
		},
		{
			name:  "empty lines are skipped but counted",
			input: "\r\n1,Sales\r\n\r\n\n2,Legal\r\n\r\n",
			want:  []readRecord{valid(2, "1,Sales", 1, "Sales"), valid(5, "2,Legal", 2, "Legal")},
		},
		{
			name:  "byte order mark",
			input: "\uFEFF1,Sales\r\n2,Legal",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "byte order mark only",
			input: "\uFEFF",
		},
		{
			name:  "byte order mark not at the start",
			input: "1,Sales\r\n\uFEFF2,Legal\r\n",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), rejected(2, "\uFEFF2,Legal", fieldRule{"id", dictionary.RuleType})},
		},
		{
			name:  "header",
			input: "id,department\r\n1,Sales\r\n",
			want:  []readRecord{valid(2, "1,Sales", 1, "Sales")},
		},
		{
			name:  "header after a byte order mark",
			input: "\uFEFFid,department\n1,Sales",
			want:  []readRecord{valid(2, "1,Sales", 1, "Sales")},
		},
		{
			name:  "quoted header after empty lines",
			input: "\r\n\"id\",\"department\"\r\n1,Sales",
			want:  []readRecord{valid(3, "1,Sales", 1, "Sales")},
		},
		{
			name:  "header only",
			input: "id,department\r\n",
		},
		{
			name:  "header not first",
			input: "1,Sales\r\nid,department\r\n",
			want:  []readRecord{valid(1, "1,Sales", 1, "Sales"), rejected(2, "id,department", fieldRule{"id", dictionary.RuleType})},
		},
		{
			name:  "header twice",
			input: "id,department\r\nid,department\r\n",
			want:  []readRecord{rejected(2, "id,department", fieldRule{"id", dictionary.RuleType})},
		},
		{
			name:  "header of another table",
			input: "id,job\r\n",
			want:  []readRecord{rejected(1, "id,job", fieldRule{"id", dictionary.RuleType})},
		},
		{
			name:  "quoted comma",
			input: "1,\"Sales, EMEA\"\r\n2,Legal",
			want:  []readRecord{valid(1, `1,"Sales, EMEA"`, 1, "Sales, EMEA"), valid(2, "2,Legal", 2, "Legal")},
		},
		{
			name:  "quoted quotes",
			input: `"1","The ""A"" Team"`,
			want:  []readRecord{valid(1, `"1","The ""A"" Team"`, 1, `The "A" Team`)},
		},
		{
			name:  "quoted line breaks",
			input: "1,\"Sales\r\nand\nMarketing\"\r\n2,Legal\r\n\r\n3,Support",
			want: []readRecord{
				rejected(1, "1,\"Sales\r\nand\nMarketing\"", fieldRule{"department", dictionary.RuleControlCharacter}),
				valid(4, "2,Legal", 2, "Legal"),
				valid(6, "3,Support", 3, "Support"),
			},
		},
		{
			name:  "quoted empty value",
			input: `1,""`,
			want:  []readRecord{rejected(1, `1,""`, fieldRule{"department", dictionary.RuleRequired})},
		},
		{
			name:  "bare quote in the middle of a file",
			input: "1,Sales\r\n2,Le\"gal\r\n3,Support\r\n",
			want: []readRecord{
				valid(1, "1,Sales", 1, "Sales"),
				rejected(2, `2,Le"gal`, fieldRule{Rule: dictionary.RuleMalformed}),
				valid(3, "3,Support", 3, "Support"),
			},
		},
		{
			name:  "bare quote in the first record",
			input: "4\"2,Sales\nid,department\n",
			want: []readRecord{
				rejected(1, `4"2,Sales`, fieldRule{Rule: dictionary.RuleMalformed}),
				rejected(2, "id,department", fieldRule{"id", dictionary.RuleType}),
			},
		},
		{
			name:  "text after a closing quote",
			input: "1,\"Sales\"x\r\n2,Legal",
			want: []readRecord{
				rejected(1, `1,"Sales"x`, fieldRule{Rule: dictionary.RuleMalformed}),
				valid(2, "2,Legal", 2, "Legal"),
			},
		},
		{
			name:  "unterminated quote at the end",
			input: "1,Sales\r\n2,\"Legal\r\n",
			want: []readRecord{
				valid(1, "1,Sales", 1, "Sales"),
				rejected(2, "2,\"Legal", fieldRule{Rule: dictionary.RuleMalformed}),
			},
		},
		{
			name:  "unterminated quote takes the rest of the file",
			input: "1,\"Sales\r\n2,Legal\r\n3,Support",
			want:  []readRecord{rejected(1, "1,\"Sales\r\n2,Legal\r\n3,Support", fieldRule{Rule: dictionary.RuleMalformed})},
		},
		{
			name:  "wrong field counts",
			input: "1\r\n2,Legal,extra\r\n,\r\n  \r\n3,Support\r\n",
			want: []readRecord{
				rejected(1, "1", fieldRule{Rule: dictionary.RuleFieldCount}),
				rejected(2, "2,Legal,extra", fieldRule{Rule: dictionary.RuleFieldCount}),
				rejected(3, ",", fieldRule{"id", dictionary.RuleRequired}, fieldRule{"department", dictionary.RuleRequired}),
				rejected(4, "  ", fieldRule{Rule: dictionary.RuleFieldCount}),
				valid(5, "3,Support", 3, "Support"),
			},
		},
		{
			name:  "a 2 MiB line",
			input: "1,Sales\r\n2," + long + "\r\n3,Support\r\n",
			want: []readRecord{
				valid(1, "1,Sales", 1, "Sales"),
				rejected(2, "2,"+long[:dictionary.DefaultMaxRecordBytes-2], fieldRule{Rule: dictionary.RuleRecordTooLong}),
				valid(3, "3,Support", 3, "Support"),
			},
		},
		{
			name:  "binary garbage",
			input: "\x00\xff\xfe,\x01\xc0\r\n\x89PNG\r\n\x1a\n",
			want: []readRecord{
				rejected(1, "\x00\xff\xfe,\x01\xc0", fieldRule{"id", dictionary.RuleType}, fieldRule{"department", dictionary.RuleEncoding}),
				rejected(2, "\x89PNG", fieldRule{Rule: dictionary.RuleFieldCount}),
				rejected(3, "\x1a", fieldRule{Rule: dictionary.RuleFieldCount}),
			},
		},
		{
			name:  "hired_employees",
			table: "hired_employees",
			input: "1,Harold Vogt,2021-11-07T02:48:42Z,2,96\r\n2,Ty Hofer,2021-05-30T05:43:46Z,8,\r\n",
			want: []readRecord{
				{Line: 1, Raw: "1,Harold Vogt,2021-11-07T02:48:42Z,2,96", Values: []any{int64(1), "Harold Vogt", time.Date(2021, 11, 7, 2, 48, 42, 0, time.UTC), int64(2), int64(96)}},
				rejected(2, "2,Ty Hofer,2021-05-30T05:43:46Z,8,", fieldRule{"job_id", dictionary.RuleRequired}),
			},
		},
	}
	for _, tc := range cases {
		if tc.table == "" {
			tc.table = "departments"
		}
		for source, src := range sources(tc.input) {
			t.Run(tc.name+"/"+source, func(t *testing.T) {
				t.Parallel()
				got, err := readAll(t, table(t, tc.table), src)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					if len(diff) > 2000 {
						diff = diff[:2000] + "..."
					}
					t.Errorf("records mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// valid is a valid departments record.
func valid(line int64, raw string, id int64, department string) readRecord {
	return readRecord{Line: line, Raw: raw, Values: []any{id, department}}
}

// rejected is a rejected record.
func rejected(line int64, raw string, rules ...fieldRule) readRecord {
	return readRecord{Line: line, Raw: raw, Rules: rules}
}

func TestReader_dataset(t *testing.T) {
	t.Parallel()
	dir := datasetDir(t)
	cases := []struct {
		table    string
		valid    int
		rejected map[fieldRule]int
		byYear   map[int]int
	}{
		{table: "departments", valid: 12},
		{table: "jobs", valid: 183},
		{
			table: "hired_employees",
			valid: 1929,
			rejected: map[fieldRule]int{
				{"name", dictionary.RuleRequired}:          19,
				{"datetime", dictionary.RuleRequired}:      14,
				{"department_id", dictionary.RuleRequired}: 21,
				{"job_id", dictionary.RuleRequired}:        16,
			},
			byYear: map[int]int{2021: 1643, 2022: 286},
		},
	}
	for _, tc := range cases {
		t.Run(tc.table, func(t *testing.T) {
			t.Parallel()
			tbl := table(t, tc.table)
			data, err := os.ReadFile(filepath.Join(dir, tc.table+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			records, err := readAll(t, tbl, bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			validRows := 0
			rejectedRows := map[fieldRule]int{}
			byYear := map[int]int{}
			raws := make([]string, len(records))
			for i, rec := range records {
				raws[i] = rec.Raw
				if rec.Line != int64(i+1) {
					t.Errorf("record %d on line %d, want line %d", i, rec.Line, i+1)
				}
				if rec.Rules != nil {
					if len(rec.Rules) != 1 {
						t.Errorf("line %d: rules %v, want exactly one", rec.Line, rec.Rules)
					}
					rejectedRows[rec.Rules[0]]++
					continue
				}
				validRows++
				if rec.Values[0] != int64(i+1) {
					t.Errorf("line %d: id %v, want %d", rec.Line, rec.Values[0], i+1)
				}
				if tc.byYear != nil {
					byYear[rec.Values[2].(time.Time).Year()]++
				}
			}
			if validRows != tc.valid {
				t.Errorf("got %d valid rows, want %d", validRows, tc.valid)
			}
			if diff := cmp.Diff(tc.rejected, rejectedRows, cmpEmptyMaps); diff != "" {
				t.Errorf("rejected rows by field and rule mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.byYear, byYear, cmpEmptyMaps); diff != "" {
				t.Errorf("valid rows by year mismatch (-want +got):\n%s", diff)
			}
			// The files have CRLF line endings and no empty lines, so the raw
			// records joined by CRLF are the file (up to a final CRLF).
			if got, want := strings.Join(raws, "\r\n"), strings.TrimSuffix(string(data), "\r\n"); got != want {
				t.Errorf("raw records joined by CRLF differ from the file")
			}
		})
	}
}

// cmpEmptyMaps makes a nil map equal to an empty one.
var cmpEmptyMaps = cmp.FilterValues(func(a, b any) bool {
	return cmp.Equal(a, b) || isEmptyMap(a) && isEmptyMap(b)
}, cmp.Ignore())

func isEmptyMap(v any) bool {
	switch m := v.(type) {
	case map[fieldRule]int:
		return len(m) == 0
	case map[int]int:
		return len(m) == 0
	}
	return false
}

func TestReader_limits(t *testing.T) {
	t.Parallel()
	limits := dictionary.Limits{MaxRecordBytes: 16, MaxFields: 3}
	tooLong := fieldRule{Rule: dictionary.RuleRecordTooLong}
	tooMany := fieldRule{Rule: dictionary.RuleTooManyFields}
	cases := []struct {
		name  string
		input string
		want  []readRecord
	}{
		{
			name:  "a record of exactly the limit",
			input: "1,Research & Dev\n",
			want:  []readRecord{valid(1, "1,Research & Dev", 1, "Research & Dev")},
		},
		{
			name:  "an over-long record in the middle",
			input: "1,Sales\n2,Research and Development\n3,Legal\n",
			want: []readRecord{
				valid(1, "1,Sales", 1, "Sales"),
				rejected(2, "2,Research and D", tooLong),
				valid(3, "3,Legal", 3, "Legal"),
			},
		},
		{
			name:  "an over-long quoted field across lines",
			input: "1,\"Research\r\nand\r\nDevelopment\"\r\n2,Legal\r\n",
			want: []readRecord{
				rejected(1, "1,\"Research\r\nand", tooLong),
				valid(4, "2,Legal", 2, "Legal"),
			},
		},
		{
			name:  "an unterminated quoted field takes the rest of the input",
			input: "1,Sales\n2,\"Legal\n3,Support\n4,Research and Development\n",
			want: []readRecord{
				valid(1, "1,Sales", 1, "Sales"),
				rejected(2, "2,\"Legal\n3,Suppo", tooLong),
			},
		},
		{
			name:  "too many fields",
			input: "1,a,b,c\n2,Legal\n,,,,,,,,,,,,,,\n",
			want: []readRecord{
				rejected(1, "1,a,b,c", tooMany),
				valid(2, "2,Legal", 2, "Legal"),
				rejected(3, ",,,,,,,,,,,,,,", tooMany),
			},
		},
		{
			name:  "too long wins over too many fields",
			input: ",,,,,,,,,,,,,,,,,,,,\n",
			want:  []readRecord{rejected(1, ",,,,,,,,,,,,,,,,", tooLong)},
		},
		{
			name:  "a long line without quotes",
			input: strings.Repeat("x", 1<<20) + "\n3,Legal",
			want: []readRecord{
				rejected(1, strings.Repeat("x", 16), tooLong),
				valid(2, "3,Legal", 3, "Legal"),
			},
		},
	}
	for _, tc := range cases {
		for src, r := range sources(tc.input) {
			t.Run(tc.name+"/"+src, func(t *testing.T) {
				t.Parallel()
				got, err := readAllLimited(t, table(t, "departments"), r, limits)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("records mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// endlessQuote is an unterminated quoted field that never ends.
type endlessQuote struct{ started bool }

func (q *endlessQuote) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	if !q.started && len(p) > 0 {
		q.started = true
		p[0] = '"'
	}
	return len(p), nil
}

func TestReader_overLongRecordNotBuffered(t *testing.T) {
	t.Parallel()
	const size = 256 << 20
	r := table(t, "departments").NewReader(io.LimitReader(&endlessQuote{}, size))
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fieldRule{{Rule: dictionary.RuleRecordTooLong}}, fieldRules(rec.Err)); diff != "" {
		t.Errorf("rules mismatch (-want +got):\n%s", diff)
	}
	if len(rec.Raw) != dictionary.DefaultMaxRecordBytes {
		t.Errorf("Raw has %d bytes, want the first %d", len(rec.Raw), dictionary.DefaultMaxRecordBytes)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the record = %v, want io.EOF", err)
	}
}

func TestReader_ioError(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	cases := []struct {
		name  string
		src   io.Reader
		lines []int64
	}{
		{"at the start", iotest.ErrReader(errBoom), nil},
		{"within the byte order mark", io.MultiReader(strings.NewReader("\xef\xbb"), iotest.ErrReader(errBoom)), nil},
		{"after a record", io.MultiReader(strings.NewReader("1,Sales\r\n"), iotest.ErrReader(errBoom)), []int64{1}},
		{"within a record", io.MultiReader(strings.NewReader("1,Sales\r\n2,Le"), iotest.ErrReader(errBoom)), []int64{1}},
		{"within a quoted field", io.MultiReader(strings.NewReader("1,Sales\r\n2,\"Le\r\n"), iotest.ErrReader(errBoom)), []int64{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := table(t, "departments").NewReader(tc.src)
			var lines []int64
			for {
				rec, err := r.Next()
				if err != nil {
					if !errors.Is(err, errBoom) {
						t.Fatalf("Next error = %v, want %v", err, errBoom)
					}
					if !strings.HasPrefix(err.Error(), "read departments CSV: ") {
						t.Errorf("Next error = %q, want it to name the operation", err)
					}
					if _, err := r.Next(); !errors.Is(err, errBoom) {
						t.Errorf("Next after an I/O error = %v, want %v again", err, errBoom)
					}
					break
				}
				lines = append(lines, rec.Line)
			}
			if diff := cmp.Diff(tc.lines, lines); diff != "" {
				t.Errorf("lines read before the error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReader_rawReused(t *testing.T) {
	t.Parallel()
	r := table(t, "departments").NewReader(strings.NewReader("1,Sales\r\n2,Legal\r\n"))
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := string(first.Raw)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if kept != "1,Sales" {
		t.Errorf("first Raw = %q, want %q", kept, "1,Sales")
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next at the end = %v, want io.EOF", err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
}

func TestReader_keyOfRefusedRow(t *testing.T) {
	t.Parallel()
	// The first row is refused with a valid id, the second for its id: its
	// key is nil, not the first row's.
	data := "5,Ann,not a time,1,1\nx,Bob,2021-07-27T16:02:08Z,1,1\n7,Cy,2021-07-27T16:02:08Z,1,1\n"
	tbl := table(t, "hired_employees")
	_, keys, err := nextAll(t, tbl, tbl.NewReader(strings.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{int64(5), nil, nil}, keys); diff != "" {
		t.Errorf("keys of the refused rows (-want +got):\n%s", diff)
	}
}

func BenchmarkReader(b *testing.B) {
	benchmarkReader(b, func(r *dictionary.Reader) error {
		_, err := r.Next()
		return err
	})
}

// BenchmarkReaderFields cuts the records into fields with NextFields,
// without validating them: the reader's work in load-csv.
func BenchmarkReaderFields(b *testing.B) {
	benchmarkReader(b, func(r *dictionary.Reader) error {
		_, err := r.NextFields()
		return err
	})
}

// benchmarkReader reads the challenge's hired_employees file, 50 times
// over, record by record with next.
func benchmarkReader(b *testing.B, next func(*dictionary.Reader) error) {
	data, err := os.ReadFile(filepath.Join(datasetDir(b), "hired_employees.csv"))
	if err != nil {
		b.Fatal(err)
	}
	data = bytes.Repeat(data, 50)
	tbl := table(b, "hired_employees")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r := tbl.NewReader(bytes.NewReader(data))
		for {
			err := next(r)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParseRecordValues validates the records of the challenge's
// hired_employees file, already cut into fields, with ParseRecordValues:
// the validators' work in load-csv.
func BenchmarkParseRecordValues(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(datasetDir(b), "hired_employees.csv"))
	if err != nil {
		b.Fatal(err)
	}
	tbl := table(b, "hired_employees")
	r := tbl.NewReader(bytes.NewReader(data))
	var records []dictionary.Fields
	for {
		rec, err := r.NextFields()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if rec.Err == nil {
			rec.Values = slices.Clone(rec.Values)
			records = append(records, rec)
		}
	}
	values := make([]dictionary.Value, len(tbl.Fields))
	b.ReportAllocs()
	valid := 0
	for b.Loop() {
		for _, rec := range records {
			if tbl.ParseRecordValues(rec.Line, rec.Values, values) == nil {
				valid++
			}
		}
	}
	b.ReportMetric(float64(b.N*len(records))/b.Elapsed().Seconds(), "records/s")
	if valid == 0 {
		b.Fatal("no valid record")
	}
}
