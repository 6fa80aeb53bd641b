package googlesql

import (
	"fmt"
	"regexp"
	"strings"
)

// keywords are words the translator writes as keywords, never as column
// names: BigQuery's reserved words plus the structural words of DML.
var keywords = wordSet(`ALL AND AS ASC BETWEEN BY CASE CAST CREATE CROSS CURRENT DEFAULT
	DESC DISTINCT ELSE END EXCEPT EXCLUDE EXISTS EXTRACT FALSE FOLLOWING FOR FROM FULL GROUP
	GROUPS HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS JOIN LEFT LIKE LIMIT MERGE
	NATURAL NO NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION PRECEDING QUALIFY
	RECURSIVE RESPECT RIGHT ROWS SELECT SET THEN TO TRUE UNBOUNDED UNION USING WHEN WHERE
	WINDOW WITH OFFSET INSERT UPDATE DELETE VALUES MATCHED`)

// unsupportedKeywords start constructs the emulator refuses.
var unsupportedKeywords = wordSet(`ANY ARRAY ASSERT_ROWS_MODIFIED AT COLLATE CONTAINS CUBE
	DEFINE ENUM ESCAPE FETCH GROUPING HASH LATERAL LOOKUP NEW PROTO RANGE ROLLUP SOME STRUCT
	TABLESAMPLE TREAT UNNEST WITHIN`)

// clauseEnds end a FROM list or a GROUP BY / ORDER BY list at their depth.
var clauseEnds = wordSet(`WHERE GROUP HAVING QUALIFY WINDOW ORDER LIMIT OFFSET UNION
	INTERSECT EXCEPT SET WHEN SELECT`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// seq translates a balanced token sequence: a statement body, a
// parenthesized group or a function argument.
func (t *translator) seq(toks []token) (string, error) {
	var out []string
	inFrom, inBy := false, false
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		var prev token
		if i > 0 {
			prev = toks[i-1]
		}
		switch tk.kind {
		case tokPunct:
			switch tk.text {
			case "(":
				j := matching(toks, i)
				inner, err := t.seq(toks[i+1 : j])
				if err != nil {
					return "", err
				}
				out = append(out, "("+inner+")")
				i = j
			case ",":
				out = append(out, ",")
				if inFrom {
					name, next, err := t.tableText(toks, i+1)
					if err != nil {
						return "", err
					}
					if name != "" {
						out = append(out, name)
						i = next - 1
					}
				}
			case "*":
				out = append(out, "*")
				if i+1 < len(toks) && toks[i+1].is("EXCEPT") {
					out = append(out, "EXCLUDE")
					i++
				}
			case ".":
				if len(out) == 0 || i+1 == len(toks) {
					return "", syntaxError(tk.pos, "Unexpected \".\"")
				}
				next, n, err := t.pathPart(toks, i+1)
				if err != nil {
					return "", err
				}
				out[len(out)-1] += "." + next
				i += n
			case "[", "]", "{", "}", ":":
				return "", unsupported("Array and struct syntax (%q)", tk.text)
			case "^", "~", "=>":
				return "", unsupported("The operator %s", tk.text)
			case "%":
				return "", syntaxError(tk.pos, "Unexpected \"%%\" (use MOD)")
			default:
				out = append(out, tk.text)
			}
		case tokString:
			out = append(out, quoteString(tk.text))
		case tokNumber:
			s, err := t.number(toks, i, inBy)
			if err != nil {
				return "", err
			}
			out = append(out, s)
		case tokParam:
			s, ok := t.opts.Param(tk.text)
			if !ok {
				return "", &Error{Message: "Query parameter '" + tk.text + "' not found"}
			}
			out = append(out, s)
		case tokPositional:
			s, ok := t.opts.Positional(t.positional)
			if !ok {
				return "", &Error{Message: fmt.Sprintf("Positional query parameter %d has no value", t.positional+1)}
			}
			t.positional++
			out = append(out, s)
		case tokQuoted:
			out = append(out, quoteIdent(tk.text))
		case tokIdent:
			up := tk.upper()
			callNext := i+1 < len(toks) && toks[i+1].isPunct("(")
			if f, ok := functions[up]; ok && callNext {
				j := matching(toks, i+1)
				s, err := f(t, up, splitArgs(toks[i+2:j]))
				if err != nil {
					return "", err
				}
				out = append(out, s)
				i = j
				continue
			}
			if up == "UNNEST" && prev.is("IN") && callNext {
				// x IN UNNEST(array): DuckDB compares with a subquery.
				j := matching(toks, i+1)
				inner, err := t.seq(toks[i+2 : j])
				if err != nil {
					return "", err
				}
				out = append(out, "(SELECT UNNEST("+inner+"))")
				i = j
				continue
			}
			if unsupportedKeywords[up] {
				return "", unsupported("%s", up)
			}
			if i+1 < len(toks) && toks[i+1].kind == tokString {
				if s, ok, err := typedLiteral(up, toks[i+1]); ok || err != nil {
					if err != nil {
						return "", err
					}
					out = append(out, s)
					i++
					continue
				}
			}
			switch {
			case up == "FROM" || up == "JOIN" || (up == "USING" && !callNext):
				out = append(out, up)
				if up == "FROM" {
					inFrom, inBy = true, false
				}
				name, next, err := t.tableText(toks, i+1)
				if err != nil {
					return "", err
				}
				if name != "" {
					out = append(out, name)
					i = next - 1
				}
			case up == "BY" && (prev.is("GROUP") || prev.is("ORDER") || prev.is("PARTITION")):
				out = append(out, up)
				inBy = true
			case up == "AS" && prev.is("SELECT"):
				return "", unsupported("SELECT AS STRUCT / AS VALUE")
			case (up == "DISTINCT") && (prev.is("UNION") || prev.is("INTERSECT") || prev.is("EXCEPT")):
				// DuckDB's set operations are DISTINCT unless ALL is written.
			case up == "INTERVAL":
				s, n, err := t.interval(toks, i)
				if err != nil {
					return "", err
				}
				out = append(out, s)
				i += n - 1
			case up == "CURRENT_TIMESTAMP" || up == "CURRENT_DATE":
				out = append(out, strings.ToLower(up))
			case (up == "FIRST" || up == "LAST") && prev.is("NULLS"),
				up == "ROW" && prev.is("CURRENT"),
				(up == "TARGET" || up == "SOURCE") && prev.is("BY") && i+1 < len(toks) && (toks[i+1].is("THEN") || toks[i+1].is("AND")):
				out = append(out, up)
			case keywords[up]:
				if clauseEnds[up] {
					inFrom, inBy = false, false
				}
				out = append(out, up)
			case callNext:
				return "", unsupported("Function %s", up)
			default:
				out = append(out, quoteIdent(tk.text))
			}
		}
	}
	return join(out...), nil
}

// pathPart translates the identifier after a dot in a column path (t.col,
// t.*), and says how many tokens it used.
func (t *translator) pathPart(toks []token, i int) (string, int, error) {
	tk := toks[i]
	switch {
	case tk.kind == tokQuoted || tk.kind == tokIdent:
		if i+1 < len(toks) && toks[i+1].isPunct("(") {
			return "", 0, unsupported("Function %s.%s", toks[i-2].text, tk.text)
		}
		return quoteIdent(tk.text), 1, nil
	case tk.isPunct("*"):
		if i+1 < len(toks) && toks[i+1].is("EXCEPT") {
			return "* EXCLUDE", 2, nil
		}
		return "*", 1, nil
	}
	return "", 0, syntaxError(tk.pos, "Unexpected %q after \".\"", tk.text)
}

// number translates a numeric literal. An integer alone as an item of a
// GROUP BY or ORDER BY list is a column ordinal and stays as written.
func (t *translator) number(toks []token, i int, inBy bool) (string, error) {
	tk := toks[i]
	if !isInteger(tk.text) {
		return floatLiteral(tk)
	}
	if inBy && i > 0 && (toks[i-1].is("BY") || toks[i-1].isPunct(",")) {
		if i+1 == len(toks) || toks[i+1].isPunct(",") || toks[i+1].is("ASC") || toks[i+1].is("DESC") ||
			toks[i+1].is("NULLS") || clauseEnds[toks[i+1].upper()] {
			return tk.text, nil
		}
	}
	return integerLiteral(tk)
}

// typedLiteral translates DATE '...', TIMESTAMP '...' and the like.
func typedLiteral(word string, lit token) (string, bool, error) {
	switch word {
	case "DATE", "TIME":
		return word + " " + quoteString(lit.text), true, nil
	case "TIMESTAMP":
		return "CAST(" + quoteString(lit.text) + " AS TIMESTAMPTZ)", true, nil
	case "DATETIME":
		return "CAST(" + quoteString(lit.text) + " AS TIMESTAMP)", true, nil
	case "NUMERIC":
		return "CAST(" + quoteString(lit.text) + " AS DECIMAL(38, 9))", true, nil
	case "BIGNUMERIC", "JSON", "RANGE":
		return "", false, unsupported("A %s literal", word)
	}
	return "", false, nil
}

// tableText translates the table reference at toks[i], if there is one: it
// returns "" when toks[i] opens a subquery.
func (t *translator) tableText(toks []token, i int) (string, int, error) {
	_, name, next, err := t.tableAt(toks, i)
	return name, next, err
}

// tableAt reads a table path (a.b.c, `a.b.c`, `a`.b.c, my-project.b.c) at
// toks[i], resolves it and returns the reference (zero for a WITH name), its
// DuckDB text and the index after it. It returns an empty name when toks[i]
// does not start a path.
func (t *translator) tableAt(toks []token, i int) (TableRef, string, int, error) {
	if i >= len(toks) {
		return TableRef{}, "", i, syntaxError(lastPos(toks), "Unexpected end of statement, expected a table")
	}
	if toks[i].isPunct("(") {
		return TableRef{}, "", i, nil
	}
	if toks[i].is("UNNEST") {
		return TableRef{}, "", i, unsupported("UNNEST")
	}
	var parts []string
	j := i
	for {
		tk := toks[j]
		switch tk.kind {
		case tokQuoted:
			parts = append(parts, strings.Split(tk.text, ".")...)
			j++
		case tokIdent:
			word := tk.text
			j++
			for j+1 < len(toks) && toks[j].isPunct("-") && adjacent(toks[j-1], toks[j]) && adjacent(toks[j], toks[j+1]) &&
				(toks[j+1].kind == tokIdent || toks[j+1].kind == tokNumber) {
				word += "-" + toks[j+1].text
				j += 2
			}
			parts = append(parts, word)
		default:
			return TableRef{}, "", i, syntaxError(tk.pos, "Unexpected %q, expected a table", tk.text)
		}
		if j+1 < len(toks) && toks[j].isPunct(".") && (toks[j+1].kind == tokIdent || toks[j+1].kind == tokQuoted) {
			j++
			continue
		}
		break
	}
	if j < len(toks) && toks[j].isPunct("(") && (i == 0 || !toks[i-1].is("INSERT") && !toks[i-1].is("INTO")) {
		return TableRef{}, "", i, unsupported("Table-valued function %s", strings.Join(parts, "."))
	}
	alias := aliasEnd(toks, j)
	asOf := alias+1 < len(toks) && toks[alias].is("FOR") && toks[alias+1].is("SYSTEM_TIME")
	for _, p := range parts {
		if p == "" {
			return TableRef{}, "", i, syntaxError(toks[i].pos, "Invalid table name %q", strings.Join(parts, "."))
		}
	}
	var ref TableRef
	switch len(parts) {
	case 1:
		if t.ctes[strings.ToLower(parts[0])] {
			if asOf {
				return TableRef{}, "", i, &Error{Message: fmt.Sprintf("FOR SYSTEM_TIME AS OF cannot read %s, a WITH clause name: it reads tables", parts[0])}
			}
			return TableRef{}, quoteIdent(parts[0]), j, nil
		}
		if t.opts.DefaultDataset == "" {
			return TableRef{}, "", i, &Error{Message: "Table name \"" + parts[0] + "\" missing dataset while no default dataset is set in the request."}
		}
		ref = TableRef{Project: t.opts.DefaultProject, Dataset: t.opts.DefaultDataset, Table: parts[0]}
	case 2:
		ref = TableRef{Project: t.opts.DefaultProject, Dataset: parts[0], Table: parts[1]}
	case 3:
		ref = TableRef{Project: parts[0], Dataset: parts[1], Table: parts[2]}
	default:
		return TableRef{}, "", i, syntaxError(toks[i].pos, "Invalid table name %q", strings.Join(parts, "."))
	}
	t.addTable(ref)
	if asOf {
		name, next, err := t.systemTime(toks, j, alias, ref)
		return ref, name, next, err
	}
	t.now[ref] = true
	return ref, t.opts.Table(ref), j, nil
}

// aliasEnd returns the index after the alias ([AS] name) that may follow a
// table path ending before toks[j]; j when there is none.
func aliasEnd(toks []token, j int) int {
	if j >= len(toks) {
		return j
	}
	if toks[j].is("AS") {
		if j+1 < len(toks) && (toks[j+1].kind == tokIdent || toks[j+1].kind == tokQuoted) {
			return j + 2
		}
		return j
	}
	if tk := toks[j]; tk.kind == tokQuoted || tk.kind == tokIdent && !keywords[tk.upper()] && !unsupportedKeywords[tk.upper()] {
		return j + 1
	}
	return j
}

// asOfEnds end the expression of FOR SYSTEM_TIME AS OF at its depth.
var asOfEnds = wordSet(`WHERE GROUP HAVING QUALIFY WINDOW ORDER LIMIT OFFSET UNION INTERSECT
	EXCEPT SET WHEN SELECT JOIN INNER LEFT RIGHT FULL CROSS NATURAL ON USING`)

// systemTime translates table ref read as of a time: after its path (which
// ends before toks[j]) come an optional alias, up to toks[alias], then FOR
// SYSTEM_TIME AS OF and a constant expression. It returns the DuckDB text,
// a subquery of the rows the table had at that time under the alias (or
// the table's name), and the index after the expression.
func (t *translator) systemTime(toks []token, j, alias int, ref TableRef) (string, int, error) {
	if alias+3 >= len(toks) || !toks[alias+2].is("AS") || !toks[alias+3].is("OF") {
		return "", 0, syntaxError(toks[alias].pos, "Expected FOR SYSTEM_TIME AS OF and a timestamp")
	}
	start := alias + 4
	end := start
	for depth := 0; end < len(toks); end++ {
		tk := toks[end]
		if depth == 0 && (tk.isPunct(",") || asOfEnds[tk.upper()]) {
			break
		}
		switch {
		case tk.isPunct("("):
			depth++
		case tk.isPunct(")"):
			depth--
		}
	}
	expr := toks[start:end]
	if len(expr) == 0 {
		return "", 0, syntaxError(toks[alias+3].pos, "FOR SYSTEM_TIME AS OF needs a timestamp")
	}
	if err := constantTime(expr); err != nil {
		return "", 0, err
	}
	var at string
	if len(expr) == 1 && expr[0].kind == tokString {
		// A string literal coerces to TIMESTAMP.
		at = "CAST(" + quoteString(expr[0].text) + " AS TIMESTAMPTZ)"
	} else {
		var err error
		if at, err = t.seq(expr); err != nil {
			return "", 0, err
		}
	}
	name := quoteIdent(ref.Table)
	if alias > j {
		name = quoteIdent(toks[alias-1].text)
	}
	a := AsOf{Table: ref, Time: at, Param: fmt.Sprintf("asof_%d", len(t.asOf))}
	t.asOf = append(t.asOf, a)
	return "(SELECT * FROM " + t.opts.Table(ref) + " WHERE rowid <= $" + a.Param + ") AS " + name, end, nil
}

// asOfFunctions are the functions that a FOR SYSTEM_TIME AS OF expression
// may call, and asOfParts the date parts of its intervals: BigQuery wants a
// constant expression, and the emulator takes those whose value does not
// depend on the default time zone, which there is America/Los_Angeles.
var (
	asOfFunctions = wordSet(`CURRENT_TIMESTAMP TIMESTAMP_ADD TIMESTAMP_SUB TIMESTAMP_MILLIS
		TIMESTAMP_MICROS TIMESTAMP_SECONDS`)
	asOfParts = wordSet(`MICROSECOND MILLISECOND SECOND MINUTE HOUR DAY`)
)

// zonedTimestamp matches the text of a timestamp literal that gives its
// time zone (Z, an offset or a zone name).
var zonedTimestamp = regexp.MustCompile(`^\s*\d{4}-\d{1,2}-\d{1,2}[Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d{1,6})?\s*([Zz]|[+-]\d{1,2}(:\d{2})?|[A-Za-z][A-Za-z0-9_+/-]*)\s*$`)

// constantTime checks the expression of FOR SYSTEM_TIME AS OF: literals,
// parameters, arithmetic and the functions of asOfFunctions only, so that
// it references no column and reads no table, and timestamp literals that
// give their time zone.
func constantTime(toks []token) error {
	notConstant := func(what string) error {
		return &Error{Message: "FOR SYSTEM_TIME AS OF needs a constant expression, without column references or subqueries; found " + what}
	}
	for i, tk := range toks {
		var prev, next token
		if i > 0 {
			prev = toks[i-1]
		}
		if i+1 < len(toks) {
			next = toks[i+1]
		}
		switch tk.kind {
		case tokParam, tokPositional, tokNumber:
		case tokPunct:
			switch tk.text {
			case "(", ")", ",", "+", "-", "*":
			default:
				return unsupported("The operator %s in FOR SYSTEM_TIME AS OF", tk.text)
			}
		case tokString:
			if len(toks) != 1 && !prev.is("TIMESTAMP") {
				return unsupported("A string other than a TIMESTAMP literal in FOR SYSTEM_TIME AS OF")
			}
			if !zonedTimestamp.MatchString(tk.text) {
				return &Error{Unsupported: true, Message: fmt.Sprintf("A timestamp without a time zone (%q) in FOR SYSTEM_TIME AS OF is not supported by the emulator: BigQuery reads it in America/Los_Angeles there. Give the zone, e.g. %q", tk.text, "2021-07-27 16:02:08+00")}
			}
		case tokQuoted:
			return notConstant(tk.text)
		case tokIdent:
			up := tk.upper()
			switch {
			case up == "TIMESTAMP" && next.kind == tokString, up == "INTERVAL", up == "CURRENT_TIMESTAMP":
			case asOfFunctions[up] && next.isPunct("("):
			case asOfParts[up] && (prev.kind == tokNumber || prev.kind == tokParam || prev.kind == tokPositional || prev.isPunct(")")):
			case up == "SELECT":
				return notConstant("a subquery")
			case next.isPunct("("):
				return unsupported("Function %s in FOR SYSTEM_TIME AS OF", up)
			case keywords[up] || unsupportedKeywords[up] || up == "TIMESTAMP":
				return unsupported("%s in FOR SYSTEM_TIME AS OF", up)
			default:
				return notConstant(tk.text)
			}
		}
	}
	return nil
}

func (t *translator) addTable(ref TableRef) {
	for _, r := range t.tables {
		if r == ref {
			return
		}
	}
	t.tables = append(t.tables, ref)
}

// adjacent reports whether b starts right where a ends in the source.
func adjacent(a, b token) bool {
	return a.kind != tokQuoted && a.kind != tokString && b.pos == a.pos+len(a.text)
}

func lastPos(toks []token) int {
	if len(toks) == 0 {
		return 0
	}
	return toks[len(toks)-1].pos
}
