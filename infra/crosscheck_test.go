// Package infra holds the tests of the Terraform configuration in this
// folder: a cross-check of the configuration against the Go code, and the
// offline OpenTofu and Trivy runs.
package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// localOnly are the variables that only the local stack sets; Terraform
// must not set them.
var localOnly = []string{"HIRING_BIGQUERY_ENDPOINT", "HIRING_BIGQUERY_STORAGE_ENDPOINT", "HIRING_AUTH_TOKENS"}

// code is what the Go side declares, for the cross-check.
type code struct {
	Functions []function.Definition
	// Dictionary lists the data dictionary's tables, SystemTables the
	// pipeline's own tables (rejected_rows, ingest_log, the metric tables).
	Dictionary   []string
	SystemTables []string
	RawTable     func(string) string
	// GoVersion is go.mod's go directive, e.g. 1.26.0.
	GoVersion string
}

// tf is the parsed Terraform configuration of a folder.
type tf struct {
	locals    map[string]hclsyntax.Expression
	resources map[string]*hclsyntax.Body // "type.name"
}

func parse(dir string) (*tf, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf file in %s", dir)
	}
	c := &tf{locals: map[string]hclsyntax.Expression{}, resources: map[string]*hclsyntax.Body{}}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			switch {
			case b.Type == "locals":
				for k, a := range b.Body.Attributes {
					if _, dup := c.locals[k]; dup {
						return nil, fmt.Errorf("local.%s is defined twice", k)
					}
					c.locals[k] = a.Expr
				}
			case b.Type == "resource" && len(b.Labels) == 2:
				c.resources[b.Labels[0]+"."+b.Labels[1]] = b.Body
			}
		}
	}
	return c, nil
}

// literal evaluates an expression without variables: a constant.
func literal(e hclsyntax.Expression) (cty.Value, bool) {
	v, diags := e.Value(nil)
	return v, !diags.HasErrors() && v.IsWhollyKnown()
}

// objectItems returns the items of an object expression, resolving
// local.NAME, merge(...) and object literals; other expressions are an
// error, so that the check never guesses.
func (c *tf) objectItems(e hclsyntax.Expression) (map[string]hclsyntax.Expression, error) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		out := map[string]hclsyntax.Expression{}
		for _, item := range e.Items {
			k, ok := literal(item.KeyExpr)
			if !ok || k.Type() != cty.String {
				if name := hcl.ExprAsKeyword(item.KeyExpr); name != "" {
					out[name] = item.ValueExpr
					continue
				}
				return nil, fmt.Errorf("%s: an object key that is not a constant", item.KeyExpr.Range())
			}
			out[k.AsString()] = item.ValueExpr
		}
		return out, nil
	case *hclsyntax.FunctionCallExpr:
		if e.Name != "merge" {
			return nil, fmt.Errorf("%s: %s(...) is not an object the check can read", e.Range(), e.Name)
		}
		out := map[string]hclsyntax.Expression{}
		for _, arg := range e.Args {
			items, err := c.objectItems(arg)
			if err != nil {
				return nil, err
			}
			for k, v := range items {
				out[k] = v
			}
		}
		return out, nil
	case *hclsyntax.ScopeTraversalExpr:
		if name, ok := localName(e); ok {
			if v, ok := c.locals[name]; ok {
				return c.objectItems(v)
			}
			return nil, fmt.Errorf("%s: no local.%s", e.Range(), name)
		}
	}
	return nil, fmt.Errorf("%s: not an object the check can read", e.Range())
}

// localName returns NAME for the expression local.NAME.
func localName(e hclsyntax.Expression) (string, bool) {
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(t.Traversal) != 2 || t.Traversal.RootName() != "local" {
		return "", false
	}
	a, ok := t.Traversal[1].(hcl.TraverseAttr)
	return a.Name, ok
}

// stringSet reads toset([...]) or [...] of constant strings, through locals.
func (c *tf) stringSet(e hclsyntax.Expression) ([]string, error) {
	if name, ok := localName(e); ok {
		v, ok := c.locals[name]
		if !ok {
			return nil, fmt.Errorf("%s: no local.%s", e.Range(), name)
		}
		return c.stringSet(v)
	}
	if call, ok := e.(*hclsyntax.FunctionCallExpr); ok && call.Name == "toset" && len(call.Args) == 1 {
		return c.stringSet(call.Args[0])
	}
	v, ok := literal(e)
	if !ok || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, fmt.Errorf("%s: not a list of constant strings", e.Range())
	}
	var out []string
	for _, el := range v.AsValueSlice() {
		if el.Type() != cty.String {
			return nil, fmt.Errorf("%s: not a list of constant strings", e.Range())
		}
		out = append(out, el.AsString())
	}
	return out, nil
}

// attrText returns an attribute's expression as written.
func attrText(src map[string][]byte, e hclsyntax.Expression) string {
	r := e.Range()
	return string(r.SliceBytes(src[r.Filename]))
}

// evalWithKey evaluates an expression in which each.key is key.
func evalWithKey(e hclsyntax.Expression, key string) (string, error) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key)})}}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	if v.Type() != cty.String || !v.IsKnown() {
		return "", fmt.Errorf("%s: not a string", e.Range())
	}
	return v.AsString(), nil
}

// crossCheck compares the Terraform configuration of dir with the code and
// returns every mismatch it finds.
func crossCheck(dir string, want code) []string {
	c, err := parse(dir)
	if err != nil {
		return []string{err.Error()}
	}
	src := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, f := range files {
		src[f], _ = os.ReadFile(f)
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Functions: names, entry points, triggers, environment.
	fns, ok := c.resources["google_cloudfunctions2_function.fn"]
	if !ok {
		return append(problems, "no resource google_cloudfunctions2_function.fn")
	}
	if a := fns.Attributes["for_each"]; a == nil || attrText(src, a.Expr) != "local.functions" {
		fail("google_cloudfunctions2_function.fn must have for_each = local.functions")
	}
	defaults, err := c.objectItems(c.locals["function_defaults"])
	if err != nil {
		return append(problems, "local.function_defaults: "+err.Error())
	}
	envs, err := c.objectItems(c.locals["env"])
	if err != nil {
		return append(problems, "local.env: "+err.Error())
	}
	for _, d := range want.Functions {
		def, ok := defaults[d.Name]
		if !ok {
			fail("function %s (entry point %s) is registered in functions.go but not in local.function_defaults", d.Name, d.EntryPoint)
			continue
		}
		fields, err := c.objectItems(def)
		if err != nil {
			fail("local.function_defaults[%q]: %v", d.Name, err)
			continue
		}
		for field, want := range map[string]string{"entry_point": d.EntryPoint, "trigger_bucket": d.TriggerBucket} {
			got := ""
			if e, ok := fields[field]; ok {
				if v, ok := literal(e); ok && v.Type() == cty.String {
					got = v.AsString()
				}
			}
			if got != want {
				fail("function %s: Terraform's %s is %q, functions.go registers %q", d.Name, field, got, want)
			}
		}
		env, ok := envs[d.Name]
		if !ok {
			fail("function %s has no local.env entry", d.Name)
			continue
		}
		set, err := c.objectItems(env)
		if err != nil {
			fail("local.env[%q]: %v", d.Name, err)
			continue
		}
		for _, v := range config.Variables(d.Config) {
			_, isSet := set[v]
			switch local := slices.Contains(localOnly, v); {
			case local && isSet:
				fail("function %s: Terraform sets %s, which only the local stack may set", d.Name, v)
			case !local && !isSet:
				fail("function %s reads %s, which Terraform does not set", d.Name, v)
			}
		}
		for v := range set {
			if !slices.Contains(config.Variables(d.Config), v) {
				fail("function %s: Terraform sets %s, which its Config does not read", d.Name, v)
			}
		}
	}
	for name, def := range defaults {
		if !slices.ContainsFunc(want.Functions, func(d function.Definition) bool { return d.Name == name }) {
			entry := ""
			if fields, err := c.objectItems(def); err == nil {
				if v, ok := literal(fields["entry_point"]); ok && v.Type() == cty.String {
					entry = v.AsString()
				}
			}
			fail("Terraform deploys function %s (entry point %s), which functions.go does not register", name, entry)
		}
	}

	// The runtime matches go.mod.
	major, minor, _ := strings.Cut(want.GoVersion, ".")
	minor, _, _ = strings.Cut(minor, ".")
	if v, ok := literal(c.locals["go_runtime"]); !ok || v.Type() != cty.String || v.AsString() != "go"+major+minor {
		fail("local.go_runtime must be %q, for go %s in go.mod", "go"+major+minor, want.GoVersion)
	}

	// Tables: per dictionary file a raw table and a view; the system tables.
	dict := c.locals["dictionary"]
	if dict == nil || !regexp.MustCompile(`fileset\("\$\{local\.repository\}/schemas", "\*\.json"\)`).MatchString(attrText(src, dict)) {
		fail(`local.dictionary must come from fileset("${local.repository}/schemas", "*.json"): one table per schema file`)
	}
	for resource, tableID := range map[string]func(string) string{
		"google_bigquery_table.raw":  want.RawTable,
		"google_bigquery_table.view": func(t string) string { return t },
	} {
		b, ok := c.resources[resource]
		if !ok {
			fail("no resource %s", resource)
			continue
		}
		if a := b.Attributes["for_each"]; a == nil || attrText(src, a.Expr) != "local.dictionary" {
			fail("%s must have for_each = local.dictionary", resource)
		}
		a := b.Attributes["table_id"]
		if a == nil {
			fail("%s has no table_id", resource)
			continue
		}
		for _, table := range want.Dictionary {
			got, err := evalWithKey(a.Expr, table)
			if err != nil || got != tableID(table) {
				fail("%s names the table of %s %q, the code %q", resource, table, got, tableID(table))
			}
		}
	}
	var declared []string
	for _, resource := range []string{"google_bigquery_table.system", "google_bigquery_table.metric"} {
		b, ok := c.resources[resource]
		if !ok {
			fail("no resource %s", resource)
			continue
		}
		a := b.Attributes["for_each"]
		if a == nil {
			fail("%s has no for_each", resource)
			continue
		}
		names, err := c.stringSet(a.Expr)
		if err != nil {
			fail("%s: %v", resource, err)
			continue
		}
		if s := b.Attributes["schema"]; s == nil || attrText(src, s.Expr) != `file("${local.repository}/schemas/system/${each.key}.json")` {
			fail("%s must read its schema from schemas/system/<table>.json", resource)
		}
		declared = append(declared, names...)
	}
	for _, t := range want.SystemTables {
		if !slices.Contains(declared, t) {
			fail("the code writes table %s, which Terraform does not create", t)
		}
	}
	for _, t := range declared {
		if !slices.Contains(want.SystemTables, t) {
			fail("Terraform creates table %s, which the code does not know", t)
		}
	}

	// Scheduler jobs call existing HTTP functions.
	schedules, err := c.objectItems(c.locals["schedules"])
	if err != nil {
		fail("local.schedules: %v", err)
	}
	for name := range schedules {
		i := slices.IndexFunc(want.Functions, func(d function.Definition) bool { return d.Name == name })
		if i < 0 || want.Functions[i].HTTP == nil {
			fail("scheduler job %s targets no HTTP function of functions.go", name)
		}
	}
	if b, ok := c.resources["google_cloud_scheduler_job.job"]; !ok {
		fail("no resource google_cloud_scheduler_job.job")
	} else if a := b.Attributes["for_each"]; a == nil || attrText(src, a.Expr) != "local.schedules" {
		fail("google_cloud_scheduler_job.job must have for_each = local.schedules")
	} else if !strings.Contains(attrText(src, findAttr(b, "http_target", "uri")), "google_cloudfunctions2_function.fn[each.key].url") {
		fail("google_cloud_scheduler_job.job must call google_cloudfunctions2_function.fn[each.key].url")
	}
	slices.Sort(problems)
	return problems
}

// findAttr returns the expression of attribute name in the nested block
// typ of b, or an empty expression.
func findAttr(b *hclsyntax.Body, typ, name string) hclsyntax.Expression {
	for _, nested := range b.Blocks {
		if nested.Type == typ {
			if a, ok := nested.Body.Attributes[name]; ok {
				return a.Expr
			}
		}
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.StringVal("")}
}
