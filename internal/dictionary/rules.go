package dictionary

import (
	"fmt"
	"slices"
	"strings"
)

// Rule is the machine-readable code of a broken rule. The codes are part of
// the public contract: they appear in rejected_rows, logs and API answers.
type Rule string

// The rules a row can break.
const (
	// RuleRequired: a REQUIRED value is missing, null, or blank.
	RuleRequired Rule = "required"
	// RuleType: the value is not of the column's type.
	RuleType Rule = "type"
	// RuleRange: an INTEGER is not greater than 0, or does not fit in 64 bits.
	RuleRange Rule = "range"
	// RuleFormat: a TIMESTAMP is not RFC 3339 with a zone, or is out of range.
	RuleFormat Rule = "format"
	// RuleTooLong: a STRING has more characters than its maxLength.
	RuleTooLong Rule = "too_long"
	// RuleEncoding: a STRING is not valid UTF-8.
	RuleEncoding Rule = "encoding"
	// RuleControlCharacter: a STRING contains a control character, U+0000 to
	// U+001F (tab, line feed and carriage return included) or U+007F.
	RuleControlCharacter Rule = "control_character"
	// RuleUnknownField: a JSON object names a column the table does not have.
	RuleUnknownField Rule = "unknown_field"
	// RuleDuplicateField: a JSON object names the same column twice.
	RuleDuplicateField Rule = "duplicate_field"
	// RuleFieldCount: a CSV record does not have one field per column.
	RuleFieldCount Rule = "field_count"
	// RuleMalformed: the row is not well-formed CSV or JSON.
	RuleMalformed Rule = "malformed"
	// RuleRecordTooLong: a CSV record has more bytes than the reader's
	// limit; the reader skips to its end without keeping it.
	RuleRecordTooLong Rule = "record_too_long"
	// RuleTooManyFields: a CSV record has more fields than the reader's
	// limit.
	RuleTooManyFields Rule = "too_many_fields"
	// RuleDuplicateInBatch: an API batch has an earlier row with the same key.
	RuleDuplicateInBatch Rule = "duplicate_in_batch"
)

// Rules lists every rule code, in a stable order for reports.
var Rules = []Rule{
	RuleRequired, RuleType, RuleRange, RuleFormat, RuleTooLong, RuleEncoding, RuleControlCharacter,
	RuleUnknownField, RuleDuplicateField, RuleFieldCount, RuleMalformed, RuleRecordTooLong, RuleTooManyFields,
	RuleDuplicateInBatch,
}

// FieldError is one broken rule. Field is empty when the rule concerns the
// whole row (field_count, malformed, record_too_long, too_many_fields).
type FieldError struct {
	Field   string `json:"field,omitempty"`
	Rule    Rule   `json:"rule"`
	Message string `json:"message"`
}

// Loggable returns errs as a log line may carry them: the field, the rule
// and the message, none of which quotes a value, except that the name of
// an unknown JSON member is the sender's own text, so it is left out.
func Loggable(errs []FieldError) []FieldError {
	out := make([]FieldError, len(errs))
	for i, e := range errs {
		if e.Rule == RuleUnknownField {
			e = FieldError{Rule: e.Rule, Message: "a member that is not a column of the table"}
		}
		out[i] = e
	}
	return out
}

func (e FieldError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.Rule, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Field, e.Rule, e.Message)
}

// RowError lists every rule a row broke. Row is the caller's row number: the
// line number for a CSV file, the index for a batch of JSON objects. Key is
// the value of the table's key when it is valid, nil otherwise.
type RowError struct {
	Table  string
	Row    int64
	Errors []FieldError
	Key    any
}

func (e *RowError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return fmt.Sprintf("%s row %d: %s", e.Table, e.Row, strings.Join(parts, "; "))
}

// Rules returns the distinct rule codes of the row's errors, in order of
// first appearance.
func (e *RowError) Rules() []Rule {
	var rules []Rule
	for _, fe := range e.Errors {
		if !slices.Contains(rules, fe.Rule) {
			rules = append(rules, fe.Rule)
		}
	}
	return rules
}
