package hiringpipeline_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

// TestREADME_ListsEveryVariable keeps the README's table of variables equal
// to the variables the functions and the local stack read.
func TestREADME_ListsEveryVariable(t *testing.T) {
	t.Parallel()
	read := config.Variables(config.Google{})
	read = append(read, config.Variables(config.Buckets{})...)
	for _, d := range hiringpipeline.Functions {
		if d.Config == nil {
			t.Errorf("function %s declares no Config", d.Name)
			continue
		}
		read = append(read, config.Variables(d.Config)...)
	}
	slices.Sort(read)
	read = slices.Compact(read)

	f, err := os.Open("README.md")
	if err != nil {
		t.Fatalf("README: %v", err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `(HIRING_[A-Z_]+)` \\|")
	var documented []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			documented = append(documented, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("README: %v", err)
	}
	slices.Sort(documented)
	if diff := cmp.Diff(read, documented); diff != "" {
		t.Errorf("variables read by the code (-) and listed in the README (+):\n%s", diff)
	}
}

// TestREADME_ListsEveryProblemCode keeps the README's table of problem
// codes, whose anchors the problems' type URIs name, equal to the codes the
// functions' code answers with: a code given with its HTTP status, as a
// Problem's Code, or as a failed restore job's.
func TestREADME_ListsEveryProblemCode(t *testing.T) {
	t.Parallel()
	given := regexp.MustCompile(`(?:http\.Status[A-Za-z]+,\s*|Code:\s*|jobFailure\(err,\s*)"([a-z]+(?:_[a-z]+)*)"`)
	var used []string
	for _, root := range []string{"internal", "functions"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && path == filepath.Join("internal", "emulator"):
				// The emulators answer with Google's errors, not problems.
				return filepath.SkipDir
			case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range given.FindAllStringSubmatch(string(src), -1) {
				used = append(used, m[1])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)
	if len(used) < 30 {
		t.Fatalf("found only %d problem codes in the code: %v", len(used), used)
	}

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("README: %v", err)
	}
	row := regexp.MustCompile("(?m)^\\| <a id=\"([a-z_]+)\"></a>`([a-z_]+)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		if m[1] != m[2] {
			t.Errorf("README: the row of %s has the anchor %s", m[2], m[1])
		}
		documented = append(documented, m[2])
	}
	slices.Sort(documented)
	if diff := cmp.Diff(used, documented); diff != "" {
		t.Errorf("problem codes in the code (-) and in the README's table (+):\n%s", diff)
	}
}

func TestFunctions_Unique(t *testing.T) {
	t.Parallel()
	names, entries := map[string]bool{}, map[string]bool{}
	for _, d := range hiringpipeline.Functions {
		if names[d.Name] || entries[d.EntryPoint] {
			t.Errorf("function %s / %s is registered twice", d.Name, d.EntryPoint)
		}
		names[d.Name], entries[d.EntryPoint] = true, true
		if (d.HTTP == nil) == (d.Event == nil) {
			t.Errorf("function %s must be exactly one of HTTP or CloudEvent", d.Name)
		}
	}
}
