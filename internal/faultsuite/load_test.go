package faultsuite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/gen"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// TestKillLoadInstance: the load-csv instance that streams a 1M-row file is
// killed with SIGKILL; the Eventarc bridge delivers the event again, to
// another instance, which loads the file exactly once.
func TestKillLoadInstance(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{loadcsv.Definition}, nil)
	dir := t.TempDir()
	start := time.Now()
	s, err := gen.Write(context.Background(), gen.Options{Dir: dir, Rows: 1_000_000, Departments: 12, Jobs: 183, InvalidRatio: 0.01, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	var file gen.FileSummary
	for _, f := range s.Files {
		if f.Table == "hired_employees" {
			file = f
		}
	}
	data, err := os.ReadFile(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	generated := time.Since(start)
	const object = "hired_employees/one-million.csv"
	e.upload(t, object, data)
	busy := e.busyInstance(t, "load-csv")
	time.Sleep(500 * time.Millisecond) // well into the file
	if !stillBusy(e, busy.PID) {
		t.Fatalf("instance %d finished the file in under 0.5s; the kill would not hit it", busy.PID)
	}
	kill(t, busy.PID)
	killed := time.Now()
	got := e.waitLoaded(t, object)[object]
	loaded := time.Since(killed)
	want := [3]string{"LOADED", strconv.FormatInt(file.Valid, 10), strconv.FormatInt(file.Invalid, 10)}
	if got != want {
		t.Errorf("ingest_log says %v, want %v", got, want)
	}
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	distinct := e.count(t, "SELECT COUNT(DISTINCT id) FROM hiring.hired_employees_raw")
	view := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees")
	rejected := e.count(t, "SELECT COUNT(*) FROM hiring.rejected_rows")
	t.Logf("%d rows (%d bytes) generated in %.1fs; instance %d killed 0.5s into the file; LOADED %.1fs after the kill, "+
		"the bridge's delivery attempts: %s; %d raw rows (%d distinct ids), %d in the view, %d rejected",
		file.Rows, len(data), generated.Seconds(), busy.PID, loaded.Seconds(), e.attempts(object), raw, distinct, view, rejected)
	if raw != file.Valid || distinct != file.Valid || view != file.Valid {
		t.Errorf("raw %d (%d distinct ids), view %d, want %d each: the file loaded once", raw, distinct, view, file.Valid)
	}
	if rejected != file.Invalid {
		t.Errorf("rejected_rows has %d rows, want %d", rejected, file.Invalid)
	}
	e.checkCounts(t, counts{HiredEmployees: file.Valid, RejectedRows: file.Invalid, IngestLog: 1})
}

// stillBusy reports whether the instance with pid has a request in flight.
func stillBusy(e *env, pid int) bool {
	for _, in := range e.st.Instances()["load-csv"] {
		if in.PID == pid {
			return in.InFlight > 0
		}
	}
	return false
}

// TestDuplicateEvents: the same finalize event is delivered 5 times at
// once, to the 3 instances, besides the bridge's own delivery: one load
// job, the rows once.
func TestDuplicateEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []function.Definition{loadcsv.Definition}, nil)
	urls := e.urls(t, "load-csv")
	const object = "hired_employees/duplicated.csv"
	data := testutil.ChallengeFile(t, "hired_employees.csv")
	gen := e.upload(t, object, data)
	payload, err := json.Marshal(map[string]string{
		"kind": "storage#object", "bucket": e.cfg.Buckets.Landing, "name": object,
		"generation": strconv.FormatInt(gen, 10), "size": strconv.Itoa(len(data)), "contentType": "text/csv",
		"timeCreated": time.Now().UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	statuses := make([]int, 5)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range statuses {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, urls[i%instances], bytes.NewReader(payload))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Ce-Specversion", "1.0")
			req.Header.Set("Ce-Id", "duplicated-event-1")
			req.Header.Set("Ce-Source", "//storage.googleapis.com/projects/_/buckets/"+e.cfg.Buckets.Landing)
			req.Header.Set("Ce-Type", loadcsv.FinalizedType)
			req.Header.Set("Ce-Subject", "objects/"+object)
			<-ready
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(ready)
	wg.Wait()
	for i, s := range statuses {
		if s < 200 || s > 299 {
			t.Errorf("delivery %d answered %d", i, s)
		}
	}
	got := e.waitLoaded(t, object)[object]
	if want := [3]string{"LOADED", "1929", "70"}; got != want {
		t.Errorf("ingest_log says %v, want %v", got, want)
	}
	loads, rejects := 0, 0
	it := e.bq.Jobs(context.Background())
	for {
		j, err := it.Next()
		if err != nil {
			break
		}
		switch {
		case strings.HasPrefix(j.ID(), "hiring_load_"):
			loads++
		case strings.HasPrefix(j.ID(), "hiring_rejects_"):
			rejects++
		}
	}
	raw := e.count(t, "SELECT COUNT(*) FROM hiring.hired_employees_raw")
	rejected := e.count(t, "SELECT COUNT(*) FROM hiring.rejected_rows")
	t.Logf("5 deliveries at once (%v) and the bridge's: %.1fs to LOADED; %d load job(s), %d rejects job(s); %d raw rows, %d rejected",
		statuses, time.Since(start).Seconds(), loads, rejects, raw, rejected)
	if loads != 1 || rejects != 1 {
		t.Errorf("%d load jobs and %d rejects jobs, want 1 each", loads, rejects)
	}
	if raw != 1929 || rejected != 70 {
		t.Errorf("%d raw rows and %d rejected, want 1929 and 70", raw, rejected)
	}
	e.checkCounts(t, counts{HiredEmployees: 1929, RejectedRows: 70, IngestLog: 1})
}

// challengeFiles uploads the challenge's three files under prefix/ and
// returns their object names.
func (e *env) challengeFiles(t *testing.T, prefix string) []string {
	t.Helper()
	var objects []string
	for _, name := range []string{"departments", "jobs", "hired_employees"} {
		object := fmt.Sprintf("%s/%s.csv", name, prefix)
		e.upload(t, object, testutil.ChallengeFile(t, name+".csv"))
		objects = append(objects, object)
	}
	return objects
}

// wantChallenge is what ingest_log says of the challenge's files.
var wantChallenge = map[string][3]string{
	"departments":     {"LOADED", "12", "0"},
	"jobs":            {"LOADED", "183", "0"},
	"hired_employees": {"LOADED", "1929", "70"},
}

// checkChallenge checks the ingest_log rows of the challenge's files.
func checkChallenge(t *testing.T, got map[string][3]string) {
	t.Helper()
	for object, outcome := range got {
		table := filepath.Dir(object)
		if outcome != wantChallenge[table] {
			t.Errorf("%s: ingest_log says %v, want %v", object, outcome, wantChallenge[table])
		}
	}
}
