package config_test

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

// structs lists every configuration struct the project reads.
var structs = []any{config.Google{}, config.Buckets{}}

// variables returns the environment variables the structs read, by
// reflection over their env tags.
func variables(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, s := range structs {
		rt := reflect.TypeOf(s)
		for i := range rt.NumField() {
			tag := rt.Field(i).Tag.Get("env")
			if tag == "" {
				t.Fatalf("%s.%s has no env tag", rt.Name(), rt.Field(i).Name)
			}
			names = append(names, config.Prefix+strings.TrimSpace(strings.Split(tag, ",")[0]))
		}
	}
	slices.Sort(names)
	return names
}

// TestREADME_ListsEveryVariable keeps the README's table of variables and
// the code in step.
func TestREADME_ListsEveryVariable(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../README.md")
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
	if diff := cmp.Diff(variables(t), documented); diff != "" {
		t.Errorf("variables read by internal/config (-) and listed in the README (+):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		want    config.Google
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{"HIRING_PROJECT": "p"},
			want: config.Google{Project: "p", Dataset: "hiring", Location: "US"},
		},
		{
			name: "all set",
			env: map[string]string{"HIRING_PROJECT": "p", "HIRING_DATASET": "d", "HIRING_BIGQUERY_LOCATION": "EU",
				"HIRING_BIGQUERY_ENDPOINT": "http://127.0.0.1:8080/bigquery/v2/", "PROJECT": "ignored"},
			want: config.Google{Project: "p", Dataset: "d", Location: "EU", BigQueryEndpoint: "http://127.0.0.1:8080/bigquery/v2/"},
		},
		{
			name:    "missing project",
			env:     map[string]string{"PROJECT": "not prefixed"},
			wantErr: "PROJECT",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load[config.Google](t.Context(), config.FromMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load = %+v, %v; want an error naming %s", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}
