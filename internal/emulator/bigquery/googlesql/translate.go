package googlesql

import (
	"fmt"
	"strconv"
	"strings"
)

// TableRef names a BigQuery table.
type TableRef struct {
	Project, Dataset, Table string
}

// String formats the reference as BigQuery does in messages: project:dataset.table.
func (r TableRef) String() string { return r.Project + ":" + r.Dataset + "." + r.Table }

// Kind is the kind of a statement, spelled as BigQuery's statementType.
type Kind string

// The statements the translator accepts.
const (
	Select Kind = "SELECT"
	Insert Kind = "INSERT"
	Update Kind = "UPDATE"
	Delete Kind = "DELETE"
	Merge  Kind = "MERGE"
)

// Options tell the translator how to name what it cannot know by itself.
type Options struct {
	// DefaultProject qualifies table names written as dataset.table.
	DefaultProject string
	// DefaultDataset qualifies table names written without a dataset; empty
	// means such names are an error, as in BigQuery.
	DefaultDataset string
	// Table returns the DuckDB name of a table.
	Table func(TableRef) string
	// Param returns the DuckDB expression for the named parameter, or false
	// when the request has no such parameter.
	Param func(name string) (string, bool)
	// Positional returns the DuckDB expression for the i-th (0-based)
	// positional parameter, or false when the request has fewer.
	Positional func(i int) (string, bool)
}

// Statement is a translated statement.
type Statement struct {
	// SQL is the DuckDB text.
	SQL string
	// Kind is the statement's kind.
	Kind Kind
	// Target is the table a DML statement writes.
	Target TableRef
	// Tables lists every table the statement names, once each, in order.
	Tables []TableRef
	// AsOf lists the tables the statement reads as of a time (FOR
	// SYSTEM_TIME AS OF), in order. Each is also in Tables, and is read
	// at that time only: the translator refuses a statement that also
	// reads it as it is now, or writes it.
	AsOf []AsOf
}

// AsOf is a table that a statement reads as of a time, FOR SYSTEM_TIME AS
// OF a constant expression.
//
// The statement's SQL reads the table through a subquery of the rows whose
// rowid is at most the DuckDB parameter Param, which the caller binds to
// the last rowid of the rows the table had at the time: the emulator keeps
// a table's rows in insertion order between rewrites, so the table as of a
// time is a prefix of it.
type AsOf struct {
	Table TableRef
	// Time is the DuckDB text of the expression, to be evaluated once
	// before the statement runs. It uses the statement's parameters and
	// no column, and names no table; its type is the caller's to check
	// (TIMESTAMPTZ for a valid one).
	Time string
	// Param is the name, without $, of the BIGINT parameter that bounds
	// the rowids the statement reads; it cannot clash with the names of
	// the Param and Positional options, which the caller chooses, as long
	// as those do not start with "asof_".
	Param string
}

// statements are the first words of GoogleSQL statements the emulator
// refuses (DDL, scripting, transactions, data control).
var statements = wordSet(`ALTER ASSERT BEGIN CALL COMMIT CREATE DECLARE DROP EXECUTE EXPORT GRANT
	IF LOAD LOOP RAISE REPEAT RETURN REVOKE ROLLBACK SET TRUNCATE UNDROP WHILE`)

type translator struct {
	opts       Options
	ctes       map[string]bool
	tables     []TableRef
	now        map[TableRef]bool // tables read or written as they are now
	asOf       []AsOf
	positional int
}

// Translate translates one GoogleSQL statement.
func Translate(query string, opts Options) (*Statement, error) {
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	for len(toks) > 0 && toks[len(toks)-1].isPunct(";") {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return nil, syntaxError(len(query), "Unexpected end of script")
	}
	for _, tk := range toks {
		if tk.isPunct(";") {
			return nil, unsupported("A script (several statements separated by ;)")
		}
	}
	if err := checkBalanced(toks); err != nil {
		return nil, err
	}
	t := &translator{opts: opts, ctes: cteNames(toks), now: map[TableRef]bool{}}
	st := &Statement{}
	var sql string
	switch first := toks[0]; {
	case first.is("SELECT"), first.is("WITH"), first.isPunct("("):
		st.Kind = Select
		sql, err = t.seq(toks)
	case first.is("INSERT"):
		st.Kind = Insert
		sql, st.Target, err = t.dml(toks, "INSERT INTO", "INTO", false)
	case first.is("DELETE"):
		st.Kind = Delete
		sql, st.Target, err = t.dml(toks, "DELETE FROM", "FROM", true)
	case first.is("UPDATE"):
		st.Kind = Update
		sql, st.Target, err = t.dml(toks, "UPDATE", "", true)
	case first.is("MERGE"):
		st.Kind = Merge
		sql, st.Target, err = t.dml(toks, "MERGE INTO", "INTO", false)
	case statements[first.upper()]:
		return nil, unsupported("The %s statement", first.upper())
	default:
		return nil, syntaxError(first.pos, "Unexpected %q", first.text)
	}
	if err != nil {
		return nil, err
	}
	for _, a := range t.asOf {
		if t.now[a.Table] {
			return nil, &Error{Message: fmt.Sprintf("Table %s is read both as of a time (FOR SYSTEM_TIME AS OF) and as it is now: a statement reads a table at one point in time, and a DML statement writes its table as it is now", a.Table)}
		}
	}
	st.SQL = sql
	st.Tables = t.tables
	st.AsOf = t.asOf
	return st, nil
}

// dml translates an INSERT, DELETE, UPDATE or MERGE statement: keyword,
// optional noise word, target table, rest.
func (t *translator) dml(toks []token, head, optional string, needWhere bool) (string, TableRef, error) {
	i := 1
	if optional != "" && i < len(toks) && toks[i].is(optional) {
		i++
	}
	asOf := len(t.asOf)
	ref, name, next, err := t.tableAt(toks, i)
	if err != nil {
		return "", TableRef{}, err
	}
	if len(t.asOf) > asOf {
		return "", TableRef{}, &Error{Message: fmt.Sprintf("%s cannot write table %s FOR SYSTEM_TIME AS OF a time: DML statements write the current version of a table", strings.ToUpper(toks[0].text), ref)}
	}
	if name == "" {
		return "", TableRef{}, syntaxError(toks[0].pos, "%s needs a table name", strings.ToUpper(toks[0].text))
	}
	if ref == (TableRef{}) {
		return "", TableRef{}, unsupported("Writing to a WITH clause name")
	}
	rest := toks[next:]
	if needWhere && lastTopLevel(rest, "WHERE") < 0 {
		return "", TableRef{}, &Error{Message: fmt.Sprintf("%s must have a WHERE clause", strings.ToUpper(toks[0].text))}
	}
	body, err := t.seq(rest)
	if err != nil {
		return "", TableRef{}, err
	}
	return join(head, name, body), ref, nil
}

// lastTopLevel returns the index of the last keyword outside parentheses,
// or -1.
func lastTopLevel(toks []token, keyword string) int {
	depth, last := 0, -1
	for i, tk := range toks {
		switch {
		case tk.isPunct("("):
			depth++
		case tk.isPunct(")"):
			depth--
		case depth == 0 && tk.is(keyword):
			last = i
		}
	}
	return last
}

func checkBalanced(toks []token) error {
	var open []token
	for _, tk := range toks {
		switch {
		case tk.isPunct("("):
			open = append(open, tk)
		case tk.isPunct(")"):
			if len(open) == 0 {
				return syntaxError(tk.pos, "Unexpected \")\"")
			}
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return syntaxError(open[len(open)-1].pos, "Unclosed \"(\"")
	}
	return nil
}

// matching returns the index of the ) that closes the ( at toks[i].
func matching(toks []token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch {
		case toks[j].isPunct("("):
			depth++
		case toks[j].isPunct(")"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

// cteNames collects the names defined by WITH clauses: "name AS (" after
// WITH, RECURSIVE or a comma.
func cteNames(toks []token) map[string]bool {
	names := map[string]bool{}
	for i := 1; i+2 < len(toks); i++ {
		prev := toks[i-1]
		if (prev.is("WITH") || prev.is("RECURSIVE") || prev.isPunct(",")) &&
			(toks[i].kind == tokIdent || toks[i].kind == tokQuoted) &&
			toks[i+1].is("AS") && toks[i+2].isPunct("(") {
			names[strings.ToLower(toks[i].text)] = true
		}
	}
	return names
}

// splitArgs splits the tokens between a call's parentheses at top-level commas.
func splitArgs(toks []token) [][]token {
	if len(toks) == 0 {
		return nil
	}
	var args [][]token
	depth, start := 0, 0
	for i, tk := range toks {
		switch {
		case tk.isPunct("("):
			depth++
		case tk.isPunct(")"):
			depth--
		case depth == 0 && tk.isPunct(","):
			args = append(args, toks[start:i])
			start = i + 1
		}
	}
	return append(args, toks[start:])
}

// join joins SQL pieces with single spaces, skipping empty ones.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

// quoteIdent quotes an identifier for DuckDB.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString writes a DuckDB string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// integerLiteral returns the DuckDB text for an integer literal. DuckDB types
// small literals as INTEGER (32 bits) where BigQuery's are INT64, so they are
// cast to keep BigQuery's overflow behaviour.
func integerLiteral(tk token) (string, error) {
	base := 10
	digits := tk.text
	if strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X") {
		base, digits = 16, digits[2:]
	}
	n, err := strconv.ParseInt(digits, base, 64)
	if err != nil {
		return "", &Error{Message: fmt.Sprintf("Invalid integer literal: %s", tk.text)}
	}
	return fmt.Sprintf("CAST(%d AS BIGINT)", n), nil
}

func isInteger(text string) bool {
	if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
		return true
	}
	return !strings.ContainsAny(text, ".eE")
}

// floatLiteral returns the DuckDB text for a FLOAT64 literal (DuckDB would
// type 1.5 as DECIMAL).
func floatLiteral(tk token) (string, error) {
	if _, err := strconv.ParseFloat(tk.text, 64); err != nil {
		return "", &Error{Message: fmt.Sprintf("Invalid floating point literal: %s", tk.text)}
	}
	return "CAST(" + tk.text + " AS DOUBLE)", nil
}
