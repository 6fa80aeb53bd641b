package bigquery

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// paramJSON is a query parameter as sent on the wire. It is decoded by hand
// (not with the bq types) to tell a NULL value from an empty string.
type paramJSON struct {
	Name          string `json:"name"`
	ParameterType *struct {
		Type string `json:"type"`
	} `json:"parameterType"`
	ParameterValue *struct {
		Value *string `json:"value"`
	} `json:"parameterValue"`
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
		var value *string
		if p.ParameterValue != nil {
			value = p.ParameterValue.Value
		}
		cast, v, err := convertParam(label, strings.ToUpper(p.ParameterType.Type), value)
		if err != nil {
			return nil, err
		}
		if positional {
			ps.positional = append(ps.positional, boundParam{arg: fmt.Sprintf("p%d", i+1), cast: cast, value: v})
			continue
		}
		key := strings.ToLower(p.Name)
		if _, dup := ps.named[key]; dup {
			return nil, errInvalidQuery("Duplicate query parameter name %s", p.Name)
		}
		ps.named[key] = boundParam{arg: "n_" + key, cast: cast, value: v}
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
	return "CAST($" + p.arg + " AS " + p.cast + ")", true
}

// positionalParam returns the DuckDB expression for the i-th positional one.
func (ps *paramSet) positionalParam(i int) (string, bool) {
	if i >= len(ps.positional) {
		return "", false
	}
	p := ps.positional[i]
	ps.used[p.arg] = true
	return "CAST($" + p.arg + " AS " + p.cast + ")", true
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
