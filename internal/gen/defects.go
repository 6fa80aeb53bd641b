package gen

import (
	"time"
	"unicode/utf8"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// A defect turns a valid row into a row that breaks exactly one rule.
type defect struct {
	rule dictionary.Rule
	// columns are the indexes of the columns the defect can change.
	columns []int
	// variants is the number of ways the defect has; they are used in turn.
	variants int
	// apply changes row[column] (or the number of fields) and returns the
	// row to write.
	apply func(g *fileGen, row [][]byte, column, variant int) [][]byte
}

// defectsFor returns the defects that apply to the table's CSV rows, at
// most one per rule, in the order of dictionary.Rules.
func defectsFor(t *dictionary.Table) []defect {
	var all, required, integers, timestamps, strs, limited []int
	for i, f := range t.Fields {
		all = append(all, i)
		if f.Required {
			required = append(required, i)
		}
		switch f.Type {
		case dictionary.Integer:
			integers = append(integers, i)
		case dictionary.Timestamp:
			timestamps = append(timestamps, i)
		case dictionary.String:
			strs = append(strs, i)
			if f.MaxLength > 0 {
				limited = append(limited, i)
			}
		}
	}
	candidates := []defect{
		{rule: dictionary.RuleRequired, columns: required, variants: len(blankValues), apply: makeBlank},
		{rule: dictionary.RuleType, columns: integers, variants: len(notIntegers), apply: makeNotInteger},
		{rule: dictionary.RuleRange, columns: integers, variants: 4, apply: makeOutOfRange},
		{rule: dictionary.RuleFormat, columns: timestamps, variants: len(badTimestamps), apply: makeBadTimestamp},
		{rule: dictionary.RuleTooLong, columns: limited, variants: len(longWords), apply: makeTooLong},
		{rule: dictionary.RuleEncoding, columns: strs, variants: len(invalidUTF8), apply: makeInvalidUTF8},
		{rule: dictionary.RuleFieldCount, columns: all, variants: 2, apply: changeFieldCount},
		{rule: dictionary.RuleMalformed, columns: all, variants: 1, apply: addBareQuote},
	}
	var defects []defect
	for _, d := range candidates {
		if len(d.columns) > 0 {
			defects = append(defects, d)
		}
	}
	return defects
}

// blankValues are empty once trimmed.
var blankValues = []string{"", "  "}

func makeBlank(_ *fileGen, row [][]byte, column, variant int) [][]byte {
	row[column] = append(row[column][:0], blankValues[variant]...)
	return row
}

// notIntegers are not base-10 integers.
var notIntegers = []string{"12a", "3.5", "1e3", "seven", "0x1F", "4 2", "١٢"}

func makeNotInteger(_ *fileGen, row [][]byte, column, variant int) [][]byte {
	row[column] = append(row[column][:0], notIntegers[variant]...)
	return row
}

// makeOutOfRange writes 0, the negated value, or a value that overflows 64
// bits either way.
func makeOutOfRange(_ *fileGen, row [][]byte, column, variant int) [][]byte {
	switch variant {
	case 0:
		row[column] = append(row[column][:0], '0')
	case 1:
		row[column] = insert(row[column], 0, "-")
	case 2:
		row[column] = append(row[column][:0], "9223372036854775808"...)
	default:
		row[column] = append(row[column][:0], "-99999999999999999999"...)
	}
	return row
}

// badTimestamps make a timestamp that is not RFC 3339 with a zone, or not
// within BigQuery's range, from a valid time.
var badTimestamps = []func(t time.Time) string{
	func(t time.Time) string { return t.Format(time.DateTime) },                              // space instead of T, no zone
	func(t time.Time) string { return t.Format("2006-01-02T15:04:05") },                      // no zone
	func(t time.Time) string { return t.Format("2006-01-02T15:04:05") + ".123456789Z" },      // nanoseconds
	func(t time.Time) string { return t.Format("2006") + "-13-" + t.Format("02T15:04:05Z") }, // month 13
	func(t time.Time) string { return t.Format("02/01/2006 15:04:05") },                      // day first
	func(t time.Time) string { return t.Format(time.DateOnly) },                              // no time
	func(t time.Time) string { return "2021-02-29T" + t.Format("15:04:05Z") },                // no such day
	func(t time.Time) string { return t.Format("2006-01-02T15:04:05") + "+24:00" },           // offset out of range
	func(time.Time) string { return "0001-01-01T00:30:00+01:00" },                            // year 0 in UTC
}

func makeBadTimestamp(g *fileGen, row [][]byte, column, variant int) [][]byte {
	row[column] = append(row[column][:0], badTimestamps[variant](hireTime(g))...)
	return row
}

// longWords are repeated past a column's maximum length: ASCII, and
// characters of two, three and four bytes.
var longWords = []string{"Sales ", "Ñandú ", "東京 ", "🚀"}

func makeTooLong(g *fileGen, row [][]byte, column, variant int) [][]byte {
	word := longWords[variant]
	limit := g.table.Fields[column].MaxLength + g.rng.IntN(40)
	v := row[column][:0]
	for n := 0; n <= limit; n += utf8.RuneCountInString(word) {
		v = append(v, word...)
	}
	row[column] = v
	return row
}

// invalidUTF8 are byte sequences that are not UTF-8: a Latin-1 "é", bytes
// that never occur, a lone continuation byte, a truncated sequence and an
// encoded surrogate.
var invalidUTF8 = []string{"\xe9", "\xff", "\x80", "\xc3", "\xed\xa0\x80"}

func makeInvalidUTF8(g *fileGen, row [][]byte, column, variant int) [][]byte {
	row[column] = insert(row[column], g.rng.IntN(len(row[column])+1), invalidUTF8[variant])
	return row
}

// changeFieldCount drops the last field or adds one.
func changeFieldCount(_ *fileGen, row [][]byte, column, variant int) [][]byte {
	if variant == 0 && len(row) > 1 {
		return row[:len(row)-1]
	}
	return append(row, row[column])
}

// addBareQuote puts a quote inside an unquoted field, after its first byte
// so that the field does not become a quoted one: encoding/csv rejects that
// line only.
func addBareQuote(g *fileGen, row [][]byte, column, _ int) [][]byte {
	row[column] = insert(row[column], 1+g.rng.IntN(len(row[column])), `"`)
	return row
}

// insert inserts s into b at i.
func insert(b []byte, i int, s string) []byte {
	b = append(b, s...)
	copy(b[i+len(s):], b[i:len(b)-len(s)])
	copy(b[i:], s)
	return b
}
