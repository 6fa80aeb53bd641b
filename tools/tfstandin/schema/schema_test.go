package schema

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const testSchema = `{
  "source": "registry.terraform.io/example/demo",
  "version": "1.0.0",
  "provider": {"block": {}},
  "resource_schemas": {
    "demo_thing": {"block": {
      "attributes": {
        "name": {"type": "string", "required": true},
        "status": {"type": ["list", ["object", {"state": "string", "ports": ["set", "number"]}]], "computed": true},
        "labels": {"type": ["map", "bool"], "optional": true}
      },
      "block_types": {
        "rule": {"nesting_mode": "set", "min_items": 1, "block": {
          "attributes": {"kind": {"type": "string", "required": true}}
        }},
        "timeouts": {"nesting_mode": "single", "block": {}}
      }
    }}
  },
  "data_source_schemas": {}
}`

func TestRoundTrip(t *testing.T) {
	var p Provider
	if err := json.Unmarshal([]byte(testSchema), &p); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "schema.json.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := back.ResourceSchemas["demo_thing"].Proto().ValueType()
	want := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"name": tftypes.String,
		"status": tftypes.List{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{
			"state": tftypes.String,
			"ports": tftypes.Set{ElementType: tftypes.Number},
		}}},
		"labels":   tftypes.Map{ElementType: tftypes.Bool},
		"rule":     tftypes.Set{ElementType: tftypes.Object{AttributeTypes: map[string]tftypes.Type{"kind": tftypes.String}}},
		"timeouts": tftypes.Object{AttributeTypes: map[string]tftypes.Type{}},
	}}
	if !got.Equal(want) {
		t.Errorf("type after round trip = %s, want %s", got, want)
	}
}

func TestBadTypesAreRejected(t *testing.T) {
	for _, bad := range []string{`"text"`, `["list"]`, `["tuple", "string"]`, `["object", "string"]`, `42`} {
		var typ Type
		if err := json.Unmarshal([]byte(bad), &typ); err == nil {
			t.Errorf("type %s accepted as %s", bad, typ.Type)
		}
	}
}
