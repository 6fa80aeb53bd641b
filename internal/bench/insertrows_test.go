package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bench"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

func startStack(t *testing.T, withAuth bool) *stack.Stack {
	t.Helper()
	st, err := stack.Start(context.Background(), stack.Options{Auth: withAuth, Functions: []function.Definition{insertrows.Definition}})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

func TestInsertRows(t *testing.T) {
	t.Parallel()
	st := startStack(t, true)
	rep, err := bench.InsertRows(context.Background(), bench.InsertRowsOptions{Stack: st.Config(), Clients: 2, Duration: time.Second, Rows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v, want none", rep.Errors)
	}
	if rep.Requests == 0 || rep.Inserted != int64(rep.Requests)*10 {
		t.Errorf("%d requests and %d rows inserted, want 10 rows per request", rep.Requests, rep.Inserted)
	}
	if c := rep.Check; !c.OK || c.Difference != 0 || c.After-c.Before != rep.Inserted || c.Inserted != rep.Inserted {
		t.Errorf("row check %+v, want %d more rows seen", c, rep.Inserted)
	}
	if !(rep.RequestsPerSec > 0 && rep.RowsPerSec > 0 && rep.Seconds > 0) {
		t.Errorf("throughput %+v, want positive figures", rep)
	}
	if l := rep.Latency; !(l.P50 > 0 && l.P50 <= l.P99 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency %+v, want 0 < p50 <= p95 <= p99 <= max", l)
	}
	if c := rep.CPU; !(c.MsPerBatch > 0 && c.Cores > 0 && c.Shared && len(c.PIDs) == 1 && c.Unavailable == "") {
		t.Errorf("CPU %+v, want positive figures for the one process of the stack, shared", c)
	}

	// A second run sees the rows of the first and inserts new ones.
	again, err := bench.InsertRows(context.Background(), bench.InsertRowsOptions{Stack: st.Config(), Clients: 1, Duration: 200 * time.Millisecond, Rows: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := again.Check; c.Before != rep.Check.After || !c.OK || again.Inserted == 0 {
		t.Errorf("second run: row check %+v with %d inserted, want it to start at %d and pass", c, again.Inserted, rep.Check.After)
	}
}

// TestInsertRows_Refused checks that requests without a 200 are counted by
// status and problem code.
func TestInsertRows_Refused(t *testing.T) {
	t.Parallel()
	cfg := startStack(t, true).Config()
	cfg.Auth.Tokens = map[string]string{"writer": "not-the-writer-token"}
	rep, err := bench.InsertRows(context.Background(), bench.InsertRowsOptions{Stack: cfg, Clients: 2, Duration: 200 * time.Millisecond, Table: "jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Errors["401 unauthenticated"] != int(rep.Requests) || len(rep.Errors) != 1 {
		t.Errorf("%d requests, errors %v, want every one 401 unauthenticated", rep.Requests, rep.Errors)
	}
	if rep.Inserted != 0 || !rep.Check.OK || rep.Check.After != rep.Check.Before {
		t.Errorf("inserted %d, check %+v, want nothing inserted or seen", rep.Inserted, rep.Check)
	}
}

// TestInsertRows_CheckFails points the load at a function that answers 200
// without writing: the row check must report the missing rows.
func TestInsertRows_CheckFails(t *testing.T) {
	t.Parallel()
	cfg := startStack(t, false).Config()
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"table":"departments","inserted":3,"refused":[]}`))
	}))
	t.Cleanup(liar.Close)
	cfg.Functions = map[string]string{"insert-rows": liar.URL + "/"}
	rep, err := bench.InsertRows(context.Background(), bench.InsertRowsOptions{Stack: cfg, Clients: 1, Duration: 100 * time.Millisecond, Rows: 3, Table: "departments"})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Check; c.OK || c.Difference != -rep.Inserted || rep.Inserted == 0 {
		t.Errorf("row check %+v with %d inserted, want it to fail by all of them", c, rep.Inserted)
	}
}

func TestInsertRows_BadOptions(t *testing.T) {
	t.Parallel()
	cfg := stack.Config{Functions: map[string]string{"insert-rows": "http://127.0.0.1:1/insert-rows/"}}
	cases := []struct {
		name string
		opts bench.InsertRowsOptions
	}{
		{"unknown table", bench.InsertRowsOptions{Stack: cfg, Table: "salaries"}},
		{"too many rows", bench.InsertRowsOptions{Stack: cfg, Rows: 1001}},
		{"negative clients", bench.InsertRowsOptions{Stack: cfg, Clients: -1}},
		{"negative duration", bench.InsertRowsOptions{Stack: cfg, Duration: -time.Second}},
		{"no insert-rows", bench.InsertRowsOptions{Stack: stack.Config{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := bench.InsertRows(context.Background(), tc.opts); err == nil {
				t.Error("no error")
			}
		})
	}
}
