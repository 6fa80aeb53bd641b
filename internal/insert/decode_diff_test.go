package insert

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// describe renders a decoding error with its HTTP status, code and detail.
func describe(err error) string {
	var p *httpapi.Problem
	if errors.As(err, &p) {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	}
	return fmt.Sprint(err)
}

// itemView is what an item answers: its stored form, line, values, boxed,
// and refusal.
type itemView struct {
	Raw    string
	Line   int64
	Values []any
	Err    *dictionary.RowError
}

func view(tbl *dictionary.Table, items []item) []itemView {
	out := make([]itemView, len(items))
	for i, it := range items {
		out[i] = itemView{Raw: string(it.raw), Line: it.line, Err: it.err}
		if it.values != nil {
			out[i].Values = tbl.RowOf(it.values).Values
		}
	}
	return out
}

// checkSameDecode checks that parseJSON decides as parseJSONStrict, the
// straightforward reference (a strict token walk of the envelope,
// encoding/json for the rows array, ParseObjectValues for each row), and so does
// each of its one-pass paths on its own when it takes the body: plainJSON
// and scanJSON. It reports which of them took the body. Each parse has
// its rows from the pool, and gives them back after.
func checkSameDecode(t *testing.T, tbl *dictionary.Table, body []byte) (plain, fast bool) {
	t.Helper()
	var taken []*rows
	defer func() {
		for _, r := range taken {
			r.release()
		}
	}()
	take := func() *rows {
		taken = append(taken, newRows(tbl))
		return taken[len(taken)-1]
	}
	want, wantErr := parseJSONStrict(tbl, body, take())
	refuseDuplicates(tbl, want)
	got, gotErr := parseJSON(tbl, body, take())
	if describe(wantErr) != describe(gotErr) {
		t.Fatalf("table %s, body %.300q: error %q, want %q", tbl.Name, body, describe(gotErr), describe(wantErr))
	}
	paths := []struct {
		name  string
		parse func(*dictionary.Table, []byte, *rows) bool
		took  *bool
	}{{"plainJSON", plainJSON, &plain}, {"scanJSON", scanJSON, &fast}}
	for _, p := range paths {
		r := take()
		if !p.parse(tbl, body, r) {
			continue
		}
		items := r.items
		*p.took = true
		if wantErr != nil {
			t.Fatalf("table %s, body %.300q: %s took a body the reference refuses with %q", tbl.Name, body, p.name, describe(wantErr))
		}
		refuseDuplicates(tbl, items)
		if diff := cmp.Diff(view(tbl, want), view(tbl, items)); diff != "" {
			t.Fatalf("table %s, body %.300q: items differ (-reference +%s):\n%s", tbl.Name, body, p.name, diff)
		}
	}
	refuseDuplicates(tbl, got)
	if diff := cmp.Diff(view(tbl, want), view(tbl, got)); diff != "" {
		t.Fatalf("table %s, body %.300q: items differ (-reference +parseJSON):\n%s", tbl.Name, body, diff)
	}
	return plain, fast
}

// hostileBodies are the JSON bodies of TestHostileBodies and FuzzInsert's
// seeds, and more on the edges of the one-pass path.
func hostileBodies() []string {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	row := `{"id": 1, "job": "a"}`
	nested := func(n int) string {
		return `{"rows": [{"id": 1, "job": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}]}`
	}
	many := strings.TrimSuffix(strings.Repeat(row+",", MaxRows+1), ",")
	return []string{
		`{"rows": [{"id": 1, "job": "a"}], "rows": [{"id": 2, "job": "b"}]}`,
		`{"rows": [], "\u0072ows": [{"id": 2, "job": "b"}]}`,
		`{"\u0072ows": [{"id": 2, "job": "b"}]}`,
		`{"Rows": [{"id": 2, "job": "b"}]}`,
		`{"rows": null}`,
		`{"rows": []}`,
		`{}`,
		`{"rows": [` + row + `], "other": 1}`,
		`{"other": 1, "rows": [` + row + `]}`,
		`[{"id": 1, "job": "a"}]`,
		"\ufeff" + `{"rows": [{"id": 1, "job": "a"}]}`,
		`{"rows": [` + deep + `]}`,
		`{"rows": [` + strings.Repeat("[", 200000),
		nested(61), nested(62), nested(63),
		`{"rows": [{"id": 1, "job": "a"}]}{"rows": []}`,
		`{"rows": [{"id": 1, "job": "a}]}`,
		"{\"rows\": [{\"id\": 1, \"job\": \"a\"}]}\x00",
		"{\"rows\": [{\"id\": 1, \"job\": \"a\"}]} \n",
		`{"rows": [{"id": 10, "job": "a", "job": "b"}, {"id": 11, "job": "c"}]}`,
		`{"rows": [{"id": 12, "job": "a", "salary": 1}, {"id": 13, "job": "c"}]}`,
		`{"rows": [{"id": 20, "department": "Sales\u0000"}, {"id": 21, "department": "Ops"}]}`,
		`{"rows": [{"id": 22, "job": "\u0007ring"}, {"id": 23, "job": "Ops"}]}`,
		`{"rows": [{"id": 24, "job": "x\u007f"}, {"id": 25, "job": "Ops"}]}`,
		`{"rows": [{"id": 26, "name": "Ann\nBo", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}]}`,
		"{\"rows\": [{\"id\": 29, \"job\": \"Jos\xe9\"}, {\"id\": 30, \"job\": \"Ops\"}]}",
		"{\"rows\": [{\"id\": 29, \"jo\xe9\": \"Jos\"}, {\"id\": 30, \"job\": \"Ops\"}]}",
		"{\"rows\": [{\"id\": 29, \"job\": \"a\"}]" + "\xff}",
		`{"rows": [{"id": 31, "department": "=HYPERLINK(\"http://evil.example/\",\"x\")"}]}`,
		`{"rows": [{"id": 1.5, "job": "a"}, {"id": 33, "job": "b"}]}`,
		`{"rows": [{"id": 1e400, "job": "a"}, {"id": 34, "job": "b"}]}`,
		`{"rows": [{"id": "35", "job": "a"}, {"id": 36, "job": "b"}]}`,
		`{"rows": [{"id": 37, "job": {"$gt": ""}}, {"id": 38, "job": "b"}]}`,
		`{"rows": [[39, "a"], {"id": 40, "job": "b"}]}`,
		`{"rows": [null, {"id": 41, "job": "b"}, 1, "s", true]}`,
		`{"rows": [{"id": 1, "job": "a\ud800"}, {"id": 2, "job": "\u00e9\t"}]}`,
		`{"rows": [{"id": 1, "job": "a"}, {"id": 1, "job": "b"}]}`,
		`{"rows": [{"id": 1, "job": "a"},]}`,
		`{"rows": [{"id": 01, "job": "a"}]}`,
		`{"rows": [{"id": -0, "job": "a"}]}`,
		`{"rows": [` + many + `]}`,
		`{"rows": [{"id": 1, "job": "x"}]}`,
		`{"rows": [{"id": 1, "name": "a", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}, {"id": "x"}]}`,
		`{"rows": [{}, [], 1, null, "s"]}`,
		`{"rows":[{"id":1,"job":"a"}],"rows":1}`,
		` {"rows" : [ {"id" : 1 , "job" : "a b" } ] } `,
		`{"rows": [{"id": 1, "job": "a"}] `,
		``,
		`null`,
	}
}

// generatedBody returns a batch of n rows of tbl with random white space:
// some valid, some with a defect, or, clean, all valid, with their
// members in the order of the fields or, in some rows, shuffled.
func generatedBody(rng *rand.Rand, tbl *dictionary.Table, n int, clean bool) []byte {
	space := func() string { return []string{"", " ", "\n\t", "\r\n  "}[rng.IntN(4)] }
	defect := func(n int) int {
		if clean {
			return -1
		}
		return rng.IntN(n)
	}
	value := func(f dictionary.Field) string {
		switch defect(12) {
		case 0:
			return "null"
		case 1:
			return `""`
		case 2:
			return `"\u0041\n"`
		case 3:
			return "-3"
		case 4:
			return "1.0"
		case 5:
			return `"Jos` + "\xe9" + `"`
		case 6:
			return `"` + strings.Repeat("é", 300) + `"`
		}
		switch f.Type {
		case dictionary.Integer:
			return fmt.Sprint(1 + rng.IntN(300))
		case dictionary.Timestamp:
			forms := []string{`"2021-07-27T16:02:08Z"`, `"2021-07-27T16:02:08.123456+01:00"`, `"2021-07-27T16:02:08.1234567Z"`, `"2021-07-27"`}
			if clean {
				forms = forms[:2]
			}
			return forms[rng.IntN(len(forms))]
		default:
			return fmt.Sprintf(`"Name %d"`, rng.IntN(1000))
		}
	}
	var b strings.Builder
	b.WriteString(`{` + space() + `"rows"` + space() + `:` + space() + `[`)
	for i := range n {
		if i > 0 {
			b.WriteString("," + space())
		}
		b.WriteString("{" + space())
		first := true
		fields := slices.Clone(tbl.Fields)
		if rng.IntN(4) == 0 {
			rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		}
		for _, f := range fields {
			if defect(20) == 0 {
				continue
			}
			name := f.Name
			switch defect(40) {
			case 0:
				name = "unknown"
			case 1:
				name = tbl.Fields[0].Name
			}
			if !first {
				b.WriteString("," + space())
			}
			first = false
			b.WriteString(`"` + name + `"` + space() + ":" + space() + value(f) + space())
		}
		b.WriteString("}")
	}
	b.WriteString(space() + "]" + space() + "}")
	return []byte(b.String())
}

func TestParseJSON_differential(t *testing.T) {
	t.Parallel()
	tables := dictionary.Default().Tables()
	for _, body := range hostileBodies() {
		for _, tbl := range tables {
			checkSameDecode(t, tbl, []byte(body))
		}
	}
	rng := rand.New(rand.NewPCG(14, 1))
	plain, fast, bodies := 0, 0, 0
	check := func(tbl *dictionary.Table, body []byte) {
		p, f := checkSameDecode(t, tbl, body)
		bodies++
		if p {
			plain++
		}
		if f {
			fast++
		}
	}
	for range 300 {
		tbl := tables[rng.IntN(len(tables))]
		check(tbl, generatedBody(rng, tbl, 1+rng.IntN(40), rng.IntN(3) == 0))
	}
	for _, tbl := range tables {
		check(tbl, generatedBody(rng, tbl, MaxRows, false))
		check(tbl, generatedBody(rng, tbl, MaxRows, true))
	}
	// The comparison means something only if the one-pass paths took
	// bodies.
	if plain < 80 || fast < 100 {
		t.Errorf("of %d generated bodies, plainJSON took %d, want at least 80, and scanJSON %d, want at least 100", bodies, plain, fast)
	}
}

// FuzzDecodeDifferential compares parseJSON with parseJSONStrict.
func FuzzDecodeDifferential(f *testing.F) {
	for _, body := range hostileBodies() {
		if len(body) < 4096 {
			f.Add(uint8(0), []byte(body))
		}
	}
	rng := rand.New(rand.NewPCG(14, 2))
	tables := dictionary.Default().Tables()
	for i := range len(tables) {
		f.Add(uint8(i), generatedBody(rng, tables[i], 3, false))
		f.Add(uint8(i), generatedBody(rng, tables[i], 3, true))
	}
	f.Fuzz(func(t *testing.T, tableIndex uint8, body []byte) {
		checkSameDecode(t, tables[int(tableIndex)%len(tables)], body)
	})
}
