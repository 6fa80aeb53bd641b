package dictionary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is a validated row. Values holds one value per field, in schema order:
// int64 for INTEGER, string for STRING, time.Time in UTC with microsecond
// precision for TIMESTAMP, and nil for a NULL in a NULLABLE field.
type Row struct {
	Table  *Table
	Values []any
}

// Get returns the value of the field called name.
func (r Row) Get(name string) (any, bool) {
	i, ok := r.Table.index[name]
	if !ok {
		return nil, false
	}
	return r.Values[i], true
}

// Key returns the value of the table's key field.
func (r Row) Key() any { return r.Values[0] }

// Map returns the row as column name to value.
func (r Row) Map() map[string]any {
	m := make(map[string]any, len(r.Values))
	for i, f := range r.Table.Fields {
		m[f.Name] = r.Values[i]
	}
	return m
}

// Value is a validated value of a field, unboxed: an INTEGER in Int, a
// TIMESTAMP in Int as microseconds since the Unix epoch, a STRING in Str,
// and Null for a NULL in a NULLABLE field. Table.ParseRecordValues gives
// them, for callers that would otherwise box every value into an any.
type Value struct {
	Str  string
	Int  int64
	Null bool
}

// Any returns v as Row.Values holds a value of a field of type t.
func (v Value) Any(t Type) any {
	switch {
	case v.Null:
		return nil
	case t == Integer:
		return v.Int
	case t == Timestamp:
		return time.UnixMicro(v.Int).UTC()
	default:
		return v.Str
	}
}

// ParseRecord validates a CSV record, whose fields are in schema order, and
// returns the typed row. On failure it returns every rule the record broke,
// numbered with row (the line number).
func (t *Table) ParseRecord(row int64, record []string) (Row, *RowError) {
	return t.ParseRecordInto(row, record, nil)
}

// ParseRecordInto is ParseRecord with the row's values in values when it
// has one element per field, or in a new slice when it is nil. It is safe
// for concurrent use.
func (t *Table) ParseRecordInto(row int64, record []string, values []any) (Row, *RowError) {
	var buf [8]Value
	typed := buf[:]
	if len(t.Fields) > len(buf) {
		typed = make([]Value, len(t.Fields))
	}
	if rerr := t.ParseRecordValues(row, record, typed[:len(t.Fields)]); rerr != nil {
		return Row{}, rerr
	}
	return t.rowInto(typed, values), nil
}

// RowOf returns the row of values, one per field, boxed as Row.Values
// holds them.
func (t *Table) RowOf(values []Value) Row {
	return t.rowInto(values, nil)
}

// rowInto is RowOf into boxed, of one element per field, or into a new
// slice when it is nil.
func (t *Table) rowInto(values []Value, boxed []any) Row {
	if boxed == nil {
		boxed = make([]any, len(t.Fields))
	}
	for i := range t.Fields {
		boxed[i] = values[i].Any(t.Fields[i].Type)
	}
	return Row{Table: t, Values: boxed}
}

// ParseRecordValues is ParseRecordInto with the values unboxed, in values,
// of one element per field. ParseRecordInto boxes what it gives. It is safe
// for concurrent use.
func (t *Table) ParseRecordValues(row int64, record []string, values []Value) *RowError {
	if len(record) != len(t.Fields) {
		return t.rowError(row, FieldError{
			Rule:    RuleFieldCount,
			Message: fmt.Sprintf("expected %d fields (%s), got %d", len(t.Fields), strings.Join(t.ColumnNames(), ", "), len(record)),
		})
	}
	var errs []FieldError
	keyOK := false
	for i := range t.Fields {
		if fe := t.Fields[i].parseValue(record[i], &values[i]); fe != nil {
			errs = append(errs, *fe)
			continue
		}
		keyOK = keyOK || i == 0
	}
	// values may hold an earlier row's in a field that failed: the key is
	// this row's only when its field passed.
	return t.refusal(row, errs, values, keyOK)
}

// refusal is the RowError of a row that broke errs, or nil when errs is
// nil, with the row's key when keyOK: when the key's field, values[0],
// passed.
func (t *Table) refusal(row int64, errs []FieldError, values []Value, keyOK bool) *RowError {
	if errs == nil {
		return nil
	}
	rerr := &RowError{Table: t.Name, Row: row, Errors: errs}
	if keyOK {
		rerr.Key = values[0].Any(t.Fields[0].Type)
	}
	return rerr
}

// ParseObjectString is ParseObjectValues for an object held in a string,
// in one pass: the values' strings share its memory. Only a valid object of
// plain members is read that way; any other object (an error, an escape, a
// member unknown or twice, a nested value) is given to ParseObjectValues,
// so that every refusal says the same.
func (t *Table) ParseObjectString(row int64, object string, values []Value) *RowError {
	if end, ok := t.ScanObject(object, 0, values); ok && SkipSpace(object, end) == len(object) {
		return nil
	}
	return t.ParseObjectValues(row, []byte(object), values)
}

// ScanObject reads the object that starts at s[i:], after JSON white space,
// as ParseObjectString's one pass does: a valid object of plain members,
// each a known field once, with valid values. It sets values, of one
// element per field, to the row's values, whose strings share s's memory,
// and returns the index after the object's closing brace. It reports
// false, with values partly set, for any other object: ParseObjectValues
// says why.
func (t *Table) ScanObject(s string, i int, values []Value) (int, bool) {
	return t.scanObject(s, i, values)
}

// scanObject is ScanObject.
func (t *Table) scanObject(s string, i int, values []Value) (int, bool) {
	var seen uint64
	if len(t.Fields) > 64 {
		return 0, false
	}
	for f := range values {
		values[f] = Value{Null: true}
	}
	i = SkipSpace(s, i)
	if i >= len(s) || s[i] != '{' {
		return 0, false
	}
	i = SkipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		i++
	} else {
		for member := 0; ; member++ {
			name, next, ok := scanString(s, i)
			if !ok {
				return 0, false
			}
			f, known := t.fieldIndex(name, member)
			if !known || seen&(1<<f) != 0 {
				return 0, false
			}
			seen |= 1 << f
			i = SkipSpace(s, next)
			if i >= len(s) || s[i] != ':' {
				return 0, false
			}
			i = SkipSpace(s, i+1)
			if i >= len(s) {
				return 0, false
			}
			if values[f], i, ok = t.Fields[f].scanValue(s, i); !ok {
				return 0, false
			}
			i = SkipSpace(s, i)
			if i >= len(s) {
				return 0, false
			}
			if s[i] == '}' {
				i++
				break
			}
			if s[i] != ',' {
				return 0, false
			}
			i = SkipSpace(s, i+1)
		}
	}
	for f := range t.Fields {
		if t.Fields[f].Required && seen&(1<<f) == 0 {
			return 0, false
		}
	}
	return i, true
}

// fieldIndex returns the index of the field named name, the member-th
// member of its object: members most often come in the order of the
// fields, which a comparison checks before the map.
func (t *Table) fieldIndex(name string, member int) (int, bool) {
	if member < len(t.Fields) && t.Fields[member].Name == name {
		return member, true
	}
	f, ok := t.index[name]
	return f, ok
}

// scanValue reads a valid value of the field at s[i:]: null in a NULLABLE
// field, or a plain string or integer that passes the field's rules. It
// returns the value and the index after it.
func (f *Field) scanValue(s string, i int) (Value, int, bool) {
	switch c := s[i]; {
	case c == '"':
		str, next, ok := scanString(s, i)
		if !ok || f.Type == Integer || strings.TrimSpace(str) == "" {
			return Value{}, 0, false
		}
		var v Value
		var fe *FieldError
		if f.Type == Timestamp {
			v.Int, fe = f.parseTimestamp(str)
		} else {
			v.Str, fe = f.checkString(str)
		}
		return v, next, fe == nil
	case c == 'n':
		if f.Required || !strings.HasPrefix(s[i:], "null") {
			return Value{}, 0, false
		}
		return Value{Null: true}, i + len("null"), true
	case c == '-' || c >= '1' && c <= '9':
		if f.Type != Integer {
			return Value{}, 0, false
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j < len(s) && (s[j] == '.' || s[j] == 'e' || s[j] == 'E') || s[i:j] == "-" || s[i] == '-' && s[i+1] == '0' {
			return Value{}, 0, false
		}
		n, fe := f.parseInteger(s[i:j])
		return Value{Int: n}, j, fe == nil
	}
	return Value{}, 0, false
}

// scanString reads a JSON string at s[i:] that has no escape, no control
// character and only valid UTF-8, and returns its content and the index
// after its closing quote.
func scanString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	// Most strings are printable ASCII: one table lookup a byte finds
	// their end.
	j := i + 1
	for j < len(s) && plainStringByte[s[j]] {
		j++
	}
	if j < len(s) && s[j] == '"' {
		return s[i+1 : j], j + 1, true
	}
	ascii := true
	for ; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			str := s[i+1 : j]
			return str, j + 1, ascii || utf8.ValidString(str)
		case c == '\\' || c < 0x20:
			return "", 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", 0, false
}

// plainStringByte tells the bytes a JSON string holds as they are that are
// printable ASCII: all of them but the quote and the backslash.
var plainStringByte = func() (plain [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	return plain
}()

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func SkipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// ParseObjectValues validates one JSON object whose members are the row's
// columns: JSON numbers for INTEGER, strings for STRING and RFC 3339 strings
// for TIMESTAMP. row is the object's index in its batch. It reads the object
// member by member with encoding/json and collects every rule it breaks.
// The row's values, unboxed, are set in values, of one element per field.
func (t *Table) ParseObjectValues(row int64, object []byte, values []Value) *RowError {
	members, fe := splitObject(object)
	if fe != nil {
		return t.rowError(row, *fe)
	}
	for i := range values {
		values[i] = Value{Null: true}
	}
	seen := make([]bool, len(t.Fields))
	keyOK := false
	var errs []FieldError
	for _, m := range members {
		i, ok := t.index[m.name]
		if !ok {
			errs = append(errs, FieldError{
				Field:   shorten(m.name),
				Rule:    RuleUnknownField,
				Message: fmt.Sprintf("unknown field %s (fields: %s)", quote(m.name), strings.Join(t.ColumnNames(), ", ")),
			})
			continue
		}
		if seen[i] {
			errs = append(errs, FieldError{Field: m.name, Rule: RuleDuplicateField, Message: "appears more than once in the object"})
			continue
		}
		seen[i] = true
		v, fe := t.Fields[i].parseJSON(m.value)
		if fe != nil {
			errs = append(errs, *fe)
			continue
		}
		values[i] = v
		keyOK = keyOK || i == 0
	}
	for i, f := range t.Fields {
		if !seen[i] && f.Required {
			errs = append(errs, FieldError{Field: f.Name, Rule: RuleRequired, Message: "is required but missing"})
		}
	}
	return t.refusal(row, errs, values, keyOK)
}

func (t *Table) rowError(row int64, fe FieldError) *RowError {
	return &RowError{Table: t.Name, Row: row, Errors: []FieldError{fe}}
}

type member struct {
	name  string
	value json.RawMessage
}

// splitObject returns the members of a JSON object in document order,
// keeping duplicates so that they can be reported.
func splitObject(data []byte) ([]member, *FieldError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, malformedJSON(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &FieldError{Rule: RuleType, Message: "a row must be a JSON object"}
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformedJSON(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, malformedJSON(fmt.Errorf("unexpected %v", tok))
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, malformedJSON(err)
		}
		members = append(members, member{name: name, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, malformedJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformedJSON(errors.New("data after the object"))
	}
	return members, nil
}

func malformedJSON(err error) *FieldError {
	return &FieldError{Rule: RuleMalformed, Message: "not valid JSON: " + err.Error()}
}

// parseValue validates a CSV field into v, its unboxed value.
func (f *Field) parseValue(s string, v *Value) *FieldError {
	// A field that starts with printable ASCII is not blank: most are,
	// and TrimSpace is then not needed to tell.
	if (len(s) == 0 || s[0] <= ' ' || s[0] >= utf8.RuneSelf) && strings.TrimSpace(s) == "" {
		if f.Required {
			return f.fail(RuleRequired, "is required but empty")
		}
		*v = Value{Null: true}
		return nil
	}
	var fe *FieldError
	v.Null = false
	switch f.Type {
	case Integer:
		v.Int, fe = f.parseInteger(s)
	case Timestamp:
		v.Int, fe = f.parseTimestamp(s)
	default:
		v.Str, fe = f.checkString(s)
	}
	return fe
}

// parseJSON validates a JSON member value.
func (f *Field) parseJSON(raw json.RawMessage) (Value, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		if f.Required {
			return Value{}, f.fail(RuleRequired, "is required but null")
		}
		return Value{Null: true}, nil
	}
	var s string
	isString := len(raw) > 0 && raw[0] == '"'
	if isString {
		if !utf8.Valid(raw) {
			return Value{}, f.fail(RuleEncoding, "is not valid UTF-8")
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return Value{}, f.fail(RuleMalformed, "not a valid JSON string")
		}
		if strings.TrimSpace(s) == "" && f.Required {
			return Value{}, f.fail(RuleRequired, "is required but empty")
		}
	}
	switch f.Type {
	case Integer:
		if isString {
			return Value{}, f.fail(RuleType, "must be a JSON number, not a string")
		}
		if !isJSONInteger(raw) {
			return Value{}, f.fail(RuleType, "must be an integer")
		}
		n, fe := f.parseInteger(string(raw))
		return Value{Int: n}, fe
	case Timestamp:
		if !isString {
			return Value{}, f.fail(RuleType, "must be an RFC 3339 string")
		}
		if strings.TrimSpace(s) == "" {
			return Value{Null: true}, nil
		}
		ts, fe := f.parseTimestamp(s)
		return Value{Int: ts}, fe
	default:
		if !isString {
			return Value{}, f.fail(RuleType, "must be a JSON string")
		}
		if strings.TrimSpace(s) == "" {
			return Value{Null: true}, nil
		}
		str, fe := f.checkString(s)
		return Value{Str: str}, fe
	}
}

// isJSONInteger reports whether raw is a JSON number without fraction or
// exponent.
func isJSONInteger(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (f *Field) parseInteger(s string) (int64, *FieldError) {
	if n, ok := plainInteger(s); ok {
		return n, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, f.fail(RuleRange, "does not fit in a 64-bit integer")
	}
	if err != nil {
		return 0, f.fail(RuleType, "not an integer")
	}
	if n <= 0 {
		return 0, f.fail(RuleRange, "must be greater than 0")
	}
	return n, nil
}

// plainInteger parses the common form of a valid integer: 1 to 18 ASCII
// digits, of a value greater than 0. It reports false for any other string,
// which strconv.ParseInt then reads: the result is the same
// (FuzzPlainInteger holds it to that).
func plainInteger(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, n > 0
}

// BigQuery TIMESTAMP bounds.
var (
	minTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTimestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// parseTimestamp returns the timestamp s names, as microseconds since the
// Unix epoch.
func (f *Field) parseTimestamp(s string) (int64, *FieldError) {
	if us, ok := plainTimestamp(s); ok {
		return us, nil
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !validOffset(s) {
		return 0, f.fail(RuleFormat, "not an RFC 3339 timestamp with a zone, such as 2021-07-27T16:02:08Z")
	}
	if finerThanMicroseconds(s) {
		return 0, f.fail(RuleFormat, "more precise than microseconds")
	}
	if ts.Before(minTimestamp) || ts.After(maxTimestamp) {
		return 0, f.fail(RuleFormat, "outside 0001-01-01 to 9999-12-31 UTC")
	}
	return ts.UnixMicro(), nil
}

// plainTimestamp parses the common form of a timestamp, such as
// 2021-07-27T16:02:08Z: UTC, whole seconds, from year 0001, into
// microseconds since the Unix epoch. It reports false for any other string,
// which time.Parse then reads: the result is the same (FuzzPlainTimestamp
// holds it to that).
func plainTimestamp(s string) (int64, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return 0, false
	}
	ok := true
	// two reads the two digits at s[i:], and clears ok if they are not.
	two := func(i int) int {
		hi, lo := s[i]-'0', s[i+1]-'0'
		ok = ok && hi <= 9 && lo <= 9
		return int(hi)*10 + int(lo)
	}
	year, month, day := two(0)*100+two(2), two(5), two(8)
	hour, minute, second := two(11), two(14), two(17)
	if !ok {
		return 0, false
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || second > 59 {
		return 0, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+second)
	return secs * 1e6, true
}

// daysSinceEpoch returns the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar, counted in eras of 400 years (146,097
// days) from 0000-03-01, so that a leap day ends its year.
func daysSinceEpoch(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400 // year >= 0 here: the form starts at year 0001
	yearOfEra := year - era*400
	monthFromMarch := (month + 9) % 12
	dayOfYear := (153*monthFromMarch+2)/5 + day - 1
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return int64(era*146097+dayOfEra) - 719468
}

// daysIn returns the number of days of a month of the proleptic Gregorian
// calendar.
func daysIn(m time.Month, year int) int {
	if m == time.February && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[m-1])
}

var monthDays = [12]uint8{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// validOffset reports whether the zone that ends a timestamp accepted by
// time.Parse is within RFC 3339's ranges (hours 00-23, minutes 00-59):
// time.Parse accepts an offset hour of 24 and an offset minute of 60.
func validOffset(s string) bool {
	if strings.HasSuffix(s, "Z") || len(s) < 6 {
		return true
	}
	zone := s[len(s)-5:] // hh:mm after the sign, digits since time.Parse accepted them
	hour := int(zone[0]-'0')*10 + int(zone[1]-'0')
	minute := int(zone[3]-'0')*10 + int(zone[4]-'0')
	return hour < 24 && minute < 60
}

// finerThanMicroseconds reports whether a timestamp accepted by time.Parse has
// a non-zero digit after the sixth of its fraction of a second. time.Parse
// truncates a fraction to nanoseconds, so the time value alone cannot tell.
func finerThanMicroseconds(s string) bool {
	i := strings.IndexAny(s, ".,")
	if i < 0 {
		return false
	}
	for j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
		if j-i > 6 && s[j] != '0' {
			return true
		}
	}
	return false
}

func (f *Field) checkString(s string) (string, *FieldError) {
	if plainASCII(s) {
		// Valid UTF-8 of one character per byte, without control
		// characters: only the length is left to check.
		if f.MaxLength > 0 && len(s) > f.MaxLength {
			return "", f.fail(RuleTooLong, fmt.Sprintf("has %d characters, at most %d allowed", len(s), f.MaxLength))
		}
		return s, nil
	}
	if !utf8.ValidString(s) {
		return "", f.fail(RuleEncoding, "is not valid UTF-8")
	}
	// In valid UTF-8 a byte below 0x80 is a character of its own, and
	// every character has one byte that is not a continuation byte
	// (10xxxxxx): one pass over the bytes counts the characters and finds
	// the control characters, without decoding.
	n, control := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c&0xC0 != 0x80 {
			n++
		}
		control = control || c < 0x20 || c == 0x7f
	}
	if f.MaxLength > 0 && n > f.MaxLength {
		return "", f.fail(RuleTooLong, fmt.Sprintf("has %d characters, at most %d allowed", n, f.MaxLength))
	}
	if control {
		return "", f.fail(RuleControlCharacter, "contains a control character (U+0000 to U+001F, such as a tab or a line break, or U+007F)")
	}
	return s, nil
}

// plainASCII reports whether s is printable ASCII: no byte of 0x80 or
// more, and no control character.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func (f *Field) fail(rule Rule, msg string) *FieldError {
	return &FieldError{Field: f.Name, Rule: rule, Message: msg}
}

// shorten cuts a name taken from input to at most 128 bytes, so that a huge
// key cannot flood a log line.
func shorten(s string) string { return prefix(s, 128) }

// quote quotes a value for a message, shortened so that a huge or binary
// value cannot flood a log line.
func quote(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(prefix(s, max)) + fmt.Sprintf("... (%d bytes)", len(s))
}

// prefix returns at most max bytes of s, cut on a rune boundary.
func prefix(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
