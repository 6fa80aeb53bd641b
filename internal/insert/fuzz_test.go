package insert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
)

// memAppender keeps appended rows in memory: the fuzz target exercises the
// request handling, not BigQuery.
type memAppender struct {
	mu   sync.Mutex
	rows int
}

func (m *memAppender) Append(_ context.Context, _ string, _ bigquery.Schema, rows [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rows {
		if len(r) == 0 {
			panic("an empty row: every table has a REQUIRED column")
		}
	}
	m.rows += len(rows)
	return nil
}

// FuzzInsert sends arbitrary JSON and CSV bodies: the answer is never a 5xx,
// never a panic, and an accepted batch accounts for every row.
func FuzzInsert(f *testing.F) {
	for _, seed := range []string{
		`{"rows": [{"id": 1, "job": "x"}]}`,
		`{"rows": [{"id": 1, "name": "a", "datetime": "2021-01-01T00:00:00Z", "department_id": 1, "job_id": 1}, {"id": "x"}]}`,
		`{"rows": [{}, [], 1, null, "s"]}`,
		"1,Sales\r\n2,\"Ops\"\r\n",
		"id,department\n\"unterminated",
	} {
		f.Add([]byte(seed), seed[0] != '{', "jobs")
	}
	svc, err := insert.NewService(insert.Options{Dictionary: dictionary.Default(), Appender: &memAppender{}, Transient: func(error) bool { return true },
		Claims: newClaims(f), MaxBodyBytes: 1 << 20, Timeout: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	guard, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		f.Fatal(err)
	}
	h := svc.Handler(guard)
	f.Fuzz(func(t *testing.T, body []byte, csv bool, table string) {
		ct := "application/json"
		if csv {
			ct = "text/csv"
		}
		req := httptest.NewRequest(http.MethodPost, "/tables/departments/rows", bytes.NewReader(body))
		if table == "hired_employees" || table == "jobs" {
			req = httptest.NewRequest(http.MethodPost, "/tables/"+table+"/rows", bytes.NewReader(body))
		}
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			var res insert.Result
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("200 answer is not a result: %v", err)
			}
			if res.Inserted+len(res.Refused) != res.Received || res.Received < 1 || res.Received > insert.MaxRows {
				t.Fatalf("result does not add up: %+v", res)
			}
		}
	})
}
