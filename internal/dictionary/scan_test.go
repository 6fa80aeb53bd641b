package dictionary_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// objectCases are objects on and just off the one-pass path of
// ParseObjectString.
var objectCases = []string{
	`{"id":4535,"name":"Marcelo Gonzalez","datetime":"2021-07-27T16:02:08Z","department_id":1,"job_id":2}`,
	` { "id" : 7 , "department" : "Sales" } `,
	"{\"id\":7,\"department\":\"Sal\u00e9s\"}\n",
	`{"id": 7, "department": null}`,
	`{"id": 7, "job": "Ops", "job": "Ops"}`,
	`{"id": 7, "department": "S\u00e9"}`,
	`{"id": 7, "department": "S\"x"}`,
	`{"id": -0, "department": "x"}`,
	`{"id": -, "department": "x"}`,
	`{"id": 01, "department": "x"}`,
	`{"id": 1.0, "department": "x"}`,
	`{"id": 1e3, "department": "x"}`,
	`{"id": 9223372036854775808, "department": "x"}`,
	`{"id": 9223372036854775807, "department": "  "}`,
	`{"id": 1, "department": "x"`,
	`{"id": 1, "department": "x"} x`,
	`{"id": 1, "department": "x",}`,
	`{"id": 1 "department": "x"}`,
	`{"id": 1, "department": nul}`,
	`{"id": 1, "department": nullx}`,
	`{"id": 1, "department": true}`,
	`{"id": 1, "department": ["x"]}`,
	`{"id": 1, "department": "a` + "\x7f" + `"}`,
	`{"id": 1, "department": "a` + "\t" + `"}`,
	`{"id": 1, "department": "Jos` + "\xe9" + `"}`,
	`{"id": 1, "name": "x", "datetime": "2021-07-27T16:02:08.1234567Z", "department_id": 1, "job_id": 2}`,
	`{"id": 1, "name": "x", "datetime": "2021-07-27T16:02:08+24:00", "department_id": 1, "job_id": 2}`,
	`{"id": 1, "name": "x", "datetime": " ", "department_id": null, "job_id": 2}`,
	`{"id": 1, "name": "x", "datetime": 5, "department_id": "1", "job_id": 2}`,
	`{}`,
	`{"id": 1}`,
	`[]`,
	``,
	`"id"`,
}

// checkSameObject checks that ParseObjectString answers as ParseObjectValues,
// the reference that reads member by member with encoding/json.
func checkSameObject(t *testing.T, tbl *dictionary.Table, object string) {
	t.Helper()
	want, wantErr := parseObject(tbl, 3, []byte(object))
	values := make([]dictionary.Value, len(tbl.Fields))
	gotErr := tbl.ParseObjectString(3, object, values)
	if diff := cmp.Diff(wantErr, gotErr); diff != "" {
		t.Fatalf("table %s, object %q: errors differ (-ParseObjectValues +ParseObjectString):\n%s", tbl.Name, object, diff)
	}
	if gotErr != nil {
		return
	}
	if got := tbl.RowOf(values); want.Table != got.Table || !cmp.Equal(want.Values, got.Values) {
		diff := cmp.Diff(want.Values, got.Values)
		t.Fatalf("table %s, object %q: rows differ (-ParseObjectValues +ParseObjectString):\n%s", tbl.Name, object, diff)
	}
}

func TestTable_ParseObjectString(t *testing.T) {
	t.Parallel()
	for _, tbl := range dictionary.Default().Tables() {
		for _, object := range objectCases {
			checkSameObject(t, tbl, object)
		}
	}
	// Members left out of a table of NULLABLE fields are NULL.
	people := nullableTable(t)
	for _, object := range []string{
		`{"id": 1}`,
		`{"id": 2, "score": 5}`,
		`{"seen": "2021-07-27T16:02:08Z", "id": 3}`,
		`{"id": 4, "nick": "Al", "seen": null, "score": -7}`,
		`{"id": 5, "nick": "", "seen": " "}`,
	} {
		checkSameObject(t, people, object)
	}
}

// FuzzParseObjectString compares ParseObjectString with ParseObjectValues.
func FuzzParseObjectString(f *testing.F) {
	for i, object := range objectCases {
		f.Add(uint8(i), []byte(object))
	}
	f.Fuzz(func(t *testing.T, tableIndex uint8, object []byte) {
		checkSameObject(t, fuzzTable(tableIndex), string(object))
	})
}
