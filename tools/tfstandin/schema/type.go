package schema

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Type is an attribute's value type. It reads and writes the JSON form that
// `tofu providers schema -json` uses: "string", "number", "bool", "dynamic",
// ["list", T], ["set", T], ["map", T] and ["object", {"name": T, ...}].
type Type struct {
	tftypes.Type
}

// Primitive and collection constructors used by the generator.
var (
	String = Type{tftypes.String}
	Number = Type{tftypes.Number}
	Bool   = Type{tftypes.Bool}
)

// ListOf returns list(elem).
func ListOf(elem Type) Type { return Type{tftypes.List{ElementType: elem.Type}} }

// SetOf returns set(elem).
func SetOf(elem Type) Type { return Type{tftypes.Set{ElementType: elem.Type}} }

// MapOf returns map(elem).
func MapOf(elem Type) Type { return Type{tftypes.Map{ElementType: elem.Type}} }

// ObjectOf returns an object type with the given attribute types.
func ObjectOf(attrs map[string]Type) Type {
	types := make(map[string]tftypes.Type, len(attrs))
	for name, t := range attrs {
		types[name] = t.Type
	}
	return Type{tftypes.Object{AttributeTypes: types}}
}

// MarshalJSON writes the type in its JSON form.
func (t Type) MarshalJSON() ([]byte, error) {
	v, err := typeJSON(t.Type)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func typeJSON(t tftypes.Type) (any, error) {
	switch {
	case t == nil:
		return nil, fmt.Errorf("missing type")
	case t.Is(tftypes.String):
		return "string", nil
	case t.Is(tftypes.Number):
		return "number", nil
	case t.Is(tftypes.Bool):
		return "bool", nil
	case t.Is(tftypes.DynamicPseudoType):
		return "dynamic", nil
	}
	switch tt := t.(type) {
	case tftypes.List:
		return collectionJSON("list", tt.ElementType)
	case tftypes.Set:
		return collectionJSON("set", tt.ElementType)
	case tftypes.Map:
		return collectionJSON("map", tt.ElementType)
	case tftypes.Object:
		attrs := make(map[string]any, len(tt.AttributeTypes))
		for name, at := range tt.AttributeTypes {
			v, err := typeJSON(at)
			if err != nil {
				return nil, err
			}
			attrs[name] = v
		}
		return []any{"object", attrs}, nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

func collectionJSON(kind string, elem tftypes.Type) (any, error) {
	v, err := typeJSON(elem)
	if err != nil {
		return nil, err
	}
	return []any{kind, v}, nil
}

// UnmarshalJSON reads the type from its JSON form.
func (t *Type) UnmarshalJSON(data []byte) error {
	parsed, err := parseType(data)
	if err != nil {
		return err
	}
	t.Type = parsed
	return nil
}

func parseType(data []byte) (tftypes.Type, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var name string
		if err := json.Unmarshal(data, &name); err != nil {
			return nil, err
		}
		switch name {
		case "string":
			return tftypes.String, nil
		case "number":
			return tftypes.Number, nil
		case "bool":
			return tftypes.Bool, nil
		case "dynamic":
			return tftypes.DynamicPseudoType, nil
		}
		return nil, fmt.Errorf("unknown type %q", name)
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil {
		return nil, fmt.Errorf("type %s: %w", data, err)
	}
	if len(pair) != 2 {
		return nil, fmt.Errorf("type %s: want [kind, element]", data)
	}
	var kind string
	if err := json.Unmarshal(pair[0], &kind); err != nil {
		return nil, fmt.Errorf("type %s: %w", data, err)
	}
	if kind == "object" {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(pair[1], &raw); err != nil {
			return nil, fmt.Errorf("object type: %w", err)
		}
		attrs := make(map[string]tftypes.Type, len(raw))
		for name, rawType := range raw {
			at, err := parseType(rawType)
			if err != nil {
				return nil, fmt.Errorf("object attribute %q: %w", name, err)
			}
			attrs[name] = at
		}
		return tftypes.Object{AttributeTypes: attrs}, nil
	}
	elem, err := parseType(pair[1])
	if err != nil {
		return nil, err
	}
	switch kind {
	case "list":
		return tftypes.List{ElementType: elem}, nil
	case "set":
		return tftypes.Set{ElementType: elem}, nil
	case "map":
		return tftypes.Map{ElementType: elem}, nil
	}
	return nil, fmt.Errorf("unknown collection kind %q", kind)
}
