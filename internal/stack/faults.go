package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	bqemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
)

// SetBigQueryFaults makes the local BigQuery fail a fraction of its REST
// and gRPC calls (see bqemu.Faults); Faults{} turns it off.
func (s *Stack) SetBigQueryFaults(f bqemu.Faults) error { return s.bq.SetFaults(f) }

// BigQueryFaultsInjected returns how many calls the local BigQuery has
// failed on purpose since the stack started.
func (s *Stack) BigQueryFaultsInjected() int64 { return s.bq.InjectedFaults() }

// FaultsDoc is the body of GET and PUT /dev/faults.
type FaultsDoc struct {
	BigQuery BigQueryFaults `json:"bigquery"`
}

// BigQueryFaults is the fault setting of the local BigQuery, as JSON.
type BigQueryFaults struct {
	// Rate is the fraction of calls that fail, from 0 (off) to 1.
	Rate float64 `json:"rate"`
	// Seconds, in a PUT, ends the faults that many seconds later; 0 or
	// absent keeps them until the next PUT.
	Seconds float64 `json:"seconds,omitempty"`
	// Until is when the faults end, as answered; absent when they do not.
	Until *time.Time `json:"until,omitempty"`
	// Mode is "unavailable" (503, or gRPC UNAVAILABLE) or "drop" (the
	// connection closed without an answer); default "unavailable".
	Mode string `json:"mode,omitempty"`
	// LatencyMS holds every call that many milliseconds before it is
	// served or failed, so that callers stay in flight (to kill them
	// mid-call); 0 adds nothing.
	LatencyMS int64 `json:"latency_ms,omitempty"`
	// Injected counts the calls failed on purpose since the stack started,
	// as answered.
	Injected int64 `json:"injected"`
}

func (s *Stack) faultsDoc() FaultsDoc {
	f := s.bq.Faults()
	doc := FaultsDoc{BigQuery: BigQueryFaults{Rate: f.Rate, Mode: string(f.Mode), LatencyMS: f.Latency.Milliseconds(), Injected: s.bq.InjectedFaults()}}
	if !f.Until.IsZero() {
		u := f.Until.UTC()
		doc.BigQuery.Until = &u
	}
	return doc
}

// getFaults is GET /dev/faults.
func (s *Stack) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.faultsDoc())
}

// putFaults is PUT /dev/faults: it replaces the fault setting and answers
// with it.
func (s *Stack) putFaults(w http.ResponseWriter, r *http.Request) {
	var doc FaultsDoc
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is not {\"bigquery\": {\"rate\": R, \"seconds\": S, \"mode\": M, \"latency_ms\": L}}: " + err.Error()})
		return
	}
	f, err := doc.BigQuery.faults(time.Now())
	if err == nil {
		err = s.bq.SetFaults(f)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.faultsDoc())
}

// faults turns a requested setting into the emulator's, from now.
func (b BigQueryFaults) faults(now time.Time) (bqemu.Faults, error) {
	if b.Seconds < 0 {
		return bqemu.Faults{}, fmt.Errorf("seconds must not be negative, got %v", b.Seconds)
	}
	f := bqemu.Faults{Rate: b.Rate, Mode: bqemu.FaultMode(b.Mode), Latency: time.Duration(b.LatencyMS) * time.Millisecond}
	if b.Seconds > 0 {
		f.Until = now.Add(time.Duration(b.Seconds * float64(time.Second)))
	}
	return f, nil
}
