package provider

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/schema"
)

const testSchema = `{
  "source": "registry.terraform.io/example/demo",
  "version": "1.0.0",
  "provider": {"block": {"attributes": {"project": {"type": "string", "optional": true}}}},
  "resource_schemas": {
    "demo_thing": {"block": {
      "attributes": {
        "name": {"type": "string", "required": true},
        "region": {"type": "string", "optional": true, "computed": true},
        "self_link": {"type": "string", "computed": true},
        "status": {"type": ["list", ["object", {"state": "string"}]], "computed": true}
      },
      "block_types": {
        "rule": {"nesting_mode": "set", "block": {
          "attributes": {
            "kind": {"type": "string", "required": true},
            "id": {"type": "string", "computed": true}
          }
        }}
      }
    }}
  },
  "data_source_schemas": {
    "demo_account": {"block": {
      "attributes": {
        "project": {"type": "string", "optional": true, "computed": true},
        "email": {"type": "string", "computed": true},
        "member": {"type": "string", "computed": true},
        "number": {"type": "string", "computed": true},
        "size": {"type": "number", "computed": true},
        "zones": {"type": ["list", "string"], "computed": true},
        "labels": {"type": ["map", "string"], "computed": true}
      }
    }},
    "archive_file": {"block": {
      "attributes": {
        "source_dir": {"type": "string", "optional": true, "computed": true},
        "output_md5": {"type": "string", "computed": true}
      }
    }}
  }
}`

func newTestServer(t *testing.T) *Server {
	t.Helper()
	var p schema.Provider
	if err := json.Unmarshal([]byte(testSchema), &p); err != nil {
		t.Fatal(err)
	}
	return New(&p)
}

func dynamic(t *testing.T, typ tftypes.Type, v tftypes.Value) *tfprotov5.DynamicValue {
	t.Helper()
	dv, err := tfprotov5.NewDynamicValue(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

func attrsOf(t *testing.T, v tftypes.Value) map[string]tftypes.Value {
	t.Helper()
	var m map[string]tftypes.Value
	if err := v.As(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanMarksNullComputedUnknown(t *testing.T) {
	s := newTestServer(t)
	typ := s.resources["demo_thing"].ValueType()
	ruleType := typ.(tftypes.Object).AttributeTypes["rule"].(tftypes.Set).ElementType
	config := tftypes.NewValue(typ, map[string]tftypes.Value{
		"name":      tftypes.NewValue(tftypes.String, "a"),
		"region":    tftypes.NewValue(tftypes.String, "eu"),
		"self_link": tftypes.NewValue(tftypes.String, nil),
		"status":    tftypes.NewValue(typ.(tftypes.Object).AttributeTypes["status"], nil),
		"rule": tftypes.NewValue(tftypes.Set{ElementType: ruleType}, []tftypes.Value{
			tftypes.NewValue(ruleType, map[string]tftypes.Value{
				"kind": tftypes.NewValue(tftypes.String, "x"),
				"id":   tftypes.NewValue(tftypes.String, nil),
			}),
		}),
	})
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName:         "demo_thing",
		PriorState:       dynamic(t, typ, tftypes.NewValue(typ, nil)),
		ProposedNewState: dynamic(t, typ, config),
		Config:           dynamic(t, typ, config),
	})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("plan: %v %v", err, resp.Diagnostics)
	}
	planned, err := resp.PlannedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	got := attrsOf(t, planned)
	if !got["region"].Equal(tftypes.NewValue(tftypes.String, "eu")) {
		t.Errorf("region = %v, want the configured value", got["region"])
	}
	for _, name := range []string{"self_link", "status"} {
		if got[name].IsKnown() {
			t.Errorf("%s = %v, want unknown", name, got[name])
		}
	}
	var rules []tftypes.Value
	if err := got["rule"].As(&rules); err != nil || len(rules) != 1 {
		t.Fatalf("rule = %v (%v)", got["rule"], err)
	}
	rule := attrsOf(t, rules[0])
	if rule["id"].IsKnown() || !rule["kind"].Equal(tftypes.NewValue(tftypes.String, "x")) {
		t.Errorf("rule = %v, want kind kept and id unknown", rules[0])
	}
}

func TestPlanDestroyKeepsNull(t *testing.T) {
	s := newTestServer(t)
	typ := s.resources["demo_thing"].ValueType()
	null := dynamic(t, typ, tftypes.NewValue(typ, nil))
	resp, err := s.PlanResourceChange(context.Background(), &tfprotov5.PlanResourceChangeRequest{
		TypeName: "demo_thing", PriorState: null, ProposedNewState: null, Config: null,
	})
	if err != nil {
		t.Fatal(err)
	}
	if isNull, err := resp.PlannedState.IsNull(); err != nil || !isNull {
		t.Errorf("planned state is not null: %v", err)
	}
}

func TestReadDataSourceFillsPlaceholders(t *testing.T) {
	s := newTestServer(t)
	typ := s.dataSources["demo_account"].ValueType()
	attrTypes := typ.(tftypes.Object).AttributeTypes
	config := map[string]tftypes.Value{}
	for name, at := range attrTypes {
		config[name] = tftypes.NewValue(at, nil)
	}
	config["project"] = tftypes.NewValue(tftypes.String, "mine")
	resp, err := s.ReadDataSource(context.Background(), &tfprotov5.ReadDataSourceRequest{
		TypeName: "demo_account",
		Config:   dynamic(t, typ, tftypes.NewValue(typ, config)),
	})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("read: %v %v", err, resp.Diagnostics)
	}
	state, err := resp.State.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	got := attrsOf(t, state)
	want := map[string]tftypes.Value{
		"project": tftypes.NewValue(tftypes.String, "mine"),
		"email":   tftypes.NewValue(tftypes.String, "standin@standin-project.iam.gserviceaccount.com"),
		"member":  tftypes.NewValue(tftypes.String, "serviceAccount:standin@standin-project.iam.gserviceaccount.com"),
		"number":  tftypes.NewValue(tftypes.String, "123456789012"),
		"size":    tftypes.NewValue(tftypes.Number, new(big.Float)),
		"zones": tftypes.NewValue(attrTypes["zones"], []tftypes.Value{
			tftypes.NewValue(tftypes.String, "standin-zones"),
		}),
		"labels": tftypes.NewValue(attrTypes["labels"], map[string]tftypes.Value{}),
	}
	for name, w := range want {
		if !got[name].Equal(w) {
			t.Errorf("%s = %v, want %v", name, got[name], w)
		}
	}
}

func TestArchiveFileChecksSourceDir(t *testing.T) {
	s := newTestServer(t)
	typ := s.dataSources["archive_file"].ValueType()
	read := func(dir string) *tfprotov5.ReadDataSourceResponse {
		t.Helper()
		resp, err := s.ReadDataSource(context.Background(), &tfprotov5.ReadDataSourceRequest{
			TypeName: "archive_file",
			Config: dynamic(t, typ, tftypes.NewValue(typ, map[string]tftypes.Value{
				"source_dir": tftypes.NewValue(tftypes.String, dir),
				"output_md5": tftypes.NewValue(tftypes.String, nil),
			})),
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	dir := t.TempDir()
	if resp := read(dir); len(resp.Diagnostics) > 0 {
		t.Errorf("existing folder: %v", resp.Diagnostics[0].Detail)
	}
	missing := filepath.Join(dir, "missing")
	resp := read(missing)
	if len(resp.Diagnostics) != 1 || !strings.Contains(resp.Diagnostics[0].Detail, missing) {
		t.Errorf("missing folder: diagnostics %v", resp.Diagnostics)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("the check created the folder")
	}
}

func TestApplyIsRefused(t *testing.T) {
	s := newTestServer(t)
	resp, err := s.ApplyResourceChange(context.Background(), &tfprotov5.ApplyResourceChangeRequest{TypeName: "demo_thing"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Diagnostics) != 1 || !strings.Contains(resp.Diagnostics[0].Detail, "plan-only stand-in") {
		t.Errorf("diagnostics = %v", resp.Diagnostics)
	}
}

func TestUnknownTypesAreReported(t *testing.T) {
	s := newTestServer(t)
	resp, err := s.ValidateResourceTypeConfig(context.Background(), &tfprotov5.ValidateResourceTypeConfigRequest{TypeName: "demo_nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Diagnostics) != 1 {
		t.Errorf("diagnostics = %v", resp.Diagnostics)
	}
}
