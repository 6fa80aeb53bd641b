package hiringpipeline_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
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
