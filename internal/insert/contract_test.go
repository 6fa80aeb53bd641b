package insert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/idempotency"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// env is a local stack with insert-rows mounted.
type env struct {
	st  *stack.Stack
	url string
	bq  *bigquery.Client
}

func newEnv(t *testing.T, withAuth bool) *env {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Options{Auth: withAuth, Functions: []function.Definition{insertrows.Definition}})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	bq, err := bigquery.NewClient(context.Background(), cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bq.Close() })
	return &env{st: st, url: strings.TrimSuffix(cfg.Functions["insert-rows"], "/"), bq: bq}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to insert-rows and validates the answer against the
// OpenAPI document.
func (e *env) do(t *testing.T, method, path, contentType, token string, body []byte, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	testutil.ValidateResponse(t, insert.OpenAPI(dictionary.Default()), req, resp.StatusCode, resp.Header, data)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func problemCode(t *testing.T, r response) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("not a problem: %v\n%s", err, r.body)
	}
	return p.Code
}

func jsonRows(rows ...string) []byte {
	return []byte(`{"rows": [` + strings.Join(rows, ",") + `]}`)
}

// jobRows returns n valid jobs rows with ids from first.
func jobRows(first, n int) []string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"id": %d, "job": "Job %d"}`, first+i, first+i)
	}
	return rows
}

func TestContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	big := bytes.Repeat([]byte(" "), 2<<20+1)
	tooMany := jsonRows(jobRows(1, 1001)...)
	cases := []struct {
		name, method, path, contentType string
		body                            []byte
		header                          []string
		status                          int
		code                            string
	}{
		{"valid JSON", "POST", "/tables/jobs/rows", "application/json", jsonRows(jobRows(1, 3)...), nil, 200, ""},
		{"valid CSV with a header", "POST", "/tables/departments/rows", "text/csv", []byte("id,department\r\n1,Sales\r\n2,Ops\r\n"), nil, 200, ""},
		{"JSON with charset", "POST", "/tables/jobs/rows", "application/json; charset=utf-8", jsonRows(jobRows(10, 1)...), nil, 200, ""},
		{"partial batch", "POST", "/tables/jobs/rows", "application/json", jsonRows(`{"id": 20, "job": "x"}`, `{"id": 0, "job": "y"}`), nil, 200, ""},
		{"malformed JSON", "POST", "/tables/jobs/rows", "application/json", []byte(`{"rows": [`), nil, 400, "malformed_body"},
		{"unknown member", "POST", "/tables/jobs/rows", "application/json", []byte(`{"rows": [{"id": 1, "job": "x"}], "extra": 1}`), nil, 400, "malformed_body"},
		{"trailing data", "POST", "/tables/jobs/rows", "application/json", []byte(`{"rows": [{"id": 1, "job": "x"}]} {}`), nil, 400, "malformed_body"},
		{"rows of the wrong type", "POST", "/tables/jobs/rows", "application/json", []byte(`{"rows": {"id": 1}}`), nil, 400, "malformed_body"},
		{"no rows member", "POST", "/tables/jobs/rows", "application/json", []byte(`{}`), nil, 400, "malformed_body"},
		{"empty batch", "POST", "/tables/jobs/rows", "application/json", []byte(`{"rows": []}`), nil, 400, "batch_size"},
		{"empty CSV", "POST", "/tables/jobs/rows", "text/csv", []byte("\r\n"), nil, 400, "batch_size"},
		{"1001 rows", "POST", "/tables/jobs/rows", "application/json", tooMany, nil, 400, "batch_size"},
		{"bad atomic", "POST", "/tables/jobs/rows?atomic=maybe", "application/json", jsonRows(jobRows(1, 1)...), nil, 400, "invalid_parameter"},
		{"bad idempotency key", "POST", "/tables/jobs/rows", "application/json", jsonRows(jobRows(1, 1)...), []string{"Idempotency-Key", "has space"}, 400, "invalid_idempotency_key"},
		{"unknown table", "POST", "/tables/salaries/rows", "application/json", jsonRows(`{"id": 1}`), nil, 404, "unknown_table"},
		{"GET", "GET", "/tables/jobs/rows", "", nil, nil, 405, "method_not_allowed"},
		{"DELETE", "DELETE", "/tables/jobs/rows", "", nil, nil, 405, "method_not_allowed"},
		{"body too large", "POST", "/tables/jobs/rows", "application/json", big, nil, 413, "body_too_large"},
		{"text/plain", "POST", "/tables/jobs/rows", "text/plain", []byte("1,x"), nil, 415, "unsupported_media_type"},
		{"no content type", "POST", "/tables/jobs/rows", "", []byte("1,x"), nil, 415, "unsupported_media_type"},
		{"no valid row", "POST", "/tables/jobs/rows", "application/json", jsonRows(`{"id": -1, "job": "x"}`, `{"job": ""}`), nil, 422, "no_valid_rows"},
		{"atomic with an invalid row", "POST", "/tables/jobs/rows?atomic=true", "application/json", jsonRows(`{"id": 30, "job": "x"}`, `{"id": "31", "job": "y"}`), nil, 422, "invalid_rows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, tc.method, tc.path, tc.contentType, "", tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if got := problemCode(t, r); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
		})
	}
	r := e.do(t, "GET", "/openapi.json", "", "", nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"openapi":"3.0.3"`)) {
		t.Errorf("GET /openapi.json: %d %.200s", r.status, r.body)
	}
}

// TestInsert_Values checks the answer and what lands, value by value.
func TestInsert_Values(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	body := jsonRows(`{"id": 7, "name": "Ann", "datetime": "2021-07-27T18:02:08.123456+02:00", "department_id": 1, "job_id": 2}`,
		`{"id": 8, "name": "Bo", "datetime": "2021-13-01T00:00:00Z", "department_id": 1, "job_id": 2, "extra": true}`,
		`{"id": 7, "name": "Again", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 2}`)
	r := e.do(t, "POST", "/tables/hired_employees/rows", "application/json", "", body, "Idempotency-Key", "values-1")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res insert.Result
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Received != 3 || res.Inserted != 1 || len(res.Refused) != 2 || res.IngestionID != "api:hired_employees:values-1" {
		t.Fatalf("result %+v", res)
	}
	if f := res.Refused[0]; f.Index != 1 || f.ID != float64(8) || len(f.Errors) != 2 || f.Errors[0].Rule != dictionary.RuleFormat || f.Errors[1].Rule != dictionary.RuleUnknownField {
		t.Errorf("first refusal %+v", f)
	}
	if f := res.Refused[1]; f.Index != 2 || f.Errors[0].Rule != dictionary.RuleDuplicateInBatch {
		t.Errorf("second refusal %+v", f)
	}
	rows := testutil.Query(t, e.bq.Query("SELECT id, name, datetime, _ingestion_id, _ordinal FROM hiring.hired_employees_raw"))
	if len(rows) != 1 || rows[0][1] != "Ann" || rows[0][2].(interface{ UnixMicro() int64 }).UnixMicro() != 1627401728123456 || rows[0][3] != "api:hired_employees:values-1" || rows[0][4] != int64(0) {
		t.Errorf("raw rows %v", rows)
	}
	rows = testutil.Query(t, e.bq.Query("SELECT row_number, rule, field, source_object, raw FROM hiring.rejected_rows ORDER BY row_number"))
	want := [][]bigquery.Value{
		{int64(1), "format", "datetime", nil, `{"id":8,"name":"Bo","datetime":"2021-13-01T00:00:00Z","department_id":1,"job_id":2,"extra":true}`},
		{int64(2), "duplicate_in_batch", "id", nil, `{"id":7,"name":"Again","datetime":"2021-01-01T00:00:00Z","department_id":1,"job_id":2}`},
	}
	if fmt.Sprint(want) != fmt.Sprint(rows) {
		t.Errorf("rejected rows\n got %v\nwant %v", rows, want)
	}
}

// TestInsert_PartialBatch sends 1000 rows of which 70 are invalid.
func TestInsert_PartialBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	rows := jobRows(1, 1000)
	for i := 0; i < 70; i++ {
		rows[i*14] = fmt.Sprintf(`{"id": %d, "job": ""}`, i*14+1)
	}
	r := e.do(t, "POST", "/tables/jobs/rows", "application/json", "", jsonRows(rows...))
	var res insert.Result
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 {
		t.Fatalf("%d %v %s", r.status, err, r.body)
	}
	if res.Inserted != 930 || len(res.Refused) != 70 {
		t.Errorf("inserted %d, refused %d; want 930 and 70", res.Inserted, len(res.Refused))
	}
	for _, f := range res.Refused {
		if f.Errors[0].Rule != "required" || f.Errors[0].Field != "job" {
			t.Errorf("refusal %+v", f)
		}
	}
	count := func(sql string) int64 { return testutil.Query(t, e.bq.Query(sql))[0][0].(int64) }
	if n := count("SELECT COUNT(*) FROM hiring.jobs"); n != 930 {
		t.Errorf("readers see %d jobs, want 930", n)
	}
	if n := count("SELECT COUNT(*) FROM hiring.rejected_rows WHERE table_name = 'jobs' AND rule = 'required'"); n != 70 {
		t.Errorf("rejected_rows holds %d rows, want 70", n)
	}
}

// TestInsert_Idempotent sends the same batch 10 times with a key: every
// answer is the first, byte for byte, marked as a replay, and readers see
// the batch once; the key with another body is refused.
func TestInsert_Idempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	body := jsonRows(append(jobRows(100, 5), `{"id": 0, "job": "bad"}`)...)
	snapshot := func() string {
		return fmt.Sprint(testutil.Query(t, e.bq.Query("SELECT id, job FROM hiring.jobs ORDER BY id")))
	}
	key := []string{"Idempotency-Key", "batch-42"}
	first := e.do(t, "POST", "/tables/jobs/rows", "application/json", "", body, key...)
	if first.status != 200 || first.header.Get(insert.ReplayedHeader) != "" {
		t.Fatalf("first answer: %d %v %s", first.status, first.header, first.body)
	}
	seen := snapshot()
	for i := 1; i < 10; i++ {
		// White space is not part of the request.
		r := e.do(t, "POST", "/tables/jobs/rows", "application/json", "", bytes.ReplaceAll(body, []byte(", "), []byte(",\n  ")), key...)
		if r.status != 200 || !bytes.Equal(r.body, first.body) || r.header.Get(insert.ReplayedHeader) != "true" {
			t.Errorf("attempt %d answered %d %s %q, want the first answer replayed:\n%s", i, r.status, r.header.Get(insert.ReplayedHeader), r.body, first.body)
		}
	}
	if now := snapshot(); now != seen {
		t.Errorf("the replays changed what readers see:\n%s\n%s", seen, now)
	}
	for name, variant := range map[string]struct {
		path, contentType string
		body              []byte
	}{
		"another body":       {"/tables/jobs/rows", "application/json", jsonRows(jobRows(100, 4)...)},
		"atomic":             {"/tables/jobs/rows?atomic=true", "application/json", body},
		"another media type": {"/tables/jobs/rows", "text/csv", []byte("100,Job 100\r\n")},
	} {
		r := e.do(t, "POST", variant.path, variant.contentType, "", variant.body, key...)
		if r.status != 422 || problemCode(t, r) != "idempotency_key_reused" {
			t.Errorf("%s with the same key: %d %s, want 422 idempotency_key_reused", name, r.status, r.body)
		}
	}
	if now := snapshot(); now != seen {
		t.Errorf("the refused requests changed what readers see:\n%s\n%s", seen, now)
	}
	counts := testutil.Query(t, e.bq.Query("SELECT (SELECT COUNT(*) FROM hiring.jobs_raw), (SELECT COUNT(*) FROM hiring.rejected_rows)"))[0]
	if counts[0] != int64(5) || counts[1] != int64(1) {
		t.Errorf("jobs_raw has %v rows and rejected_rows %v, want 5 and 1", counts[0], counts[1])
	}
}

// TestInsert_NoKey: without a key every request is a new batch, so a batch
// sent again after another one wins again (A, B, A leaves A).
func TestInsert_NoKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a, b := jsonRows(`{"id": 7, "job": "A"}`), jsonRows(`{"id": 7, "job": "B"}`)
	var ids []string
	for i, body := range [][]byte{a, b, a} {
		r := e.do(t, "POST", "/tables/jobs/rows", "application/json", "", body)
		var res insert.Result
		if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 || res.Inserted != 1 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		ids = append(ids, res.IngestionID)
	}
	if ids[0] == ids[2] {
		t.Errorf("two requests share the ingestion id %s", ids[0])
	}
	got := testutil.Query(t, e.bq.Query("SELECT job, (SELECT COUNT(*) FROM hiring.jobs_raw) FROM hiring.jobs WHERE id = 7"))
	if want := [][]bigquery.Value{{"A", int64(3)}}; !cmp.Equal(got, want) {
		t.Errorf("readers see %v, want %v", got, want)
	}
}

// TestInsert_Auth runs the 401 and 403 paths with static tokens.
func TestInsert_Auth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	tokens := e.st.Config().Auth.Tokens
	body := jsonRows(jobRows(1, 1)...)
	cases := []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"bad token", "not-a-token-at-all", 401},
		{"reader token", tokens["reader"], 403},
		{"writer token", tokens["writer"], 200},
		{"admin token", tokens["admin"], 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, "POST", "/tables/jobs/rows", "application/json", tc.token, body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
}

// newClaims returns a claims store on a Cloud Storage emulator of its own.
func newClaims(tb testing.TB) *idempotency.Store {
	tb.Helper()
	return newClaimsWithLease(tb, time.Minute)
}

// newClaimsWithLease is newClaims with a lease of its own.
func newClaimsWithLease(tb testing.TB, lease time.Duration) *idempotency.Store {
	tb.Helper()
	claims, err := idempotency.New(testutil.Storage(tb, "claims"), "claims", idempotency.Options{Prefix: insert.ClaimsPrefix, Lease: lease, Retention: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	return claims
}
