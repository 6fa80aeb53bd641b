package insert_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestHostileBodies sends bodies an attacker or a broken client would send.
// Each answers a precise 4xx or a 200 with exact inserted and refused
// counts, never a 5xx (the answers are validated against the OpenAPI
// document), and the tables end with exactly the rows the answers report.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	const (
		dept  = "/tables/departments/rows"
		jobs  = "/tables/jobs/rows"
		hired = "/tables/hired_employees/rows"
		js    = "application/json"
		csv   = "text/csv"
	)
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	manyDuplicates := make([]string, insert.MaxRows)
	for i := range manyDuplicates {
		manyDuplicates[i] = `{"id": 500, "job": "Same"}`
	}
	cases := []struct {
		name, path, contentType, body string
		status                        int
		code                          string          // of a 4xx problem
		inserted, refused             int             // of a 200
		rule                          dictionary.Rule // of the first refused row, if any
	}{
		// The envelope.
		{"rows twice", jobs, js, `{"rows": [{"id": 1, "job": "a"}], "rows": [{"id": 2, "job": "b"}]}`, 400, "malformed_body", 0, 0, ""},
		{"rows twice, escaped", jobs, js, `{"rows": [], "\u0072ows": [{"id": 2, "job": "b"}]}`, 400, "malformed_body", 0, 0, ""},
		{"rows null", jobs, js, `{"rows": null}`, 400, "malformed_body", 0, 0, ""},
		{"top-level array", jobs, js, `[{"id": 1, "job": "a"}]`, 400, "malformed_body", 0, 0, ""},
		{"byte order mark", jobs, js, "\ufeff" + `{"rows": [{"id": 1, "job": "a"}]}`, 400, "malformed_body", 0, 0, ""},
		{"nested 20000 deep", jobs, js, `{"rows": [` + deep + `]}`, 400, "malformed_body", 0, 0, ""},
		{"nested 2 million deep", jobs, js, `{"rows": [` + strings.Repeat("[", 2_000_000), 400, "malformed_body", 0, 0, ""},
		{"second object", jobs, js, `{"rows": [{"id": 1, "job": "a"}]}{"rows": []}`, 400, "malformed_body", 0, 0, ""},
		{"unterminated string", jobs, js, `{"rows": [{"id": 1, "job": "a}]}`, 400, "malformed_body", 0, 0, ""},
		{"NUL outside strings", jobs, js, "{\"rows\": [{\"id\": 1, \"job\": \"a\"}]}\x00", 400, "malformed_body", 0, 0, ""},
		// Rows.
		{"a row's member twice", jobs, js, `{"rows": [{"id": 10, "job": "a", "job": "b"}, {"id": 11, "job": "c"}]}`, 200, "", 1, 1, dictionary.RuleDuplicateField},
		{"a row's unknown member", jobs, js, `{"rows": [{"id": 12, "job": "a", "salary": 1}, {"id": 13, "job": "c"}]}`, 200, "", 1, 1, dictionary.RuleUnknownField},
		{"NUL in a string", dept, js, `{"rows": [{"id": 20, "department": "Sales\u0000"}, {"id": 21, "department": "Ops"}]}`, 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"bell in a string", jobs, js, `{"rows": [{"id": 22, "job": "\u0007ring"}, {"id": 23, "job": "Ops"}]}`, 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"DEL in a string", jobs, js, `{"rows": [{"id": 24, "job": "x\u007f"}, {"id": 25, "job": "Ops"}]}`, 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"newline in a name", hired, js, `{"rows": [{"id": 26, "name": "Ann\nBo", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}]}`, 422, "no_valid_rows", 0, 0, ""},
		{"tab in a name", hired, js, `{"rows": [{"id": 27, "name": "Ann\tBo", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}, {"id": 28, "name": "Cy", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}]}`, 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"invalid UTF-8", jobs, js, "{\"rows\": [{\"id\": 29, \"job\": \"Jos\xe9\"}, {\"id\": 30, \"job\": \"Ops\"}]}", 200, "", 1, 1, dictionary.RuleEncoding},
		{"a formula is data", dept, js, `{"rows": [{"id": 31, "department": "=HYPERLINK(\"http://evil.example/\",\"x\")"}]}`, 200, "", 1, 0, ""},
		{"script is data", dept, js, `{"rows": [{"id": 32, "department": "<script>alert(1)</script>"}]}`, 200, "", 1, 0, ""},
		{"id as a fraction", jobs, js, `{"rows": [{"id": 1.5, "job": "a"}, {"id": 33, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"id past 64 bits", jobs, js, `{"rows": [{"id": 1e400, "job": "a"}, {"id": 34, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"id as a string", jobs, js, `{"rows": [{"id": "35", "job": "a"}, {"id": 36, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"an object as a name", jobs, js, `{"rows": [{"id": 37, "job": {"$gt": ""}}, {"id": 38, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"a row that is an array", jobs, js, `{"rows": [[39, "a"], {"id": 40, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"a row that is null", jobs, js, `{"rows": [null, {"id": 41, "job": "b"}]}`, 200, "", 1, 1, dictionary.RuleType},
		{"1000 rows of one id", jobs, js, `{"rows": [` + strings.Join(manyDuplicates, ",") + `]}`, 200, "", 1, 999, dictionary.RuleDuplicateInBatch},
		// CSV bodies.
		{"CSV NUL in a field", dept, csv, "50,Sales\x00\n51,Ops\n", 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"CSV bare quote", jobs, csv, "52,Jo\"b\n53,Ops\n", 200, "", 1, 1, dictionary.RuleMalformed},
		{"CSV unterminated quote", jobs, csv, "53,\"Job\n54,Ops\n", 422, "no_valid_rows", 0, 0, ""},
		{"CSV extra field", jobs, csv, "55,Job,extra\n56,Ops\n", 200, "", 1, 1, dictionary.RuleFieldCount},
		{"CSV newline in a quoted name", jobs, csv, "57,\"Job\nTwo\"\n58,Ops\n", 200, "", 1, 1, dictionary.RuleControlCharacter},
		{"CSV formula is data", dept, csv, "59,\"=1+2\"\n60,@SUM(A1)\n", 200, "", 2, 0, ""},
		{"CSV record over 64 KiB", jobs, csv, "63," + strings.Repeat("x", 70<<10) + "\n64,Ops\n", 200, "", 1, 1, dictionary.RuleRecordTooLong},
		{"CSV record of 100 fields", jobs, csv, "65" + strings.Repeat(",x", 99) + "\n66,Ops\n", 200, "", 1, 1, dictionary.RuleTooManyFields},
		{"CSV header only", jobs, csv, "id,job\n", 400, "batch_size", 0, 0, ""},
		{"CSV invalid UTF-8", jobs, csv, "61,Jos\xe9\n62,Ops\n", 200, "", 1, 1, dictionary.RuleEncoding},
	}
	var mu sync.Mutex
	inserted := map[string]int{}
	t.Run("cases", func(t *testing.T) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := e.do(t, "POST", tc.path, tc.contentType, "", []byte(tc.body), "Idempotency-Key", fmt.Sprintf("hostile-%d", i))
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %.300s", r.status, tc.status, r.body)
				}
				if tc.code != "" {
					if got := problemCode(t, r); got != tc.code {
						t.Errorf("code %q, want %q", got, tc.code)
					}
					return
				}
				var res insert.Result
				if err := json.Unmarshal(r.body, &res); err != nil {
					t.Fatal(err)
				}
				if res.Inserted != tc.inserted || len(res.Refused) != tc.refused {
					t.Fatalf("inserted %d, refused %d, want %d and %d: %.300s", res.Inserted, len(res.Refused), tc.inserted, tc.refused, r.body)
				}
				if tc.rule != "" && res.Refused[0].Errors[0].Rule != tc.rule {
					t.Errorf("first refusal %+v, want rule %s", res.Refused[0], tc.rule)
				}
				mu.Lock()
				inserted[res.Table] += res.Inserted
				mu.Unlock()
			})
		}
	})
	for _, table := range []string{"departments", "jobs", "hired_employees"} {
		got := testutil.Query(t, e.bq.Query("SELECT COUNT(*) FROM hiring."+table+"_raw"))
		if got[0][0] != int64(inserted[table]) {
			t.Errorf("%s_raw has %v rows, the answers inserted %d", table, got[0][0], inserted[table])
		}
	}
}

// TestRefusedRowsNotLogged refuses rows whose every refused part holds a
// secret: the log lines of the refusals name rows, fields and rules, and
// never the secret.
func TestRefusedRowsNotLogged(t *testing.T) {
	t.Parallel()
	var logs testutil.SyncBuffer
	st, err := stack.Start(context.Background(), stack.Options{Functions: []function.Definition{insertrows.Definition},
		Logger: logging.New(&logs, slog.LevelInfo)})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	e := &env{st: st, url: strings.TrimSuffix(st.Config().Functions["insert-rows"], "/")}
	const secret = "Jane Privateperson"
	body := jsonRows(
		`{"id": 1, "name": "`+secret+`", "datetime": "`+secret+`", "department_id": 1, "job_id": 1}`,
		`{"id": 2, "name": "`+secret+`\u0000", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}`,
		`{"id": 3, "name": "x", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1, "`+secret+`": 1}`,
		`{"id": "`+secret+`", "name": "x", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}`,
		`{"id": 5, "name": "`+strings.Repeat("x", 300)+secret+`", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}`,
	)
	r := e.do(t, "POST", "/tables/hired_employees/rows", "application/json", "", body)
	if r.status != 422 {
		t.Fatalf("status %d, want 422: %.300s", r.status, r.body)
	}
	if n := strings.Count(logs.String(), `"message":"row refused"`); n != 5 {
		t.Errorf("%d refusals logged, want 5:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "Jane") {
		t.Errorf("the logs carry a refused value:\n%s", logs.String())
	}
}
