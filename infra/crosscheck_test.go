// Package infra holds the tests of the Terraform configuration in this
// folder: a cross-check of the configuration against the Go code, and the
// offline OpenTofu and Trivy runs.
package infra

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyfunction "github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

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
	// ClaimsPrefix begins the names of insert-rows' idempotency claims in
	// the staging bucket (insert.ClaimsPrefix).
	ClaimsPrefix string
	// OutcomeKey is the log field under which load-csv logs a file's
	// outcome, Failed the outcome of a file that failed
	// (ingest.Failed): the alert's log filter matches them.
	OutcomeKey, Failed string
	// RestoreTargetPrefix starts the name of a table that restore-table
	// creates (backup.TargetPrefix).
	RestoreTargetPrefix string
}

// tf is the parsed Terraform configuration of a folder.
type tf struct {
	locals    map[string]hclsyntax.Expression
	resources map[string]*hclsyntax.Body // "type.name"
	variables map[string]*hclsyntax.Body
}

func parse(dir string) (*tf, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf file in %s", dir)
	}
	c := &tf{locals: map[string]hclsyntax.Expression{}, resources: map[string]*hclsyntax.Body{}, variables: map[string]*hclsyntax.Body{}}
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
			case b.Type == "variable" && len(b.Labels) == 1:
				c.variables[b.Labels[0]] = b.Body
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

	// The idempotency claims: where they are, who may touch them, how long
	// they live, and the settings that must follow Terraform's own.
	problems = append(problems, checkClaims(c, src, want, envs)...)

	problems = append(problems, checkFailurePath(c, src, want)...)
	problems = append(problems, checkVariables(dir, c)...)

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

// Settings that Terraform must derive from its own values rather than copy
// them, and the variable the claims' retention comes from.
const (
	requestTimeoutVar = config.Prefix + "REQUEST_TIMEOUT"
	retentionVar      = config.Prefix + "IDEMPOTENCY_RETENTION"
	claimsBucketVar   = config.Prefix + "STAGING_BUCKET"
	retentionDays     = "idempotency_retention_days"
)

// checkClaims checks the idempotency claims of the functions whose Config
// reads retentionVar (insert-rows): their environment, the staging bucket's
// lifecycle rules and their conditional grant. The expressions are
// evaluated with made-up inputs (a timeout, a number of days, bucket and
// account names), so that a copied value or a wrong reference shows.
func checkClaims(c *tf, src map[string][]byte, want code, envs map[string]hclsyntax.Expression) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The constant locals (local.claims_prefix, local.staged_prefixes), for
	// the expressions that use them.
	constants := map[string]cty.Value{}
	for name, e := range c.locals {
		if v, ok := literal(e); ok {
			constants[name] = v
		}
	}
	if v, ok := constants["claims_prefix"]; !ok || v.Type() != cty.String || v.AsString() != want.ClaimsPrefix {
		fail("local.claims_prefix must be %q, insert.ClaimsPrefix: the grant and the lifecycle rule of the claims must cover the objects insert-rows writes", want.ClaimsPrefix)
	}
	buckets := map[string]cty.Value{}
	for _, b := range []string{"landing", "staging", "backups", "source"} {
		buckets[b] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("bucket-" + b)})
	}
	accounts := map[string]cty.Value{}
	for _, d := range want.Functions {
		accounts[d.Name] = cty.ObjectVal(map[string]cty.Value{"email": cty.StringVal(d.Name + "@account")})
	}
	evalCtx := func(locals, vars map[string]cty.Value) *hcl.EvalContext {
		l := maps.Clone(constants)
		maps.Copy(l, locals)
		return &hcl.EvalContext{Variables: map[string]cty.Value{
			"local":                  cty.ObjectVal(l),
			"var":                    cty.ObjectVal(vars),
			"google_storage_bucket":  cty.ObjectVal(buckets),
			"google_service_account": cty.ObjectVal(map[string]cty.Value{"fn": cty.ObjectVal(accounts)}),
		}}
	}
	evalString := func(e hclsyntax.Expression, ctx *hcl.EvalContext) string {
		v, diags := e.Value(ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			return "(" + strings.TrimSpace(attrText(src, e)) + ")"
		}
		if s, err := convert.Convert(v, cty.String); err == nil {
			return s.AsString()
		}
		return "(" + strings.TrimSpace(attrText(src, e)) + ")"
	}
	// Two values each, so that a constant cannot match by chance.
	timeouts := []int64{61, 3599}
	days := []int64{2, 45}

	usesClaims := false
	for _, d := range want.Functions {
		vars := config.Variables(d.Config)
		env, ok := envs[d.Name]
		if !ok {
			continue // reported above
		}
		set, err := c.objectItems(env)
		if err != nil {
			continue // reported above
		}
		// A request gives up, and a claim in progress is taken over, after
		// the function's timeout: local.functions, with var.functions'
		// override, not local.function_defaults nor a copy.
		if e, ok := set[requestTimeoutVar]; ok && slices.Contains(vars, requestTimeoutVar) {
			for _, seconds := range timeouts {
				ctx := evalCtx(map[string]cty.Value{
					"functions":         cty.ObjectVal(map[string]cty.Value{d.Name: cty.ObjectVal(map[string]cty.Value{"timeout_seconds": cty.NumberIntVal(seconds)})}),
					"function_defaults": cty.ObjectVal(map[string]cty.Value{d.Name: cty.ObjectVal(map[string]cty.Value{"timeout_seconds": cty.NumberIntVal(60)})}),
				}, nil)
				got := evalString(e, ctx)
				if dur, err := time.ParseDuration(got); err != nil || dur != time.Duration(seconds)*time.Second {
					fail("function %s: Terraform's %s is %s for a timeout_seconds of %d, not %ds: it must follow local.functions[%q].timeout_seconds", d.Name, requestTimeoutVar, got, seconds, seconds, d.Name)
					break
				}
			}
		}
		if !slices.Contains(vars, retentionVar) {
			continue
		}
		usesClaims = true
		if e, ok := set[retentionVar]; ok {
			for _, n := range days {
				got := evalString(e, evalCtx(nil, map[string]cty.Value{retentionDays: cty.NumberIntVal(n)}))
				if dur, err := time.ParseDuration(got); err != nil || dur != time.Duration(n)*24*time.Hour {
					fail("function %s: Terraform's %s is %s for %s = %d, not %dh: it must be var.%s days in hours", d.Name, retentionVar, got, retentionDays, n, n*24, retentionDays)
					break
				}
			}
		}
		if e, ok := set[claimsBucketVar]; ok && slices.Contains(vars, claimsBucketVar) {
			if got := evalString(e, evalCtx(nil, nil)); got != "bucket-staging" {
				fail("function %s: Terraform's %s is %s, not the staging bucket, whose lifecycle rule and grant cover the claims", d.Name, claimsBucketVar, got)
			}
		}

		// Its grant on the claims: a bucket-level role with a condition
		// on the object names, and no unconditional role on the bucket.
		wantCondition := fmt.Sprintf(`resource.name.startsWith("projects/_/buckets/bucket-staging/objects/%s")`, want.ClaimsPrefix)
		grants := 0
		for _, addr := range slices.Sorted(maps.Keys(c.resources)) {
			b := c.resources[addr]
			member, ok := b.Attributes["member"]
			if !strings.HasPrefix(addr, "google_storage_bucket_iam_member.") || b.Attributes["for_each"] != nil || !ok {
				continue
			}
			ctx := evalCtx(nil, nil)
			if evalString(member.Expr, ctx) != "serviceAccount:"+d.Name+"@account" {
				continue
			}
			grants++
			bucket := "(none)"
			if a, ok := b.Attributes["bucket"]; ok {
				bucket = evalString(a.Expr, ctx)
			}
			condition := evalString(findAttr(b, "condition", "expression"), ctx)
			if bucket != "bucket-staging" || condition != wantCondition {
				fail("%s: the grant to function %s must be on the staging bucket with the condition %s; it is on %s with the condition %q", addr, d.Name, wantCondition, bucket, condition)
			}
		}
		if grants == 0 {
			fail("function %s keeps idempotency claims, but no google_storage_bucket_iam_member grants its account the objects under %s of the staging bucket", d.Name, want.ClaimsPrefix)
		}
		if access, err := c.objectItems(c.locals["function_access"]); err != nil {
			fail("local.function_access: %v", err)
		} else if fields, err := c.objectItems(access[d.Name]); err == nil {
			if bs, err := c.objectItems(fields["buckets"]); err == nil {
				if _, ok := bs["staging"]; ok {
					fail("local.function_access gives function %s a role on the whole staging bucket: its grant there must keep to the claims", d.Name)
				}
			}
		}
	}
	if !usesClaims {
		return problems
	}

	// The staging bucket's lifecycle rules: one deletes the claims after
	// var.idempotency_retention_days, and no other deletes them at all.
	staging, ok := c.resources["google_storage_bucket.staging"]
	if !ok {
		return append(problems, "no resource google_storage_bucket.staging")
	}
	claimRules, rules := 0, 0
	for _, rule := range staging.Blocks {
		if rule.Type != "lifecycle_rule" {
			continue
		}
		rules++
		if evalString(findAttr(rule.Body, "action", "type"), evalCtx(nil, nil)) != "Delete" {
			continue
		}
		e, ok := blockAttr(rule.Body, "condition", "matches_prefix")
		if !ok {
			fail("google_storage_bucket.staging: lifecycle rule %d has no matches_prefix, so it deletes every object, insert-rows' claims under %s too: only the claims' own rule may", rules, want.ClaimsPrefix)
			continue
		}
		v, diags := e.Value(evalCtx(nil, nil))
		if diags.HasErrors() || !v.IsWhollyKnown() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
			fail("google_storage_bucket.staging: the matches_prefix of lifecycle rule %d, %s, is not a list of constants", rules, attrText(src, e))
			continue
		}
		var prefixes []string
		for _, p := range v.AsValueSlice() {
			if p.Type() == cty.String {
				prefixes = append(prefixes, p.AsString())
			}
		}
		if !slices.ContainsFunc(prefixes, func(p string) bool {
			return strings.HasPrefix(p, want.ClaimsPrefix) || strings.HasPrefix(want.ClaimsPrefix, p)
		}) {
			continue
		}
		if !slices.Equal(prefixes, []string{want.ClaimsPrefix}) {
			fail("google_storage_bucket.staging: lifecycle rule %d (matches_prefix %q) deletes insert-rows' claims under %s too: only the claims' own rule may", rules, prefixes, want.ClaimsPrefix)
			continue
		}
		claimRules++
		age, _ := blockAttr(rule.Body, "condition", "age")
		for _, n := range days {
			got := "(none)"
			if age != nil {
				got = evalString(age, evalCtx(nil, map[string]cty.Value{retentionDays: cty.NumberIntVal(n)}))
			}
			if got != strconv.FormatInt(n, 10) {
				fail("google_storage_bucket.staging: the claims' lifecycle rule deletes them at the age of %s days for %s = %d: its age must be var.%s", got, retentionDays, n, retentionDays)
				break
			}
		}
	}
	if claimRules != 1 {
		fail("google_storage_bucket.staging must have one lifecycle rule that deletes the claims (matches_prefix [%q]) after var.%s, not %d", want.ClaimsPrefix, retentionDays, claimRules)
	}
	return problems
}

// findAttr returns the expression of attribute name in the nested block
// typ of b, or an empty expression.
func findAttr(b *hclsyntax.Body, typ, name string) hclsyntax.Expression {
	if e, ok := blockAttr(b, typ, name); ok {
		return e
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.StringVal("")}
}

// blockAttr returns the expression of attribute name in the nested block
// typ of b, if there is one.
func blockAttr(b *hclsyntax.Body, typ, name string) (hclsyntax.Expression, bool) {
	for _, nested := range b.Blocks {
		if nested.Type == typ {
			if a, ok := nested.Body.Attributes[name]; ok {
				return a.Expr, true
			}
		}
	}
	return nil, false
}

// checkFailurePath checks the log filters of the alerts against the code:
// load-csv's filter matches the field and value it logs for a FAILED file,
// and the 5xx filter covers every HTTP function. It also checks that
// restore-table's scratch tables cover the tables it creates.
func checkFailurePath(c *tf, src map[string][]byte, want code) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	filters, err := c.objectItems(c.locals["log_filters"])
	if err != nil {
		return []string{"local.log_filters: " + err.Error()}
	}
	var event string
	for _, d := range want.Functions {
		if d.HTTP == nil {
			event = d.Name
		}
	}
	ctx := &hcl.EvalContext{Functions: map[string]ctyfunction.Function{"join": stdlib.JoinFunc}, Variables: map[string]cty.Value{
		"local": cty.ObjectVal(map[string]cty.Value{
			"load_csv_service": cty.StringVal("prefix-" + event),
			"http_services":    cty.ListVal([]cty.Value{cty.StringVal("prefix-a"), cty.StringVal("prefix-b")}),
		}),
	}}
	eval := func(name string) string {
		e, ok := filters[name]
		if !ok {
			fail("local.log_filters has no %s", name)
			return ""
		}
		v, diags := e.Value(ctx)
		if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() {
			fail("local.log_filters.%s: %s is not a filter the check can evaluate: %v", name, attrText(src, e), diags)
			return ""
		}
		return v.AsString()
	}
	if f := eval("load_csv_failures"); f != "" {
		match := fmt.Sprintf(`jsonPayload.%s=%q`, want.OutcomeKey, want.Failed)
		if !strings.Contains(f, match) {
			fail("local.log_filters.load_csv_failures does not match %s, the field and value load-csv logs for a FAILED file: %s", match, f)
		}
		if !strings.Contains(f, `resource.labels.service_name="prefix-`+event+`"`) {
			fail("local.log_filters.load_csv_failures is not limited to the service of function %s: %s", event, f)
		}
	}
	if f := eval("http_5xx"); f != "" && !strings.Contains(f, `service_name=("prefix-a" OR "prefix-b")`) {
		fail("local.log_filters.http_5xx must cover every HTTP function, local.http_services: %s", f)
	}
	if access, err := c.objectItems(c.locals["function_access"]); err != nil {
		fail("local.function_access: %v", err)
	} else if fields, err := c.objectItems(access["restore-table"]); err != nil {
		fail("local.function_access[\"restore-table\"]: %v", err)
	} else if scratch, err := c.stringSet(fields["scratch"]); err != nil || !slices.Contains(scratch, want.RestoreTargetPrefix) {
		fail("local.function_access[\"restore-table\"].scratch must hold %q, backup.TargetPrefix: restore-table creates its target tables under it", want.RestoreTargetPrefix)
	}
	return problems
}

// checkVariables checks that every variable has a description and is
// named in README.md, where users look for it.
func checkVariables(dir string, c *tf) []string {
	var problems []string
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		readme, err = os.ReadFile("README.md")
		if err != nil {
			return []string{err.Error()}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.variables)) {
		b := c.variables[name]
		described := false
		if d, ok := b.Attributes["description"]; ok {
			v, lit := literal(d.Expr)
			described = lit && v.Type() == cty.String && strings.TrimSpace(v.AsString()) != ""
		}
		if !described {
			problems = append(problems, fmt.Sprintf("variable %s has no description", name))
		}
		if !strings.Contains(string(readme), "`"+name+"`") {
			problems = append(problems, fmt.Sprintf("variable %s is not named in infra/README.md", name))
		}
	}
	return problems
}
