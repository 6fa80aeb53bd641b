package faultsuite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/functions/backuptables"
	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/functions/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/functions/restoretable"
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	bqemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	metricspkg "github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// inserters starts n clients that send keyed batches of 50 valid rows and
// one refused hired_employees row through the stack's URL, until the
// function it returns is called; that function waits for them and returns
// the rows inserted and the batches sent.
func inserters(t *testing.T, e *env, c *client, n int, firstID int64) (stop func() (inserted, batches int64)) {
	t.Helper()
	url := e.cfg.Functions["insert-rows"]
	var rows, sent atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	for cl := range n {
		wg.Go(func() {
			for b := 0; ; b++ {
				select {
				case <-done:
					return
				default:
				}
				const valid = 50
				key := fmt.Sprintf("inserter-%d-%d", cl, b)
				a, err := c.send(context.Background(), url, "hired_employees", key, employees(firstID+int64(cl)*1_000_000+int64(b)*valid, valid, 1))
				if err != nil || a.status != 200 {
					t.Errorf("%s: %v %d %s", key, err, a.status, a.body)
					return
				}
				rows.Add(valid)
				sent.Add(1)
			}
		})
	}
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return rows.Load(), sent.Load()
	}
}

// TestBigQueryFaults: BigQuery fails 30% of its calls for 5 s while
// clients insert and files load. Clients see 503 with Retry-After, never a
// 500; afterwards every batch and file is complete and nothing is doubled.
func TestBigQueryFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{insertrows.Definition, loadcsv.Definition}, nil)
	c := newClient()
	start := time.Now()
	stop := inserters(t, e, c, 8, 10_000_000)
	time.Sleep(500 * time.Millisecond)
	if err := e.st.SetBigQueryFaults(bqemu.Faults{Rate: 0.3, Until: time.Now().Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	objects := e.challengeFiles(t, "under-faults")
	time.Sleep(6 * time.Second)
	inserted, batches := stop()
	checkChallenge(t, e.waitLoaded(t, objects...))
	c.check(t)
	failed := e.st.BigQueryFaultsInjected()
	view := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees WHERE id >= 10000000")
	distinct := e.count(t, "SELECT COUNT(DISTINCT CONCAT(_ingestion_id, '#', CAST(_ordinal AS STRING))) FROM hiring.hired_employees_raw WHERE id >= 10000000")
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	rejected := e.count(t, "SELECT COUNT(*) FROM hiring.rejected_rows")
	t.Logf("%.1fs: %d BigQuery calls failed; 8 clients sent %d batches in %d requests (%v); %d rows inserted, %d in the view; "+
		"%d raw rows in all (%d distinct inserted); %d rejected; files: %v, the bridge's attempts %s %s %s",
		time.Since(start).Seconds(), failed, batches, sum(c.requests()), c.requests(), inserted, view, raw, distinct, rejected,
		e.waitLoaded(t, objects...), e.attempts(objects[0]), e.attempts(objects[1]), e.attempts(objects[2]))
	if failed == 0 {
		t.Error("no BigQuery call failed")
	}
	if view != inserted || distinct != inserted || raw != inserted+1929 {
		t.Errorf("the view has %d inserted rows, the raw table %d (%d distinct), want %d inserted and the file's 1929", view, raw, distinct, inserted)
	}
	if want := batches + 70; rejected != want {
		t.Errorf("rejected_rows has %d rows, want %d: one per batch and the file's 70", rejected, want)
	}
	e.checkCounts(t, counts{Departments: 12, Jobs: 183, HiredEmployees: 1929 + inserted, RejectedRows: batches + 70, IngestLog: 3})
}

// TestBackupDuringInserts: a backup taken while 8 clients insert holds
// exactly the rows visible at its snapshot time, and a restore gives
// exactly those.
func TestBackupDuringInserts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{insertrows.Definition, backuptables.Definition, restoretable.Definition}, nil)
	c := newClient()
	start := time.Now()
	stop := inserters(t, e, c, 8, 1)
	time.Sleep(1500 * time.Millisecond)
	var m backup.Manifest
	status := postJSON(t, e.cfg.Functions["backup-tables"], `{}`, &m)
	time.Sleep(1500 * time.Millisecond)
	inserted, batches := stop()
	if status != http.StatusCreated {
		t.Fatalf("backup: %d", status)
	}
	c.check(t)
	total := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	ms := bigquery.QueryParameter{Name: "ms", Value: m.SnapshotTime.UnixMilli()}
	var backedUp int64
	for _, tb := range m.Tables {
		asOf := e.count(t, "SELECT COUNT(*) FROM hiring."+tb.Source+" FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)", ms)
		if asOf != tb.Rows {
			t.Errorf("%s: the manifest counts %d rows, the table had %d at %s", tb.Source, tb.Rows, asOf, m.SnapshotTime)
		}
		if tb.Table == "hired_employees" {
			backedUp = tb.Rows
		}
	}
	if backedUp == 0 || backedUp >= total {
		t.Errorf("the backup has %d of %d hired_employees rows: it was not taken while the clients inserted", backedUp, total)
	}
	var restored backup.RestoreResult
	if status := postJSON(t, e.cfg.Functions["restore-table"]+"restore", fmt.Sprintf(`{"table": "hired_employees", "backup_id": %q}`, m.BackupID), &restored); status != http.StatusOK {
		t.Fatalf("restore: %d", status)
	}
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	view := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees")
	t.Logf("%.1fs: 8 clients inserted %d rows in %d batches (%d requests, %v); backup %s at %s holds %d hired_employees rows of %d; restored: %d raw rows, %d in the view",
		time.Since(start).Seconds(), inserted, batches, sum(c.requests()), c.requests(), m.BackupID, m.SnapshotTime.Format(time.RFC3339Nano), backedUp, total, raw, view)
	if raw != backedUp || view != backedUp || restored.RowsLoaded != backedUp {
		t.Errorf("after the restore: %d raw rows (%d loaded), %d in the view, want %d", raw, restored.RowsLoaded, view, backedUp)
	}
	e.checkCounts(t, counts{HiredEmployees: backedUp, RejectedRows: batches})
}

// postJSON posts body to url (the stack runs without authentication) and
// decodes a 2xx answer into v; it returns the status.
func postJSON(t *testing.T, url, body string, v any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// TestConcurrentRefresh: three refreshes of the metric tables at once, on
// three instances: each succeeds (or answers 409), and the tables hold one
// whole refresh.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{loadcsv.Definition, metrics.Definition}, nil)
	checkChallenge(t, e.waitLoaded(t, e.challengeFiles(t, "for-metrics")...))
	urls := e.urls(t, "metrics")
	start := time.Now()
	statuses := make([]int, 3)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			resp, err := http.Post(urls[i]+"/refresh", "application/json", nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK && s != http.StatusConflict {
			t.Errorf("refresh %d answered %d", i, s)
		}
	}
	quarters := testutil.Query(t, e.bq.Query("SELECT year, COUNT(*), SUM(Q1 + Q2 + Q3 + Q4) FROM hiring."+metricspkg.HiresByQuarterTable+" GROUP BY year ORDER BY year"))
	above := e.count(t, "SELECT COUNT(*) FROM hiring."+metricspkg.DepartmentsAboveMeanTable+" WHERE year = 2021")
	left := 0
	for _, id := range testutil.TableIDs(t, e.bq.Dataset("hiring")) {
		if strings.Contains(id, "_refresh") {
			left++
		}
	}
	t.Logf("3 refreshes at once answered %v in %.1fs; %s by year: %v; %d departments above the mean in 2021; %d staging tables left",
		statuses, time.Since(start).Seconds(), metricspkg.HiresByQuarterTable, quarters, above, left)
	if len(quarters) != 2 || fmt.Sprint(quarters[0]) != "[2021 933 1643]" || quarters[1][2] != int64(286) {
		t.Errorf("%s holds %v, want one refresh: 2021 933 rows, 1643 hires; 2022 286 hires", metricspkg.HiresByQuarterTable, quarters)
	}
	if above != 7 {
		t.Errorf("%s holds %d departments for 2021, want 7", metricspkg.DepartmentsAboveMeanTable, above)
	}
	if left != 0 {
		t.Errorf("%d staging tables are left", left)
	}
	e.checkCounts(t, counts{Departments: 12, Jobs: 183, HiredEmployees: 1929, RejectedRows: 70, IngestLog: 3})
}
