// Package cdktf reads a prebuilt CDK for Terraform provider package from npm
// (such as @cdktf/provider-google) and recovers the provider's schema from
// the JavaScript and TypeScript declarations generated into it.
//
// Each resource, data source and the provider itself is a class in
// lib/<name>/index.js. Its synthesizeHclAttributes method lists every
// argument with its Terraform name, whether it is a nested block, and its
// collection kind; a <Struct>ToHclTerraform function does the same for each
// nested block. The TypeScript interfaces in the .d.ts files tell required
// arguments (no "?") from optional ones. Getters that have no argument of
// the same name are the computed-only attributes.
//
// What the package does not record is whether an optional argument is also
// computed by the provider, so every optional argument is treated as
// optional and computed.
package cdktf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/schema"
)

// Load reads the npm package unpacked at dir (the folder holding
// package.json and lib/) and returns the provider schema it describes.
func Load(dir string) (*schema.Provider, error) {
	meta, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	out := &schema.Provider{
		Source:            meta.CDKTF.Provider.Name,
		Version:           meta.CDKTF.Provider.Version,
		Origin:            fmt.Sprintf("npm %s@%s", meta.Name, meta.Version),
		ResourceSchemas:   map[string]*schema.Schema{},
		DataSourceSchemas: map[string]*schema.Schema{},
	}
	if out.Source == "" || out.Version == "" {
		return nil, fmt.Errorf("%s: no cdktf.provider name and version", dir)
	}
	modules, err := filepath.Glob(filepath.Join(dir, "lib", "*", "index.js"))
	if err != nil {
		return nil, err
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("%s: no lib/*/index.js", dir)
	}
	sort.Strings(modules)
	for _, index := range modules {
		m, err := parseModule(filepath.Dir(index))
		if err != nil {
			return nil, err
		}
		for _, c := range m.topLevel {
			s, err := m.topLevelSchema(c)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", filepath.Dir(index), c.name, err)
			}
			var target map[string]*schema.Schema
			switch c.base {
			case baseProvider:
				if out.Provider != nil {
					return nil, fmt.Errorf("%s: second provider class %s", dir, c.name)
				}
				out.Provider = s
				continue
			case baseResource:
				target = out.ResourceSchemas
			default:
				target = out.DataSourceSchemas
			}
			if _, dup := target[c.typeName]; dup {
				return nil, fmt.Errorf("%s: %s defined twice", dir, c.typeName)
			}
			target[c.typeName] = s
		}
	}
	if out.Provider == nil {
		return nil, fmt.Errorf("%s: no provider class found", dir)
	}
	return out, nil
}

type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	CDKTF   struct {
		Provider struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"provider"`
	} `json:"cdktf"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// Base classes of the generated classes this package reads.
const (
	baseProvider   = "cdktf.TerraformProvider"
	baseResource   = "cdktf.TerraformResource"
	baseDataSource = "cdktf.TerraformDataSource"
)

// module is one lib/<name> folder: its classes, its struct functions and
// its TypeScript interfaces.
type module struct {
	topLevel []*class
	classes  map[string]*class
	structs  map[string][]entry
	ifaces   map[string]map[string]bool
}

// class is one generated JavaScript class.
type class struct {
	name     string
	base     string
	typeName string
	entries  []entry
	getters  []getter
	inits    map[string]fieldInit
	elemType string
}

// entry is one argument as listed by synthesizeHclAttributes or a
// <Struct>ToHclTerraform function.
type entry struct {
	name      string
	camel     string
	isBlock   bool
	kind      string
	storage   string
	structFn  string
	repeating bool
}

// getter is a property getter and the expression it returns.
type getter struct {
	camel string
	expr  string
}

// fieldInit is a constructor line such as
// `this._status = new CloudRunServiceStatusList(this, "status", false);`.
type fieldInit struct {
	ctor     string
	name     string
	wrapsSet bool
}

var (
	classStart = regexp.MustCompile(`(?m)^class (\w+) extends ([\w.]+) \{$`)
	funcStart  = regexp.MustCompile(`(?m)^function (\w+)ToHclTerraform\(struct\) \{$`)
	unitEnd    = regexp.MustCompile(`(?m)^\}$`)
	entryRe    = regexp.MustCompile(`(\w+): \{\s*value: ([^\n]*),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",\s*\}`)
	fieldRe    = regexp.MustCompile(`(?:this\._|struct\.)(\w+)`)
	structFnRe = regexp.MustCompile(`([\w.]+)ToHclTerraform`)
	getterRe   = regexp.MustCompile(`\n    get (\w+)\(\) \{\n        return ([^\n]*);\n    \}`)
	configRe   = regexp.MustCompile(`this\._(\w+)(?:\.internalValue)? = config\.(\w+);`)
	initRe     = regexp.MustCompile(`this\._(\w+) = new ([\w.]+)\(this, "(\w+)"(?:, (true|false))?\);`)
	typeNameRe = regexp.MustCompile(`terraformResourceType: '([\w-]+)'`)
	synthRe    = regexp.MustCompile(`(?s)\n    synthesizeHclAttributes\(\) \{\n(.*?)\n    \}\n`)
	elemRe     = regexp.MustCompile(`get\(index\) \{\s*return new ([\w.]+)\(`)
	ifaceStart = regexp.MustCompile(`(?m)^export interface (\w+)\b[^\n]*\{$`)
	propRe     = regexp.MustCompile(`(?m)^    readonly (\w+)(\??):`)
)

func parseModule(dir string) (*module, error) {
	m := &module{
		classes: map[string]*class{},
		structs: map[string][]entry{},
		ifaces:  map[string]map[string]bool{},
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".d.ts"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			m.parseDeclarations(string(data))
		case strings.HasSuffix(path, ".js"):
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return m.parseJS(path, string(data))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.topLevel, func(i, j int) bool { return m.topLevel[i].typeName < m.topLevel[j].typeName })
	return m, nil
}

// units returns the text of each top-level function or class that starts
// with a match of start, up to its closing brace in column one.
func units(src string, start *regexp.Regexp) [][]string {
	var out [][]string
	for _, loc := range start.FindAllStringSubmatchIndex(src, -1) {
		end := unitEnd.FindStringIndex(src[loc[1]:])
		if end == nil {
			continue
		}
		groups := []string{src[loc[0] : loc[1]+end[1]]}
		for i := 2; i < len(loc); i += 2 {
			groups = append(groups, src[loc[i]:loc[i+1]])
		}
		out = append(out, groups)
	}
	return out
}

func (m *module) parseJS(path, src string) error {
	for _, u := range units(src, funcStart) {
		body, fn := u[0], u[1]
		entries, err := parseEntries(body)
		if err != nil {
			return fmt.Errorf("%s: function %sToHclTerraform: %w", path, fn, err)
		}
		m.structs[structName(fn)] = entries
	}
	for _, u := range units(src, classStart) {
		body := u[0]
		c := &class{name: u[1], base: u[2], inits: map[string]fieldInit{}}
		for _, g := range getterRe.FindAllStringSubmatch(body, -1) {
			c.getters = append(c.getters, getter{camel: g[1], expr: g[2]})
		}
		for _, in := range initRe.FindAllStringSubmatch(body, -1) {
			c.inits[in[1]] = fieldInit{ctor: localName(in[2]), name: in[3], wrapsSet: in[4] == "true"}
		}
		if e := elemRe.FindStringSubmatch(body); e != nil {
			c.elemType = localName(e[1])
		}
		switch c.base {
		case baseProvider, baseResource, baseDataSource:
			tn := typeNameRe.FindStringSubmatch(body)
			if tn == nil {
				return fmt.Errorf("%s: class %s: no terraformResourceType", path, c.name)
			}
			c.typeName = tn[1]
			synth := synthRe.FindStringSubmatch(body)
			if synth == nil {
				return fmt.Errorf("%s: class %s: no synthesizeHclAttributes", path, c.name)
			}
			entries, err := parseEntries(synth[1])
			if err != nil {
				return fmt.Errorf("%s: class %s: %w", path, c.name, err)
			}
			// The class stores each argument in a field named after it,
			// but the config interface renames arguments that clash with
			// the class's own members (build becomes buildAttribute).
			props := map[string]string{}
			for _, a := range configRe.FindAllStringSubmatch(body, -1) {
				props[a[1]] = a[2]
			}
			for i := range entries {
				if p, ok := props[entries[i].camel]; ok {
					entries[i].camel = p
				}
			}
			c.entries = entries
			m.topLevel = append(m.topLevel, c)
		}
		m.classes[c.name] = c
	}
	return nil
}

// localName drops the module prefix that compiled imports put before a
// name from another file of the same folder ("structs0_1.Foo" is "Foo");
// names from the cdktf library keep theirs.
func localName(name string) string {
	if strings.HasPrefix(name, "cdktf.") {
		return name
	}
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name[i+1:]
	}
	return name
}

// structName turns "storageBucketCors" into "StorageBucketCors".
func structName(fn string) string {
	return strings.ToUpper(fn[:1]) + fn[1:]
}

// parseEntries reads the argument list of synthesizeHclAttributes or of a
// <Struct>ToHclTerraform function. It fails rather than skip an argument
// written in a shape it does not know.
func parseEntries(src string) ([]entry, error) {
	matches := entryRe.FindAllStringSubmatch(src, -1)
	if n := strings.Count(src, "isBlock:"); n != len(matches) {
		return nil, fmt.Errorf("read %d of %d arguments", len(matches), n)
	}
	var out []entry
	for _, e := range matches {
		value := e[2]
		f := fieldRe.FindStringSubmatch(value)
		if f == nil {
			return nil, fmt.Errorf("argument %s: no field in %q", e[1], value)
		}
		en := entry{
			name:      e[1],
			camel:     f[1],
			isBlock:   e[3] == "true",
			kind:      e[4],
			storage:   e[5],
			repeating: strings.Contains(value, "listMapperHcl("),
		}
		if en.isBlock {
			for _, s := range structFnRe.FindAllStringSubmatch(value, -1) {
				if !strings.HasPrefix(s[1], "cdktf.") {
					en.structFn = localName(s[1])
				}
			}
			if en.structFn == "" {
				return nil, fmt.Errorf("block %s: no struct function in %q", e[1], value)
			}
		}
		out = append(out, en)
	}
	return out, nil
}

func (m *module) parseDeclarations(src string) {
	for _, loc := range ifaceStart.FindAllStringSubmatchIndex(src, -1) {
		name := src[loc[2]:loc[3]]
		end := unitEnd.FindStringIndex(src[loc[1]:])
		if end == nil {
			continue
		}
		props := map[string]bool{}
		for _, p := range propRe.FindAllStringSubmatch(src[loc[1]:loc[1]+end[0]], -1) {
			props[p[1]] = p[2] == ""
		}
		m.ifaces[name] = props
	}
}

func (m *module) topLevelSchema(c *class) (*schema.Schema, error) {
	iface, ok := m.ifaces[c.name+"Config"]
	if !ok {
		return nil, fmt.Errorf("no interface %sConfig", c.name)
	}
	entries := c.entries
	owner := c
	if c.base == baseProvider {
		// "alias" is a meta-argument of every provider block, not part of
		// the provider's own schema; the provider class has no computed
		// attributes.
		entries = nil
		for _, e := range c.entries {
			if e.name != "alias" {
				entries = append(entries, e)
			}
		}
		owner = nil
	}
	b, err := m.block(entries, owner, iface, c.base == baseProvider)
	if err != nil {
		return nil, err
	}
	return &schema.Schema{Block: b}, nil
}

// block builds the schema of one block from its arguments, the class whose
// getters expose its computed attributes (nil for none) and its TypeScript
// interface. In a provider configuration no attribute is computed.
func (m *module) block(entries []entry, owner *class, iface map[string]bool, providerConfig bool) (*schema.Block, error) {
	b := &schema.Block{
		Attributes: map[string]*schema.Attribute{},
		BlockTypes: map[string]*schema.NestedBlock{},
	}
	for _, e := range entries {
		required, ok := iface[e.camel]
		if !ok {
			return nil, fmt.Errorf("argument %s: %s is not in its interface", e.name, e.camel)
		}
		if e.isBlock {
			nb, err := m.nestedBlock(e, required, providerConfig)
			if err != nil {
				return nil, fmt.Errorf("block %s: %w", e.name, err)
			}
			b.BlockTypes[e.name] = nb
			continue
		}
		t, err := argumentType(e)
		if err != nil {
			return nil, fmt.Errorf("argument %s: %w", e.name, err)
		}
		b.Attributes[e.name] = &schema.Attribute{
			Type:     t,
			Required: required,
			Optional: !required,
			Computed: !required && !providerConfig,
		}
	}
	if owner == nil {
		return b, nil
	}
	arguments := map[string]bool{}
	for _, e := range entries {
		arguments[e.name] = true
	}
	for _, g := range owner.getters {
		name, t, ok, err := m.computedType(owner, g, arguments)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", g.camel, err)
		}
		if ok {
			b.Attributes[name] = &schema.Attribute{Type: t, Computed: true}
		}
	}
	return b, nil
}

func (m *module) nestedBlock(e entry, required, providerConfig bool) (*schema.NestedBlock, error) {
	name := structName(e.structFn)
	entries, ok := m.structs[name]
	if !ok {
		return nil, fmt.Errorf("no function %sToHclTerraform", e.structFn)
	}
	iface, ok := m.ifaces[name]
	if !ok {
		return nil, fmt.Errorf("no interface %s", name)
	}
	// Provider configuration structs have no output reference class.
	owner := m.classes[name+"OutputReference"]
	inner, err := m.block(entries, owner, iface, providerConfig)
	if err != nil {
		return nil, err
	}
	nb := &schema.NestedBlock{Block: inner}
	switch e.kind {
	case "struct":
		nb.NestingMode = schema.NestingSingle
		return nb, nil
	case "list":
		nb.NestingMode = schema.NestingList
	case "set":
		nb.NestingMode = schema.NestingSet
	default:
		return nil, fmt.Errorf("unknown block kind %q", e.kind)
	}
	if !e.repeating {
		nb.MaxItems = 1
	}
	if required {
		nb.MinItems = 1
	}
	return nb, nil
}

func argumentType(e entry) (schema.Type, error) {
	switch e.kind + " " + e.storage {
	case "simple string":
		return schema.String, nil
	case "simple number":
		return schema.Number, nil
	case "simple boolean":
		return schema.Bool, nil
	case "list stringList":
		return schema.ListOf(schema.String), nil
	case "set stringList":
		return schema.SetOf(schema.String), nil
	case "list numberList":
		return schema.ListOf(schema.Number), nil
	case "set numberList":
		return schema.SetOf(schema.Number), nil
	case "list booleanList":
		return schema.ListOf(schema.Bool), nil
	case "set booleanList":
		return schema.SetOf(schema.Bool), nil
	case "map stringMap":
		return schema.MapOf(schema.String), nil
	case "map numberMap":
		return schema.MapOf(schema.Number), nil
	case "map booleanMap":
		return schema.MapOf(schema.Bool), nil
	}
	return schema.Type{}, fmt.Errorf("unsupported argument kind %q with storage %q", e.kind, e.storage)
}

// getter return expressions that read a primitive or simple collection
// attribute by its Terraform name.
var attrGetters = map[string]schema.Type{
	"getStringAttribute":     schema.String,
	"getNumberAttribute":     schema.Number,
	"getBooleanAttribute":    schema.Bool,
	"getListAttribute":       schema.ListOf(schema.String),
	"getNumberListAttribute": schema.ListOf(schema.Number),
	"getStringMapAttribute":  schema.MapOf(schema.String),
	"getNumberMapAttribute":  schema.MapOf(schema.Number),
	"getBooleanMapAttribute": schema.MapOf(schema.Bool),
}

// wrapper classes that hold a computed collection attribute.
var wrapperTypes = map[string]schema.Type{
	"cdktf.StringMap":      schema.MapOf(schema.String),
	"cdktf.NumberMap":      schema.MapOf(schema.Number),
	"cdktf.BooleanMap":     schema.MapOf(schema.Bool),
	"cdktf.StringMapList":  schema.ListOf(schema.MapOf(schema.String)),
	"cdktf.NumberMapList":  schema.ListOf(schema.MapOf(schema.Number)),
	"cdktf.BooleanMapList": schema.ListOf(schema.MapOf(schema.Bool)),
}

var (
	attrGetterRe = regexp.MustCompile(`^this\.(\w+)\('(\w+)'\)$`)
	setGetterRe  = regexp.MustCompile(`^cdktf\.Fn\.tolist\(this\.getListAttribute\('(\w+)'\)\)$`)
	fieldExprRe  = regexp.MustCompile(`^this\._(\w+)$`)
)

// computedType reads the Terraform name and type of the attribute a getter
// exposes. ok is false for getters that expose no attribute of their own,
// such as the "...Input" getters, and for those named in skip.
func (m *module) computedType(owner *class, g getter, skip map[string]bool) (name string, t schema.Type, ok bool, err error) {
	if s := setGetterRe.FindStringSubmatch(g.expr); s != nil {
		return s[1], schema.SetOf(schema.String), !skip[s[1]], nil
	}
	if s := attrGetterRe.FindStringSubmatch(g.expr); s != nil {
		if skip[s[2]] {
			return "", schema.Type{}, false, nil
		}
		t, known := attrGetters[s[1]]
		if !known {
			return "", schema.Type{}, false, fmt.Errorf("unsupported getter %s", s[1])
		}
		return s[2], t, true, nil
	}
	f := fieldExprRe.FindStringSubmatch(g.expr)
	if f == nil {
		return "", schema.Type{}, false, nil
	}
	in, hasInit := owner.inits[f[1]]
	if !hasInit || skip[in.name] {
		return "", schema.Type{}, false, nil
	}
	if t, known := wrapperTypes[in.ctor]; known {
		return in.name, t, true, nil
	}
	t, err = m.objectType(in.ctor, in.wrapsSet)
	return in.name, t, err == nil, err
}

// objectType is the type of a computed attribute held by a generated class:
// a list (or set) of objects for a ...List class, an object for an
// ...OutputReference class.
func (m *module) objectType(className string, wrapsSet bool) (schema.Type, error) {
	c, ok := m.classes[className]
	if !ok {
		return schema.Type{}, fmt.Errorf("no class %s", className)
	}
	if c.base == "cdktf.ComplexList" {
		if c.elemType == "" {
			return schema.Type{}, fmt.Errorf("class %s: no element class", className)
		}
		elem, err := m.objectType(c.elemType, false)
		if err != nil {
			return schema.Type{}, err
		}
		if wrapsSet {
			return schema.SetOf(elem), nil
		}
		return schema.ListOf(elem), nil
	}
	attrs := map[string]schema.Type{}
	for _, g := range c.getters {
		name, t, ok, err := m.computedType(c, g, nil)
		if err != nil {
			return schema.Type{}, fmt.Errorf("class %s: %w", className, err)
		}
		if ok {
			attrs[name] = t
		}
	}
	return schema.ObjectOf(attrs), nil
}
