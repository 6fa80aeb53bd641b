package bigquery

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// lenientJSON rewrites a request body so that encoding/json decodes it into
// a value of type t as BigQuery's JSON front end (proto3 JSON) reads it: a
// JSON number or boolean where the API has a string, such as
// queryParameters[].parameterValue.value or an int64 field like
// maximumBytesBilled, is taken as that string. The JavaScript client, for
// one, sends {"value": 1}. An empty object as a value, bq's form of an
// empty ARRAY parameter, is taken as no value. A body that is not JSON is returned as it is, for
// the decoder to refuse.
func lenientJSON(data []byte, t reflect.Type) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return data
	}
	if _, err := dec.Token(); err == nil {
		return data // trailing data: json.Unmarshal says what is wrong
	}
	v, changed := coerceJSON(v, t)
	if !changed {
		return data
	}
	out, err := json.Marshal(v)
	if err != nil {
		return data
	}
	return out
}

// coerceJSON walks a decoded JSON value along the Go type it will be
// decoded into and turns numbers and booleans into strings where the type
// wants a string. It reports whether anything changed.
func coerceJSON(v any, t reflect.Type) (any, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return scalarString(v)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		changed := false
		for key, val := range m {
			f, ok := jsonField(t, key)
			if !ok {
				continue
			}
			var c bool
			if obj, ok := val.(map[string]any); ok && len(obj) == 0 && key == "value" && f.Type.Kind() == reflect.String {
				// bq sends an empty ARRAY parameter as {"value": {}}, the
				// same as no value.
				delete(m, key)
				changed = true
				continue
			}
			if stringOption(f) {
				val, c = scalarString(val)
			} else {
				val, c = coerceJSON(val, f.Type)
			}
			if c {
				m[key] = val
				changed = true
			}
		}
		return m, changed
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return v, false
		}
		changed := false
		for i, e := range s {
			var c bool
			if s[i], c = coerceJSON(e, t.Elem()); c {
				changed = true
			}
		}
		return s, changed
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return v, false
		}
		changed := false
		for key, e := range m {
			var c bool
			if m[key], c = coerceJSON(e, t.Elem()); c {
				changed = true
			}
		}
		return m, changed
	}
	return v, false
}

// scalarString returns a JSON number or boolean as a string.
func scalarString(v any) (any, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return v, false
}

// jsonField finds the struct field that encoding/json fills from key: the
// exact name first, then one that differs in case only.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			folded, found = f, true
		}
	}
	return folded, found
}

// stringOption reports whether a field has the ",string" option, which
// encoding/json uses for proto3 JSON's int64 and uint64 (numbers in
// strings).
func stringOption(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
	for _, o := range strings.Split(opts, ",") {
		if o == "string" {
			return true
		}
	}
	return false
}
