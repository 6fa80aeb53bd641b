package infra

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sourceAllowList reads local.source_allow_list and local.source_excluded
// of storage_transient.tf: what the functions' source archive holds.
func sourceAllowList(t *testing.T) (allow, excluded []string) {
	t.Helper()
	c, err := parse(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]*[]string{"source_allow_list": &allow, "source_excluded": &excluded} {
		e, ok := c.locals[name]
		if !ok {
			t.Fatalf("no local.%s", name)
		}
		if *out, err = c.stringSet(e); err != nil {
			t.Fatalf("local.%s: %v", name, err)
		}
	}
	return allow, excluded
}

// copySource copies the entries of allow from the repository root into dir,
// leaving out the files that excluded matches: the archive's content.
// Patterns are the two forms the configuration uses, **/NAME and
// **/FOLDER/**.
func copySource(t *testing.T, dir string, allow, excluded []string) {
	t.Helper()
	skip := func(d fs.DirEntry) bool {
		for _, p := range excluded {
			switch {
			case strings.HasPrefix(p, "**/") && strings.HasSuffix(p, "/**"):
				if d.IsDir() && d.Name() == strings.TrimSuffix(strings.TrimPrefix(p, "**/"), "/**") {
					return true
				}
			case strings.HasPrefix(p, "**/"):
				if ok, _ := filepath.Match(strings.TrimPrefix(p, "**/"), d.Name()); ok && !d.IsDir() {
					return true
				}
			default:
				t.Fatalf("local.source_excluded: pattern %q is neither **/NAME nor **/FOLDER/**; teach copySource", p)
			}
		}
		return false
	}
	for _, entry := range allow {
		root := filepath.Join("..", entry)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel("..", path)
			if err != nil {
				return err
			}
			if skip(d) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
		})
		if err != nil {
			t.Fatalf("copying %s: %v", entry, err)
		}
	}
}

// goTool runs the go command in dir, as the Go buildpack would, outside any
// workspace.
func goTool(dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSourceAllowList copies exactly the archive's allow-list into a new
// folder and builds and vets the root package there: the uploaded source
// builds as the buildpack builds it. Without functions.go, the build must
// fail, which shows that the check is on the copy and not on the
// repository.
func TestSourceAllowList(t *testing.T) {
	t.Parallel()
	allow, excluded := sourceAllowList(t)
	for _, must := range []string{"go.mod", "go.sum", "functions.go"} {
		if !slices.Contains(allow, must) {
			t.Errorf("local.source_allow_list leaves out %s", must)
		}
	}

	dir := t.TempDir()
	copySource(t, dir, allow, excluded)
	if tests, _ := filepath.Glob(filepath.Join(dir, "internal", "*", "*_test.go")); len(tests) > 0 {
		t.Errorf("the copy holds tests: %v", tests)
	}
	for _, args := range [][]string{{"build", "."}, {"vet", "."}} {
		if out, err := goTool(dir, args...); err != nil {
			t.Fatalf("go %s in the allow-list's copy: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	without := slices.DeleteFunc(slices.Clone(allow), func(e string) bool { return e == "functions.go" })
	dir = t.TempDir()
	copySource(t, dir, without, excluded)
	out, err := goTool(dir, "build", ".")
	if err == nil {
		t.Fatalf("go build . succeeded without functions.go:\n%s", out)
	}
	if !strings.Contains(out, "no Go files") {
		t.Errorf("go build . without functions.go failed for another reason:\n%s", out)
	}
}
