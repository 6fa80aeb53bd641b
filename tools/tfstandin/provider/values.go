package provider

import (
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// filler gives the value for a computed attribute that the configuration
// leaves null.
type filler func(name string, t tftypes.Type) tftypes.Value

// fillComputed walks an object value of the given block and replaces every
// null computed attribute, in the block and in its nested blocks, by fill.
func fillComputed(b *tfprotov5.SchemaBlock, v tftypes.Value, fill filler) (tftypes.Value, error) {
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		return v, err
	}
	for _, a := range b.Attributes {
		if a.Computed && attrs[a.Name].IsNull() {
			attrs[a.Name] = fill(a.Name, a.Type)
		}
	}
	for _, nb := range b.BlockTypes {
		nested, err := fillNested(nb, attrs[nb.TypeName], fill)
		if err != nil {
			return v, fmt.Errorf("%s: %w", nb.TypeName, err)
		}
		attrs[nb.TypeName] = nested
	}
	return tftypes.NewValue(v.Type(), attrs), nil
}

func fillNested(nb *tfprotov5.SchemaNestedBlock, v tftypes.Value, fill filler) (tftypes.Value, error) {
	switch nb.Nesting {
	case tfprotov5.SchemaNestedBlockNestingModeSingle, tfprotov5.SchemaNestedBlockNestingModeGroup:
		return fillComputed(nb.Block, v, fill)
	case tfprotov5.SchemaNestedBlockNestingModeMap:
		if v.IsNull() || !v.IsKnown() {
			return v, nil
		}
		var elems map[string]tftypes.Value
		if err := v.As(&elems); err != nil {
			return v, err
		}
		for k, e := range elems {
			filled, err := fillComputed(nb.Block, e, fill)
			if err != nil {
				return v, err
			}
			elems[k] = filled
		}
		return tftypes.NewValue(v.Type(), elems), nil
	}
	if v.IsNull() || !v.IsKnown() {
		return v, nil
	}
	var elems []tftypes.Value
	if err := v.As(&elems); err != nil {
		return v, err
	}
	for i, e := range elems {
		filled, err := fillComputed(nb.Block, e, fill)
		if err != nil {
			return v, err
		}
		elems[i] = filled
	}
	return tftypes.NewValue(v.Type(), elems), nil
}

// unknown plans an attribute as known only after apply.
func unknown(_ string, t tftypes.Type) tftypes.Value {
	return tftypes.NewValue(t, tftypes.UnknownValue)
}

// Placeholder values for data sources. They look like what Google Cloud
// returns, so that expressions built from them (IAM members, URLs) are
// well-formed.
const (
	placeholderProject = "standin-project"
	placeholderNumber  = "123456789012"
	placeholderEmail   = "standin@" + placeholderProject + ".iam.gserviceaccount.com"
)

// placeholder gives a data source attribute a known value of its type:
// strings chosen by attribute name, zero numbers, false, one-element lists
// and sets, empty maps, and objects filled the same way.
func placeholder(name string, t tftypes.Type) tftypes.Value {
	switch {
	case t.Is(tftypes.String):
		return tftypes.NewValue(t, placeholderString(name))
	case t.Is(tftypes.Number):
		return tftypes.NewValue(t, new(big.Float))
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(t, false)
	}
	switch tt := t.(type) {
	case tftypes.List:
		return tftypes.NewValue(t, []tftypes.Value{placeholder(name, tt.ElementType)})
	case tftypes.Set:
		return tftypes.NewValue(t, []tftypes.Value{placeholder(name, tt.ElementType)})
	case tftypes.Map:
		return tftypes.NewValue(t, map[string]tftypes.Value{})
	case tftypes.Object:
		attrs := make(map[string]tftypes.Value, len(tt.AttributeTypes))
		for n, at := range tt.AttributeTypes {
			attrs[n] = placeholder(n, at)
		}
		return tftypes.NewValue(t, attrs)
	}
	return tftypes.NewValue(t, nil)
}

func placeholderString(name string) string {
	switch {
	case name == "number" || strings.HasSuffix(name, "_number"):
		return placeholderNumber
	case name == "project" || name == "project_id":
		return placeholderProject
	case name == "region" || name == "location":
		return "us-central1"
	case name == "zone":
		return "us-central1-a"
	case name == "member":
		return "serviceAccount:" + placeholderEmail
	case strings.Contains(name, "email"):
		return placeholderEmail
	case name == "self_link" || name == "url" || name == "uri" || strings.HasSuffix(name, "_url"):
		return "https://standin.invalid/" + name
	}
	return "standin-" + name
}

// checkArchiveSources reports a missing source_file or source_dir of
// hashicorp/archive's archive_file, which the real provider reads while
// planning. Relative paths are resolved against the working directory, as
// the real provider does.
func checkArchiveSources(config tftypes.Value) []*tfprotov5.Diagnostic {
	var attrs map[string]tftypes.Value
	if err := config.As(&attrs); err != nil {
		return errorDiag("Cannot read archive_file", err.Error())
	}
	for _, name := range []string{"source_file", "source_dir"} {
		v, ok := attrs[name]
		if !ok || v.IsNull() || !v.IsKnown() {
			continue
		}
		var path string
		if err := v.As(&path); err != nil {
			return errorDiag("Cannot read archive_file "+name, err.Error())
		}
		if _, err := os.Stat(path); err != nil {
			return errorDiag("Archive source not found",
				fmt.Sprintf("archive_file %s %q cannot be read: %v", name, path, err))
		}
	}
	return nil
}
