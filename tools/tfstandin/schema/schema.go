// Package schema holds a provider's schema in the JSON layout of
// `tofu providers schema -json`, plus the provider's name and version, and
// turns it into the plugin protocol's schema types.
package schema

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
)

// Nesting modes of a nested block.
const (
	NestingSingle = "single"
	NestingList   = "list"
	NestingSet    = "set"
)

// Provider is the whole schema of one provider.
type Provider struct {
	// Source is the provider's registry address, e.g.
	// "registry.terraform.io/hashicorp/google".
	Source string `json:"source"`
	// Version is the provider version the schema was taken from.
	Version string `json:"version"`
	// Origin names what the schema was generated from.
	Origin            string             `json:"origin"`
	Provider          *Schema            `json:"provider"`
	ResourceSchemas   map[string]*Schema `json:"resource_schemas"`
	DataSourceSchemas map[string]*Schema `json:"data_source_schemas"`
}

// Schema is the schema of a provider configuration, a resource type or a
// data source.
type Schema struct {
	Version int64  `json:"version"`
	Block   *Block `json:"block"`
}

// Block is a set of attributes and nested blocks.
type Block struct {
	Attributes map[string]*Attribute   `json:"attributes,omitempty"`
	BlockTypes map[string]*NestedBlock `json:"block_types,omitempty"`
}

// Attribute is one argument or exported attribute.
type Attribute struct {
	Type     Type `json:"type"`
	Required bool `json:"required,omitempty"`
	Optional bool `json:"optional,omitempty"`
	Computed bool `json:"computed,omitempty"`
}

// NestedBlock is a block type that may appear inside another block.
type NestedBlock struct {
	NestingMode string `json:"nesting_mode"`
	Block       *Block `json:"block"`
	MinItems    int64  `json:"min_items,omitempty"`
	MaxItems    int64  `json:"max_items,omitempty"`
}

// Load reads a schema written by Write.
func Load(path string) (*Provider, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var p Provider
	if err := json.NewDecoder(zr).Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// Write stores the schema as gzip-compressed JSON.
func (p *Provider) Write(w io.Writer) error {
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(p); err != nil {
		return err
	}
	return zw.Close()
}

// Proto converts the schema into the plugin protocol's form.
func (s *Schema) Proto() *tfprotov5.Schema {
	return &tfprotov5.Schema{Version: s.Version, Block: s.Block.Proto()}
}

// Proto converts the block into the plugin protocol's form, with attributes
// and nested blocks sorted by name.
func (b *Block) Proto() *tfprotov5.SchemaBlock {
	out := &tfprotov5.SchemaBlock{}
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name:     name,
			Type:     a.Type.Type,
			Required: a.Required,
			Optional: a.Optional,
			Computed: a.Computed,
		})
	}
	for _, name := range sortedKeys(b.BlockTypes) {
		nb := b.BlockTypes[name]
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name,
			Block:    nb.Block.Proto(),
			Nesting:  nestingProto(nb.NestingMode),
			MinItems: nb.MinItems,
			MaxItems: nb.MaxItems,
		})
	}
	return out
}

func nestingProto(mode string) tfprotov5.SchemaNestedBlockNestingMode {
	switch mode {
	case NestingSingle:
		return tfprotov5.SchemaNestedBlockNestingModeSingle
	case NestingSet:
		return tfprotov5.SchemaNestedBlockNestingModeSet
	}
	return tfprotov5.SchemaNestedBlockNestingModeList
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
