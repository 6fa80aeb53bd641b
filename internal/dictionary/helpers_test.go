package dictionary_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// datasetDir returns the folder of the real challenge files. A test that
// needs it fails when CI=true and the folder is missing, and is skipped
// otherwise.
func datasetDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "datasets", "globant")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("dataset folder: %v", err)
		}
		tb.Skipf("dataset folder not available: %v", err)
	}
	return dir
}

// table returns a table of the default dictionary.
func table(tb testing.TB, name string) *dictionary.Table {
	tb.Helper()
	t, ok := dictionary.Default().Table(name)
	if !ok {
		tb.Fatalf("Default().Table(%q): not found", name)
	}
	return t
}

// parseObject is ParseObjectValues with the row's values boxed, as a Row.
func parseObject(tbl *dictionary.Table, row int64, object []byte) (dictionary.Row, *dictionary.RowError) {
	values := make([]dictionary.Value, len(tbl.Fields))
	if rerr := tbl.ParseObjectValues(row, object, values); rerr != nil {
		return dictionary.Row{}, rerr
	}
	return tbl.RowOf(values), nil
}

// fieldRule is what a test asserts about one FieldError.
type fieldRule struct {
	Field string
	Rule  dictionary.Rule
}

// fieldRules returns the field and rule of every error of e, in order.
func fieldRules(e *dictionary.RowError) []fieldRule {
	if e == nil {
		return nil
	}
	got := make([]fieldRule, len(e.Errors))
	for i, fe := range e.Errors {
		got[i] = fieldRule{Field: fe.Field, Rule: fe.Rule}
	}
	return got
}

// checkValues compares typed values exactly: same Go type, and for times the
// same instant in UTC.
func checkValues(tb testing.TB, got, want []any) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d values %v, want %d values %v", len(got), got, len(want), want)
	}
	for i := range want {
		switch w := want[i].(type) {
		case time.Time:
			g, ok := got[i].(time.Time)
			if !ok || !g.Equal(w) || g.Location() != time.UTC {
				tb.Errorf("value %d: got %#v (%T), want %v in UTC", i, got[i], got[i], w)
			}
		default:
			if got[i] != want[i] {
				tb.Errorf("value %d: got %#v (%T), want %#v (%T)", i, got[i], got[i], want[i], want[i])
			}
		}
	}
}

// checkResult asserts the invariants of a parse result for any input: the
// row is either valid, with one value of the field's Go type per field, or
// rejected with at least one error whose rule is a known rule.
func checkResult(tb testing.TB, t *dictionary.Table, rowNumber int64, row dictionary.Row, rerr *dictionary.RowError) {
	tb.Helper()
	if rerr != nil {
		if row.Table != nil || row.Values != nil {
			tb.Errorf("rejected row has a non-zero Row %v", row)
		}
		if rerr.Table != t.Name || rerr.Row != rowNumber {
			tb.Errorf("RowError is for table %q row %d, want %q row %d", rerr.Table, rerr.Row, t.Name, rowNumber)
		}
		if len(rerr.Errors) == 0 {
			tb.Errorf("RowError has no errors")
		}
		for _, fe := range rerr.Errors {
			if !slices.Contains(dictionary.Rules, fe.Rule) {
				tb.Errorf("unknown rule %q in %v", fe.Rule, fe)
			}
			if fe.Message == "" || !utf8.ValidString(fe.Message) || !utf8.ValidString(fe.Field) {
				tb.Errorf("error %q: message and field must be non-empty valid UTF-8", fe)
			}
			if fe.Field != "" && fe.Rule != dictionary.RuleUnknownField && fe.Rule != dictionary.RuleDuplicateField && strings.Contains(fe.Message, `"`) {
				tb.Errorf("error %q: a field's message must not quote its value", fe)
			}
		}
		return
	}
	if row.Table != t {
		tb.Fatalf("valid row has table %v, want %s", row.Table, t.Name)
	}
	if len(row.Values) != len(t.Fields) {
		tb.Fatalf("valid row has %d values, want %d", len(row.Values), len(t.Fields))
	}
	for i, f := range t.Fields {
		checkValue(tb, f, row.Values[i])
	}
}

func checkValue(tb testing.TB, f dictionary.Field, v any) {
	tb.Helper()
	if v == nil {
		if f.Required {
			tb.Errorf("%s: nil value in a REQUIRED field", f.Name)
		}
		return
	}
	switch f.Type {
	case dictionary.Integer:
		if n, ok := v.(int64); !ok || n <= 0 {
			tb.Errorf("%s: got %#v (%T), want an int64 > 0", f.Name, v, v)
		}
	case dictionary.String:
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" || !utf8.ValidString(s) || (f.MaxLength > 0 && utf8.RuneCountInString(s) > f.MaxLength) ||
			strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			tb.Errorf("%s: got %#v (%T), want non-blank valid UTF-8 of at most %d characters, without control characters", f.Name, v, v, f.MaxLength)
		}
	case dictionary.Timestamp:
		ts, ok := v.(time.Time)
		if !ok || ts.Location() != time.UTC || ts.Nanosecond()%1000 != 0 || ts.Year() < 1 || ts.Year() > 9999 {
			tb.Errorf("%s: got %#v (%T), want a time.Time in UTC, microseconds, years 1 to 9999", f.Name, v, v)
		}
	default:
		tb.Errorf("%s: unexpected type %s", f.Name, f.Type)
	}
}
