package cdktf

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// testdata/demo is a small package written in the shape of the generated
// cdktf bindings: a provider, a resource whose nested structs live partly in
// index-structs/, and a data source.
const wantDemo = `{
  "source": "registry.terraform.io/example/demo",
  "version": "2.3.4",
  "origin": "npm @example/provider-demo@1.0.0",
  "provider": {"version": 0, "block": {
    "attributes": {
      "project": {"type": "string", "optional": true},
      "token": {"type": "string", "required": true}
    },
    "block_types": {
      "retry": {"nesting_mode": "list", "block": {
        "attributes": {"attempts": {"type": "number", "required": true}}
      }}
    }
  }},
  "resource_schemas": {
    "demo_thing": {"version": 0, "block": {
      "attributes": {
        "name": {"type": "string", "required": true},
        "labels": {"type": ["map", "string"], "optional": true, "computed": true},
        "tags": {"type": ["set", "string"], "optional": true, "computed": true},
        "effective_labels": {"type": ["map", "string"], "computed": true},
        "self_link": {"type": "string", "computed": true},
        "zones": {"type": ["set", "string"], "computed": true},
        "status": {"type": ["list", ["object", {"state": "string", "ports": ["list", "number"]}]], "computed": true}
      },
      "block_types": {
        "build": {"nesting_mode": "list", "max_items": 1, "block": {
          "attributes": {
            "step": {"type": "string", "required": true},
            "digest": {"type": "string", "computed": true}
          }
        }},
        "rule": {"nesting_mode": "set", "min_items": 1, "block": {
          "attributes": {"priority": {"type": "number", "optional": true, "computed": true}},
          "block_types": {
            "action": {"nesting_mode": "list", "min_items": 1, "max_items": 1, "block": {
              "attributes": {"kind": {"type": "string", "required": true}}
            }}
          }
        }},
        "timeouts": {"nesting_mode": "single", "block": {
          "attributes": {"create": {"type": "string", "optional": true, "computed": true}}
        }}
      }
    }}
  },
  "data_source_schemas": {
    "demo_info": {"version": 0, "block": {
      "attributes": {
        "id": {"type": "string", "optional": true, "computed": true},
        "email": {"type": "string", "computed": true}
      }
    }}
  }
}`

func TestLoadDemoPackage(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	gotJSON := canonical(t, raw)
	wantJSON := canonical(t, []byte(wantDemo))
	if gotJSON != wantJSON {
		t.Errorf("schema differs\ngot:\n%s\nwant:\n%s", gotJSON, wantJSON)
	}
}

// canonical re-encodes JSON with object keys sorted, so that documents
// compare equal whatever order their fields were written in.
func canonical(t *testing.T, data []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestLoadRejectsMissingPackage(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-package"))
	if err == nil {
		t.Fatal("Load succeeded on a missing package")
	}
}

// TestTypeName reads the provider type names of the packages, hyphenated
// ones (google-beta) included.
func TestTypeName(t *testing.T) {
	for _, want := range []string{"google", "google-beta", "google_project_service_identity", "time_sleep"} {
		m := typeNameRe.FindStringSubmatch("            terraformResourceType: '" + want + "',")
		if m == nil || m[1] != want {
			t.Errorf("type name %q: got %q", want, m)
		}
	}
}
