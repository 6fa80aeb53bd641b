package bigquery

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// paramJSON is a query parameter as sent on the wire, after lenientJSON. It
// is decoded by hand (not with the bq types) to tell a NULL value from an
// empty string.
type paramJSON struct {
	Name           string          `json:"name"`
	ParameterType  *paramTypeJSON  `json:"parameterType"`
	ParameterValue *paramValueJSON `json:"parameterValue"`
}

type paramTypeJSON struct {
	Type      string         `json:"type"`
	ArrayType *paramTypeJSON `json:"arrayType"`
}

type paramValueJSON struct {
	Value       *string           `json:"value"`
	ArrayValues []*paramValueJSON `json:"arrayValues"`
}

// paramSet holds a query's parameters, bound for DuckDB, and records which
// ones the query uses.
type paramSet struct {
	named      map[string]boundParam
	positional []boundParam
	used       map[string]bool
}

type boundParam struct {
	arg   string // DuckDB parameter name, without $
	cast  string // DuckDB type
	value any
	// text is true for an ARRAY bound as VARCHAR[], whose elements DuckDB
	// casts to the array's type.
	text bool
}

// expr is the DuckDB expression of a bound parameter.
func (p boundParam) expr() string {
	if p.text {
		return "CAST(CAST($" + p.arg + " AS VARCHAR[]) AS " + p.cast + ")"
	}
	return "CAST($" + p.arg + " AS " + p.cast + ")"
}

// parseParams validates and converts query parameters.
func parseParams(mode string, raw []paramJSON) (*paramSet, error) {
	ps := &paramSet{named: map[string]boundParam{}, used: map[string]bool{}}
	positional := strings.EqualFold(mode, "POSITIONAL") || (mode == "" && len(raw) > 0 && raw[0].Name == "")
	for i, p := range raw {
		if positional != (p.Name == "") {
			return nil, errInvalidQuery("Query parameter %d: named and positional parameters cannot be mixed (parameterMode %q)", i+1, mode)
		}
		label := p.Name
		if positional {
			label = strconv.Itoa(i + 1)
		}
		if p.ParameterType == nil {
			return nil, errInvalidQuery("Query parameter %s has no type", label)
		}
		cast, v, err := convertTypedParam(label, p.ParameterType, p.ParameterValue)
		if err != nil {
			return nil, err
		}
		if positional {
			ps.positional = append(ps.positional, boundParam{arg: fmt.Sprintf("p%d", i+1), cast: cast, value: v, text: isText(v)})
			continue
		}
		key := strings.ToLower(p.Name)
		if _, dup := ps.named[key]; dup {
			return nil, errInvalidQuery("Duplicate query parameter name %s", p.Name)
		}
		ps.named[key] = boundParam{arg: "n_" + key, cast: cast, value: v, text: isText(v)}
	}
	return ps, nil
}

// param returns the DuckDB expression for a named parameter.
func (ps *paramSet) param(name string) (string, bool) {
	p, ok := ps.named[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	ps.used[p.arg] = true
	return p.expr(), true
}

// positionalParam returns the DuckDB expression for the i-th positional one.
func (ps *paramSet) positionalParam(i int) (string, bool) {
	if i >= len(ps.positional) {
		return "", false
	}
	p := ps.positional[i]
	ps.used[p.arg] = true
	return p.expr(), true
}

// args returns the values of the parameters the query used.
func (ps *paramSet) args() []any {
	var args []any
	for _, p := range ps.named {
		if ps.used[p.arg] {
			args = append(args, sql.Named(p.arg, p.value))
		}
	}
	for _, p := range ps.positional {
		if ps.used[p.arg] {
			args = append(args, sql.Named(p.arg, p.value))
		}
	}
	return args
}

// isText reports whether a parameter's value is a list of strings.
func isText(v any) bool {
	_, ok := v.([]string)
	return ok
}

// convertTypedParam converts a parameter of a scalar type or an ARRAY of
// one. An ARRAY without values is NULL, as BigQuery takes an empty
// arrayValues; its elements cannot be NULL.
func convertTypedParam(label string, pt *paramTypeJSON, pv *paramValueJSON) (string, any, error) {
	typ := strings.ToUpper(pt.Type)
	if typ != "ARRAY" {
		var value *string
		if pv != nil {
			value = pv.Value
		}
		return convertParam(label, typ, value)
	}
	if pt.ArrayType == nil {
		return "", nil, errInvalidQuery("Query parameter %s has type ARRAY without an arrayType", label)
	}
	elem := strings.ToUpper(pt.ArrayType.Type)
	if elem == "ARRAY" || elem == "STRUCT" {
		return "", nil, errInvalidQuery("Query parameter %s has type ARRAY<%s>, which the emulator does not support", label, elem)
	}
	cast, _, err := convertParam(label, elem, nil)
	if err != nil {
		return "", nil, err
	}
	cast += "[]"
	if pv == nil || len(pv.ArrayValues) == 0 {
		return cast, nil, nil
	}
	var list any
	switch elem {
	case "INT64", "INTEGER":
		list = make([]int64, len(pv.ArrayValues))
	case "FLOAT64", "FLOAT":
		list = make([]float64, len(pv.ArrayValues))
	case "BOOL", "BOOLEAN":
		list = make([]bool, len(pv.ArrayValues))
	case "BYTES":
		list = make([][]byte, len(pv.ArrayValues))
	default: // strings that DuckDB casts
		list = make([]string, len(pv.ArrayValues))
	}
	lv := reflect.ValueOf(list)
	for i, ev := range pv.ArrayValues {
		elemLabel := fmt.Sprintf("%s[%d]", label, i)
		if ev == nil || ev.Value == nil {
			return "", nil, errInvalidQuery("Query parameter %s: an ARRAY element cannot be NULL", elemLabel)
		}
		_, v, err := convertParam(elemLabel, elem, ev.Value)
		if err != nil {
			return "", nil, err
		}
		lv.Index(i).Set(reflect.ValueOf(v))
	}
	return cast, list, nil
}

// timestampLayouts are the forms BigQuery accepts for a TIMESTAMP parameter.
var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999-07:00",
	"2006-01-02 15:04:05.999999-07",
	"2006-01-02 15:04:05.999999Z07:00",
	"2006-01-02T15:04:05.999999Z07:00",
	"2006-01-02 15:04:05.999999 MST",
	"2006-01-02 15:04:05.999999",
	"2006-01-02T15:04:05.999999",
	"2006-01-02",
}

// convertParam returns the DuckDB type of a parameter and its Go value; nil
// for NULL. Temporal values travel as strings that DuckDB casts.
func convertParam(label, typ string, value *string) (string, any, error) {
	bad := func() error {
		return errInvalidQuery("Invalid %s value for query parameter %s: %q", typ, label, *value)
	}
	var cast string
	switch typ {
	case "INT64", "INTEGER":
		cast = "BIGINT"
	case "FLOAT64", "FLOAT":
		cast = "DOUBLE"
	case "BOOL", "BOOLEAN":
		cast = "BOOLEAN"
	case "STRING":
		cast = "VARCHAR"
	case "BYTES":
		cast = "BLOB"
	case "NUMERIC":
		cast = "DECIMAL(38, 9)"
	case "TIMESTAMP":
		cast = "TIMESTAMPTZ"
	case "DATE":
		cast = "DATE"
	case "DATETIME":
		cast = "TIMESTAMP"
	case "TIME":
		cast = "TIME"
	default:
		return "", nil, errInvalidQuery("Query parameter %s has type %s, which the emulator does not support", label, typ)
	}
	if value == nil {
		return cast, nil, nil
	}
	v := *value
	switch typ {
	case "INT64", "INTEGER":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", nil, bad()
		}
		return cast, n, nil
	case "FLOAT64", "FLOAT":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", nil, bad()
		}
		return cast, f, nil
	case "BOOL", "BOOLEAN":
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return "", nil, bad()
		}
		return cast, b, nil
	case "BYTES":
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", nil, bad()
		}
		return cast, b, nil
	case "NUMERIC":
		if _, ok := new(big.Rat).SetString(v); !ok {
			return "", nil, bad()
		}
		return cast, v, nil
	case "TIMESTAMP":
		for _, layout := range timestampLayouts {
			if ts, err := time.Parse(layout, v); err == nil {
				return cast, ts.UTC().Format("2006-01-02 15:04:05.999999+00"), nil
			}
		}
		return "", nil, bad()
	case "DATE":
		if _, err := time.Parse("2006-01-02", v); err != nil {
			return "", nil, bad()
		}
		return cast, v, nil
	case "DATETIME":
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", "2006-01-02"} {
			if ts, err := time.Parse(layout, v); err == nil {
				return cast, ts.Format("2006-01-02 15:04:05.999999"), nil
			}
		}
		return "", nil, bad()
	case "TIME":
		if _, err := time.Parse("15:04:05.999999", v); err != nil {
			return "", nil, bad()
		}
		return cast, v, nil
	}
	return cast, v, nil
}

// queryParams is where a query's parameters sit in a jobs.query body and,
// under configuration.query, in a jobs.insert body.
type queryParams struct {
	ParameterMode   string      `json:"parameterMode"`
	QueryParameters []paramJSON `json:"queryParameters"`
}
