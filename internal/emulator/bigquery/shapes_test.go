package bigquery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"
)

// post sends a JSON body to the emulator over HTTP and decodes the answer;
// the Go client hides the wire shapes these tests check.
func (e *env) post(t testing.TB, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.url+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.do(t, req)
}

func (e *env) get(t testing.TB, path string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, req)
}

func (e *env) do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", req.Method, req.URL, data, err)
	}
	return resp.StatusCode, out
}

// cells returns the rows of a tabledata.list or query answer as they are on
// the wire: each cell the JSON object it is.
func cells(t testing.TB, answer map[string]any) [][]map[string]any {
	t.Helper()
	rows, _ := answer["rows"].([]any)
	var out [][]map[string]any
	for _, r := range rows {
		var row []map[string]any
		for _, c := range r.(map[string]any)["f"].([]any) {
			row = append(row, c.(map[string]any))
		}
		out = append(out, row)
	}
	return out
}

// TestREST_NullCell checks that a NULL comes back as {"v": null}, as
// BigQuery sends it, from tabledata.list, jobs.query and
// jobs.getQueryResults: clients that read .v directly need the member.
func TestREST_NullCell(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ds := e.dataset(t, "d")
	schema := bigquery.Schema{{Name: "id", Type: bigquery.IntegerFieldType}, {Name: "name", Type: bigquery.StringFieldType}}
	if err := ds.Table("t").Create(context.Background(), &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.exec(t, "INSERT INTO d.t (id, name) VALUES (1, NULL)")
	want := [][]map[string]any{{{"v": "1"}, {"v": nil}}}
	code, list := e.get(t, "/projects/"+project+"/datasets/d/tables/t/data")
	if code != http.StatusOK {
		t.Fatalf("tabledata.list: %d %v", code, list)
	}
	if diff := cmp.Diff(want, cells(t, list)); diff != "" {
		t.Errorf("tabledata.list cells (-want +got):\n%s", diff)
	}
	code, q := e.post(t, "/projects/"+project+"/queries", `{"query": "SELECT id, name FROM d.t", "useLegacySql": false}`)
	if code != http.StatusOK {
		t.Fatalf("jobs.query: %d %v", code, q)
	}
	if diff := cmp.Diff(want, cells(t, q)); diff != "" {
		t.Errorf("jobs.query cells (-want +got):\n%s", diff)
	}
	job := q["jobReference"].(map[string]any)["jobId"].(string)
	code, res := e.get(t, "/projects/"+project+"/queries/"+job)
	if code != http.StatusOK {
		t.Fatalf("jobs.getQueryResults: %d %v", code, res)
	}
	if diff := cmp.Diff(want, cells(t, res)); diff != "" {
		t.Errorf("jobs.getQueryResults cells (-want +got):\n%s", diff)
	}
}

// TestREST_ScalarForms checks that the emulator reads a JSON number or
// boolean where the REST reference has a string, as BigQuery's JSON front
// end does: query parameter values (the JavaScript client sends them so)
// and int64 fields such as maximumBytesBilled; and bq's empty ARRAY,
// {"value": {}}.
func TestREST_ScalarForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	const body = `{
		"query": "SELECT @i + 1 AS i, @f * 2 AS f, NOT @b AS b, @s AS s, 2 IN UNNEST(@a) AS a, 2 IN UNNEST(@e) AS e",
		"useLegacySql": false,
		"maximumBytesBilled": 1000000,
		"parameterMode": "NAMED",
		"queryParameters": [
			{"name": "i", "parameterType": {"type": "INT64"}, "parameterValue": {"value": 41}},
			{"name": "f", "parameterType": {"type": "FLOAT64"}, "parameterValue": {"value": 1.25}},
			{"name": "b", "parameterType": {"type": "BOOL"}, "parameterValue": {"value": true}},
			{"name": "s", "parameterType": {"type": "STRING"}, "parameterValue": {"value": 7}},
			{"name": "a", "parameterType": {"type": "ARRAY", "arrayType": {"type": "INT64"}},
			 "parameterValue": {"arrayValues": [{"value": 1}, {"value": "2"}]}},
			{"name": "e", "parameterType": {"type": "ARRAY", "arrayType": {"type": "INT64"}}, "parameterValue": {"value": {}}}
		]
	}`
	for _, path := range []string{"/queries", "/jobs"} {
		t.Run(path, func(t *testing.T) {
			b := body
			if path == "/jobs" {
				b = `{"configuration": {"query": ` + body + `}}`
			}
			code, ans := e.post(t, "/projects/"+project+path, b)
			if code != http.StatusOK {
				t.Fatalf("POST %s: %d %v", path, code, ans)
			}
			if path == "/jobs" {
				if st := ans["status"].(map[string]any); st["errorResult"] != nil {
					t.Fatalf("job failed: %v", st["errorResult"])
				}
				job := ans["jobReference"].(map[string]any)["jobId"].(string)
				if code, ans = e.get(t, "/projects/"+project+"/queries/"+job); code != http.StatusOK {
					t.Fatalf("getQueryResults: %d %v", code, ans)
				}
			}
			want := [][]map[string]any{{{"v": "42"}, {"v": "2.5"}, {"v": "false"}, {"v": "7"}, {"v": "true"}, {"v": "false"}}}
			if diff := cmp.Diff(want, cells(t, ans)); diff != "" {
				t.Errorf("cells (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a value of the wrong type is still refused", func(t *testing.T) {
		code, ans := e.post(t, "/projects/"+project+"/queries", `{"query": "SELECT @i", "useLegacySql": false,
			"queryParameters": [{"name": "i", "parameterType": {"type": "INT64"}, "parameterValue": {"value": true}}]}`)
		if code != http.StatusBadRequest {
			t.Fatalf("INT64 parameter true: %d %v, want 400", code, ans)
		}
		errs := ans["error"].(map[string]any)["errors"].([]any)
		if r := errs[0].(map[string]any)["reason"]; r != "invalidQuery" {
			t.Errorf("reason %v, want invalidQuery", r)
		}
	})
}

// TestQuery_ArrayParameter runs queries with ARRAY parameters through the
// Go client, which sends them as arrayType and arrayValues.
func TestQuery_ArrayParameter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ds := e.dataset(t, "d")
	schema := bigquery.Schema{{Name: "id", Type: bigquery.IntegerFieldType}, {Name: "name", Type: bigquery.StringFieldType}, {Name: "day", Type: bigquery.DateFieldType}}
	if err := ds.Table("t").Create(context.Background(), &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	e.exec(t, "INSERT INTO d.t (id, name, day) VALUES (1, 'a', DATE '2021-01-01'), (2, 'b', DATE '2021-01-02'), (3, 'c', DATE '2021-01-03')")
	cases := []struct {
		name  string
		sql   string
		value any
		want  [][]bigquery.Value
	}{
		{"INT64", "SELECT id FROM d.t WHERE id IN UNNEST(@p) ORDER BY id", []int64{1, 3}, [][]bigquery.Value{{int64(1)}, {int64(3)}}},
		{"STRING", "SELECT id FROM d.t WHERE name NOT IN UNNEST(@p) ORDER BY id", []string{"a", "c"}, [][]bigquery.Value{{int64(2)}}},
		{"DATE", "SELECT id FROM d.t WHERE day IN UNNEST(@p)", []civil.Date{{Year: 2021, Month: 1, Day: 2}}, [][]bigquery.Value{{int64(2)}}},
		{"empty", "SELECT id FROM d.t WHERE id IN UNNEST(@p)", []int64{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := bigquery.QueryParameter{Name: "p", Value: tc.value}
			if diff := cmp.Diff(tc.want, e.read(t, tc.sql, p)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}
