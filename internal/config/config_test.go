package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
)

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
