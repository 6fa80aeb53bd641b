package googlesql

import (
	"fmt"
	"strconv"
	"strings"
)

// function translates a call, given its upper-case name and its arguments.
type function func(t *translator, name string, args [][]token) (string, error)

// functions lists every function the emulator supports. Each entry either has
// the same meaning in both dialects or is rewritten to have it; any other
// function is refused.
var functions map[string]function

func init() {
	functions = map[string]function{
		"COUNT":       same("count", 1, 1),
		"SUM":         same("sum", 1, 1),
		"AVG":         same("avg", 1, 1),
		"MIN":         same("min", 1, 1),
		"MAX":         same("max", 1, 1),
		"ANY_VALUE":   same("any_value", 1, 1),
		"LOGICAL_AND": same("bool_and", 1, 1),
		"LOGICAL_OR":  same("bool_or", 1, 1),
		"COALESCE":    same("coalesce", 1, -1),
		"IFNULL":      same("ifnull", 2, 2),
		"NULLIF":      same("nullif", 2, 2),
		"IF":          same("if", 3, 3),
		"LOWER":       same("lower", 1, 1),
		"UPPER":       same("upper", 1, 1),
		"LENGTH":      same("length", 1, 1),
		"STARTS_WITH": same("starts_with", 2, 2),
		"ENDS_WITH":   same("ends_with", 2, 2),
		"ROW_NUMBER":  same("row_number", 0, 0),
		"RANK":        same("rank", 0, 0),
		"DENSE_RANK":  same("dense_rank", 0, 0),
		"LAG":         same("lag", 1, 3),
		"LEAD":        same("lead", 1, 3),
		"FIRST_VALUE": same("first_value", 1, 1),
		"LAST_VALUE":  same("last_value", 1, 1),
		"COUNTIF":     countIf,
		"CONCAT":      concat,
		"ROUND":       round,
		"SAFE_DIVIDE": safeDivide,
		"CAST":        cast("CAST"),
		"SAFE_CAST":   cast("TRY_CAST"),
		"EXTRACT":     extract,
		"TIMESTAMP":   convert("TIMESTAMPTZ"),
		"DATE":        date,
		"CURRENT_TIMESTAMP": func(t *translator, name string, args [][]token) (string, error) {
			return constant("current_timestamp", name, args)
		},
		"CURRENT_DATE": func(t *translator, name string, args [][]token) (string, error) {
			return constant("current_date", name, args)
		},
		"GENERATE_UUID": func(t *translator, name string, args [][]token) (string, error) {
			return constant("CAST(uuid() AS VARCHAR)", name, args)
		},
		"TIMESTAMP_TRUNC":   trunc("TIMESTAMPTZ"),
		"DATE_TRUNC":        trunc("DATE"),
		"TIMESTAMP_ADD":     addInterval("+", "TIMESTAMPTZ"),
		"TIMESTAMP_SUB":     addInterval("-", "TIMESTAMPTZ"),
		"DATE_ADD":          addInterval("+", "DATE"),
		"DATE_SUB":          addInterval("-", "DATE"),
		"TIMESTAMP_DIFF":    diff("date_sub"),
		"DATE_DIFF":         diff("date_diff"),
		"UNIX_MICROS":       same("epoch_us", 1, 1),
		"UNIX_MILLIS":       same("epoch_ms", 1, 1),
		"UNIX_SECONDS":      template("CAST(floor(epoch(%s)) AS BIGINT)"),
		"TIMESTAMP_MICROS":  template("CAST(make_timestamp(%s) AS TIMESTAMPTZ)"),
		"TIMESTAMP_MILLIS":  template("CAST(make_timestamp((%s) * 1000) AS TIMESTAMPTZ)"),
		"TIMESTAMP_SECONDS": template("to_timestamp(%s)"),
	}
}

func arity(name string, args [][]token, lo, hi int) error {
	if len(args) < lo || (hi >= 0 && len(args) > hi) {
		return &Error{Message: fmt.Sprintf("No matching signature for function %s with %d argument(s)", name, len(args))}
	}
	return nil
}

func (t *translator) args(args [][]token) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) == 0 {
			return nil, &Error{Message: "Syntax error: empty function argument"}
		}
		s, err := t.seq(a)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// same maps a function to a DuckDB function of identical meaning.
func same(duck string, lo, hi int) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if err := arity(name, args, lo, hi); err != nil {
			return "", err
		}
		a, err := t.args(args)
		if err != nil {
			return "", err
		}
		return duck + "(" + strings.Join(a, ", ") + ")", nil
	}
}

// template maps a one-argument function to a DuckDB expression.
func template(format string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return "", err
		}
		a, err := t.args(args)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(format, a[0]), nil
	}
}

func constant(duck, name string, args [][]token) (string, error) {
	if err := arity(name, args, 0, 0); err != nil {
		return "", err
	}
	return duck, nil
}

// countIf counts the rows where the condition is TRUE, as a BIGINT.
func countIf(t *translator, name string, args [][]token) (string, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return "", err
	}
	a, err := t.args(args)
	if err != nil {
		return "", err
	}
	return "count(CASE WHEN " + a[0] + " THEN 1 END)", nil
}

// concat is NULL when any argument is NULL, as || is (DuckDB's concat skips
// NULLs).
func concat(t *translator, name string, args [][]token) (string, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return "", err
	}
	a, err := t.args(args)
	if err != nil {
		return "", err
	}
	return "(" + strings.Join(a, " || ") + ")", nil
}

// round returns FLOAT64 like BigQuery's ROUND of INT64 or FLOAT64 (DuckDB keeps
// an integer input's type).
func round(t *translator, name string, args [][]token) (string, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return "", err
	}
	a, err := t.args(args)
	if err != nil {
		return "", err
	}
	a[0] = "CAST(" + a[0] + " AS DOUBLE)"
	return "round(" + strings.Join(a, ", ") + ")", nil
}

func safeDivide(t *translator, name string, args [][]token) (string, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return "", err
	}
	a, err := t.args(args)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("(CASE WHEN (%[2]s) = 0 THEN NULL ELSE CAST(%[1]s AS DOUBLE) / (%[2]s) END)", a[0], a[1]), nil
}

// duckTypes maps GoogleSQL type names to DuckDB's.
var duckTypes = map[string]string{
	"INT64": "BIGINT", "INT": "BIGINT", "INTEGER": "BIGINT", "SMALLINT": "BIGINT", "BIGINT": "BIGINT",
	"TINYINT": "BIGINT", "BYTEINT": "BIGINT",
	"FLOAT64": "DOUBLE", "NUMERIC": "DECIMAL(38, 9)", "DECIMAL": "DECIMAL(38, 9)",
	"BOOL": "BOOLEAN", "BOOLEAN": "BOOLEAN", "STRING": "VARCHAR", "BYTES": "BLOB",
	"DATE": "DATE", "DATETIME": "TIMESTAMP", "TIMESTAMP": "TIMESTAMPTZ", "TIME": "TIME",
}

// cast translates CAST(x AS type) and SAFE_CAST(x AS type).
func cast(duck string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if err := arity(name, args, 1, 1); err != nil {
			return "", err
		}
		toks := args[0]
		as := lastTopLevel(toks, "AS")
		if as <= 0 || as+1 >= len(toks) {
			return "", &Error{Message: fmt.Sprintf("Syntax error: %s needs an expression AS a type", name)}
		}
		typeToks := toks[as+1:]
		if len(typeToks) != 1 || typeToks[0].kind != tokIdent {
			return "", unsupported("%s to a parameterized, ARRAY or STRUCT type, or with FORMAT,", name)
		}
		target, ok := duckTypes[typeToks[0].upper()]
		if !ok {
			return "", unsupported("%s AS %s", name, typeToks[0].text)
		}
		expr, err := t.seq(toks[:as])
		if err != nil {
			return "", err
		}
		return duck + "(" + expr + " AS " + target + ")", nil
	}
}

// convert translates TIMESTAMP(x), a conversion of one argument.
func convert(target string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if len(args) != 1 {
			return "", unsupported("%s with a time zone argument", name)
		}
		a, err := t.args(args)
		if err != nil {
			return "", err
		}
		return "CAST(" + a[0] + " AS " + target + ")", nil
	}
}

// date translates DATE(x) and DATE(year, month, day).
func date(t *translator, name string, args [][]token) (string, error) {
	switch len(args) {
	case 1:
		return convert("DATE")(t, name, args)
	case 3:
		return same("make_date", 3, 3)(t, name, args)
	}
	return "", unsupported("DATE with %d arguments", len(args))
}

// extractParts maps EXTRACT parts to DuckDB expressions of the operand.
var extractParts = map[string]string{
	"YEAR":        "extract(year FROM %s)",
	"ISOYEAR":     "extract(isoyear FROM %s)",
	"QUARTER":     "extract(quarter FROM %s)",
	"MONTH":       "extract(month FROM %s)",
	"ISOWEEK":     "extract(week FROM %s)",
	"DAY":         "extract(day FROM %s)",
	"DAYOFYEAR":   "extract(dayofyear FROM %s)",
	"DAYOFWEEK":   "(extract(dow FROM %s) + 1)",
	"HOUR":        "extract(hour FROM %s)",
	"MINUTE":      "extract(minute FROM %s)",
	"SECOND":      "extract(second FROM %s)",
	"MILLISECOND": "(extract(millisecond FROM %s) % 1000)",
	"MICROSECOND": "(extract(microsecond FROM %s) % 1000000)",
	"DATE":        "CAST(%s AS DATE)",
}

// extract translates EXTRACT(part FROM x), in UTC.
func extract(t *translator, name string, args [][]token) (string, error) {
	if len(args) != 1 || len(args[0]) < 3 || !args[0][1].is("FROM") {
		return "", &Error{Message: "Syntax error: EXTRACT needs (part FROM expression)"}
	}
	toks := args[0]
	part := toks[0].upper()
	format, ok := extractParts[part]
	if !ok {
		return "", unsupported("EXTRACT(%s ...)", toks[0].text)
	}
	if lastTopLevel(toks[2:], "AT") >= 0 {
		return "", unsupported("EXTRACT ... AT TIME ZONE")
	}
	expr, err := t.seq(toks[2:])
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(format, expr), nil
}

// truncParts are the date parts TIMESTAMP_TRUNC and DATE_TRUNC accept with
// the same meaning in DuckDB; WEEK (weeks starting on Sunday) has none.
var truncParts = map[string]string{
	"MICROSECOND": "microseconds", "MILLISECOND": "milliseconds", "SECOND": "second",
	"MINUTE": "minute", "HOUR": "hour", "DAY": "day", "ISOWEEK": "week", "MONTH": "month",
	"QUARTER": "quarter", "YEAR": "year",
}

func trunc(result string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if len(args) != 2 || len(args[1]) != 1 {
			return "", unsupported("%s with a time zone argument", name)
		}
		part, ok := truncParts[args[1][0].upper()]
		if !ok {
			return "", unsupported("%s to %s", name, args[1][0].text)
		}
		expr, err := t.seq(args[0])
		if err != nil {
			return "", err
		}
		return "CAST(date_trunc('" + part + "', " + expr + ") AS " + result + ")", nil
	}
}

// addInterval translates TIMESTAMP_ADD(x, INTERVAL n part) and its kin.
func addInterval(op, result string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if len(args) != 2 || len(args[1]) == 0 || !args[1][0].is("INTERVAL") {
			return "", &Error{Message: fmt.Sprintf("Syntax error: %s needs (expression, INTERVAL n part)", name)}
		}
		expr, err := t.seq(args[0])
		if err != nil {
			return "", err
		}
		iv, n, err := t.interval(args[1], 0)
		if err != nil {
			return "", err
		}
		if n != len(args[1]) {
			return "", &Error{Message: fmt.Sprintf("Syntax error: unexpected tokens after the INTERVAL of %s", name)}
		}
		return "CAST((" + expr + ") " + op + " " + iv + " AS " + result + ")", nil
	}
}

// intervalParts maps date parts to a DuckDB unit and a multiplier.
var intervalParts = map[string]struct {
	unit   string
	factor int
}{
	"MICROSECOND": {"MICROSECOND", 1}, "MILLISECOND": {"MILLISECOND", 1}, "SECOND": {"SECOND", 1},
	"MINUTE": {"MINUTE", 1}, "HOUR": {"HOUR", 1}, "DAY": {"DAY", 1}, "WEEK": {"DAY", 7},
	"MONTH": {"MONTH", 1}, "QUARTER": {"MONTH", 3}, "YEAR": {"YEAR", 1},
}

// interval translates INTERVAL value part at toks[i] and says how many tokens
// it used. The value is an integer literal, a parameter or a parenthesized
// expression, optionally negated.
func (t *translator) interval(toks []token, i int) (string, int, error) {
	j := i + 1
	sign := ""
	if j < len(toks) && toks[j].isPunct("-") {
		sign = "-"
		j++
	}
	if j >= len(toks) {
		return "", 0, syntaxError(toks[i].pos, "INTERVAL needs a value and a date part")
	}
	var value string
	switch v := toks[j]; {
	case v.kind == tokNumber && isInteger(v.text):
		n, err := strconv.ParseInt(v.text, 0, 64)
		if err != nil {
			return "", 0, &Error{Message: "Invalid INTERVAL value: " + v.text}
		}
		value = strconv.FormatInt(n, 10)
		j++
	case v.kind == tokParam, v.kind == tokPositional, v.isPunct("("):
		end := j
		if v.isPunct("(") {
			end = matching(toks, j)
		}
		s, err := t.seq(toks[j : end+1])
		if err != nil {
			return "", 0, err
		}
		value = s
		j = end + 1
	default:
		return "", 0, unsupported("INTERVAL with a value written as %q", v.text)
	}
	if j >= len(toks) {
		return "", 0, syntaxError(toks[i].pos, "INTERVAL needs a date part")
	}
	p, ok := intervalParts[toks[j].upper()]
	if !ok {
		return "", 0, unsupported("INTERVAL in %s", toks[j].text)
	}
	if j+1 < len(toks) && toks[j+1].is("TO") {
		return "", 0, unsupported("INTERVAL ... TO ...")
	}
	if p.factor != 1 {
		value = fmt.Sprintf("(%s) * %d", value, p.factor)
	}
	return fmt.Sprintf("(INTERVAL (%s%s) %s)", sign, value, p.unit), j + 1 - i, nil
}

// diffParts are the parts TIMESTAMP_DIFF and DATE_DIFF accept; DuckDB counts
// whole elapsed parts with date_sub, crossed boundaries with date_diff.
var diffParts = map[string]string{
	"MICROSECOND": "microseconds", "MILLISECOND": "milliseconds", "SECOND": "second",
	"MINUTE": "minute", "HOUR": "hour", "DAY": "day",
}

// diff translates TIMESTAMP_DIFF(a, b, part) (whole parts elapsed) and
// DATE_DIFF(a, b, DAY) (day boundaries crossed).
func diff(duck string) function {
	return func(t *translator, name string, args [][]token) (string, error) {
		if len(args) != 3 || len(args[2]) != 1 {
			return "", &Error{Message: fmt.Sprintf("Syntax error: %s needs (a, b, part)", name)}
		}
		part, ok := diffParts[args[2][0].upper()]
		if !ok || (duck == "date_diff" && part != "day") {
			return "", unsupported("%s in %s", name, args[2][0].text)
		}
		a, err := t.args(args[:2])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s('%s', %s, %s)", duck, part, a[1], a[0]), nil
	}
}
