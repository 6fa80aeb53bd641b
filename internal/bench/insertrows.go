package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigquery"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"google.golang.org/api/iterator"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// InsertRowsOptions configure InsertRows. Zero values take the defaults.
type InsertRowsOptions struct {
	// Stack is the configuration (GET /dev/config) of a running stack with
	// insert-rows mounted. With --auth, requests carry its writer token.
	Stack stack.Config
	// Clients is the number of concurrent clients; each sends its next
	// request as soon as its previous one is answered. Default 16.
	Clients int
	// Duration is how long new requests are sent; requests in flight at the
	// end are waited for. Default 20s.
	Duration time.Duration
	// Rows is the number of rows per request, 1 to insert.MaxRows.
	// Default 100.
	Rows int
	// Table is the dictionary table inserted into. Default hired_employees.
	Table string
}

// InsertRowsReport is what InsertRows measured.
type InsertRowsReport struct {
	Table          string `json:"table"`
	Clients        int    `json:"clients"`
	RowsPerRequest int    `json:"rows_per_request"`
	// Seconds runs from the first request sent to the last answer.
	Seconds float64 `json:"seconds"`
	// Requests counts every request sent, answered or not.
	Requests       uint64  `json:"requests"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	// Inserted sums the rows that 200 answers say were inserted.
	Inserted   int64   `json:"inserted"`
	RowsPerSec float64 `json:"rows_per_sec"`
	// Latency is per request, from sending to the end of its answer.
	Latency Latency `json:"latency_ms"`
	// CPU is the CPU time of the processes that served the requests.
	CPU CPU `json:"cpu"`
	// Errors counts the requests without a 200 answer, by status and
	// problem code ("503 unavailable"), or "no answer: <error>".
	Errors map[string]int `json:"errors"`
	// Check compares what readers see with Inserted.
	Check RowCheck `json:"row_check"`
}

// Latency holds request latencies in milliseconds; the percentiles are
// estimates (t-digest).
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// CPU is the CPU time, user and system, that the processes serving
// insert-rows spent from the first request sent to the last answer, read from
// /proc/<pid>/stat (10 ms units) before and after the load. The processes are
// the function's instances listed in the stack's configuration and every
// process named by an answer's X-Hiring-Instance header; one that started
// during the load counts from its start, one that exited during the load is
// not counted.
type CPU struct {
	// MsPerBatch is the CPU time per request sent (a batch of RowsPerRequest
	// rows), in milliseconds: to set next to the wall latency.
	MsPerBatch float64 `json:"ms_per_batch"`
	Seconds    float64 `json:"seconds"`
	// Cores is Seconds over the load's wall time: the cores kept busy.
	Cores float64 `json:"cores"`
	PIDs  []int   `json:"pids"`
	// Shared is true when a process also does other work than the function:
	// the stack's own process, which runs the function with the local
	// BigQuery and Cloud Storage when it has one instance per function, or
	// this process. Start the stack with --instances 2 or more for the
	// function's CPU time alone.
	Shared bool `json:"shared"`
	// Unavailable says why there is no figure, when there is none.
	Unavailable string `json:"unavailable,omitempty"`
}

// cpuMeter reads the CPU time of the function's processes.
type cpuMeter struct {
	unavailable string
	shared      bool
	start       map[int]time.Duration
	seen        map[int]bool
}

// startCPU reads the CPU time of the instances of insert-rows that cfg lists.
// The processes must be on this machine: the stack's URL is a loopback one.
func startCPU(cfg stack.Config, functionName string) *cpuMeter {
	m := &cpuMeter{start: map[int]time.Duration{}, seen: map[int]bool{}}
	u, err := url.Parse(cfg.URL)
	if err != nil || !isLoopback(u.Hostname()) {
		m.unavailable = "the stack is not on this machine (its URL is not a loopback one)"
		return m
	}
	for _, inst := range cfg.Instances[functionName] {
		m.add(inst.PID)
		if strings.HasPrefix(inst.URL, strings.TrimSuffix(cfg.URL, "/")+"/") {
			m.shared = true
		}
	}
	return m
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// add starts counting the CPU time of a process from now.
func (m *cpuMeter) add(pid int) {
	if m.track(pid) {
		if t, err := procstat.CPUTimeOf(pid); err == nil {
			m.start[pid] = t
		}
	}
}

// see counts the process named by an answer's X-Hiring-Instance header; a
// process not counted yet counts from its start.
func (m *cpuMeter) see(header string) {
	if pid, err := strconv.Atoi(header); err == nil && m.track(pid) {
		m.start[pid] = 0
	}
}

// track reports whether pid is a process to count that was not counted yet,
// and notes it.
func (m *cpuMeter) track(pid int) bool {
	if m.unavailable != "" || pid <= 0 || m.seen[pid] {
		return false
	}
	m.seen[pid] = true
	if pid == os.Getpid() {
		m.shared = true
	}
	return true
}

// finish reads the processes' CPU time again and returns the figures for the
// requests sent in seconds of wall time.
func (m *cpuMeter) finish(requests uint64, seconds float64) CPU {
	if m.unavailable != "" {
		return CPU{Unavailable: m.unavailable}
	}
	c := CPU{Shared: m.shared}
	var spent time.Duration
	for _, pid := range slices.Sorted(maps.Keys(m.start)) {
		t, err := procstat.CPUTimeOf(pid)
		if err != nil {
			continue
		}
		spent += t - m.start[pid]
		c.PIDs = append(c.PIDs, pid)
	}
	if len(c.PIDs) == 0 {
		c.Unavailable = "no process of the function could be read in /proc"
		return c
	}
	c.Seconds = spent.Seconds()
	if requests > 0 {
		c.MsPerBatch = c.Seconds * 1000 / float64(requests)
	}
	if seconds > 0 {
		c.Cores = c.Seconds / seconds
	}
	return c
}

// RowCheck compares the rows of the table's reader view before and after the
// run with the rows the run got a 200 for.
type RowCheck struct {
	Before   int64 `json:"before"`
	After    int64 `json:"after"`
	Inserted int64 `json:"inserted"`
	// Difference is (After - Before) - Inserted: positive when readers see
	// rows no 200 answer reported (requests that timed out, or other
	// writers), negative when reported rows are missing.
	Difference int64 `json:"difference"`
	OK         bool  `json:"ok"`
}

// requestTimeout bounds one request of InsertRows.
const requestTimeout = 30 * time.Second

func (o InsertRowsOptions) withDefaults() InsertRowsOptions {
	if o.Clients == 0 {
		o.Clients = 16
	}
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if o.Rows == 0 {
		o.Rows = 100
	}
	if o.Table == "" {
		o.Table = "hired_employees"
	}
	return o
}

// InsertRows runs a closed-loop load against the stack's insert-rows for
// opts.Duration: opts.Clients clients send batches of opts.Rows new rows,
// each batch with its own Idempotency-Key and ids unique in the run (from
// the start time in milliseconds times 1000, so that runs inserting fewer
// than 1000 rows per millisecond never reuse ids of an earlier run). It
// counts the rows of the table's reader view before and after, and reports
// throughput, latency, errors and that row check. Other writers to the table
// during the run make the check fail. It returns an error when the run could
// not be made or ctx ended, not for failed requests or a failed check.
func InsertRows(ctx context.Context, opts InsertRowsOptions) (InsertRowsReport, error) {
	opts = opts.withDefaults()
	rep := InsertRowsReport{Table: opts.Table, Clients: opts.Clients, RowsPerRequest: opts.Rows, Errors: map[string]int{}}
	t, ok := dictionary.Default().Table(opts.Table)
	if !ok {
		return rep, fmt.Errorf("bench: no table %q", opts.Table)
	}
	switch {
	case opts.Clients < 1:
		return rep, fmt.Errorf("bench: %d clients, want at least 1", opts.Clients)
	case opts.Rows < 1 || opts.Rows > insert.MaxRows:
		return rep, fmt.Errorf("bench: %d rows per request, want 1 to %d", opts.Rows, insert.MaxRows)
	case opts.Duration < 0:
		return rep, fmt.Errorf("bench: a negative duration, %s", opts.Duration)
	}
	fn, ok := opts.Stack.Functions["insert-rows"]
	if !ok {
		return rep, errors.New("bench: the stack has no insert-rows function")
	}
	bq, err := clients.BigQuery(ctx, config.Google{Project: opts.Stack.Project, Dataset: opts.Stack.Dataset,
		Location: opts.Stack.Location, BigQueryEndpoint: opts.Stack.BigQueryEndpoint})
	if err != nil {
		return rep, err
	}
	defer bq.Close()
	if rep.Check.Before, err = countRows(ctx, bq, opts.Stack.Dataset, t.Name); err != nil {
		return rep, err
	}
	if err := load(ctx, opts, t, fn, &rep); err != nil {
		return rep, err
	}
	if rep.Check.After, err = countRows(ctx, bq, opts.Stack.Dataset, t.Name); err != nil {
		return rep, err
	}
	rep.Check.Inserted = rep.Inserted
	rep.Check.Difference = rep.Check.After - rep.Check.Before - rep.Inserted
	rep.Check.OK = rep.Check.Difference == 0
	return rep, nil
}

// load sends the requests of InsertRows to insert-rows at functionURL and
// fills rep with what it measured, the row check aside.
func load(ctx context.Context, opts InsertRowsOptions, t *dictionary.Table, functionURL string, rep *InsertRowsReport) error {
	start := time.Now()
	gen, err := newBatches(t, start.UnixMilli()*1000, opts.Rows)
	if err != nil {
		return err
	}
	endpoint := strings.TrimSuffix(functionURL, "/") + "/tables/" + t.Name + "/rows"
	token := opts.Stack.Auth.Tokens["writer"]
	keyPrefix := "bench-" + strconv.FormatInt(start.UnixMilli(), 10) + "-"
	var seq atomic.Int64
	targeter := func(tgt *vegeta.Target) error {
		n := seq.Add(1) - 1
		tgt.Method = http.MethodPost
		tgt.URL = endpoint
		tgt.Body = gen.body(n)
		tgt.Header = http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {keyPrefix + strconv.FormatInt(n, 10)}}
		if token != "" {
			tgt.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}
	transport := &http.Transport{MaxIdleConnsPerHost: opts.Clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Timeout: requestTimeout, Transport: contextTransport{ctx: ctx, next: transport}}
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(opts.Clients)), vegeta.MaxWorkers(uint64(opts.Clients)))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	cpu := startCPU(opts.Stack, "insert-rows")
	var m vegeta.Metrics
	for res := range atk.Attack(targeter, vegeta.ConstantPacer{}, opts.Duration, "insert-rows") {
		m.Add(res)
		cpu.see(res.Headers.Get(stack.InstanceHeader))
		if res.Code == http.StatusOK {
			var answer struct {
				Inserted int64 `json:"inserted"`
			}
			if err := json.Unmarshal(res.Body, &answer); err != nil {
				rep.Errors["200 with an unreadable body"]++
				continue
			}
			rep.Inserted += answer.Inserted
			continue
		}
		rep.Errors[errorKind(res)]++
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bench: insert-rows load: %w", err)
	}
	rep.Requests = m.Requests
	rep.Seconds = (m.Duration + m.Wait).Seconds()
	rep.CPU = cpu.finish(m.Requests, rep.Seconds)
	if rep.Seconds > 0 {
		rep.RequestsPerSec = float64(m.Requests) / rep.Seconds
		rep.RowsPerSec = float64(rep.Inserted) / rep.Seconds
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rep.Latency = Latency{P50: ms(m.Latencies.P50), P95: ms(m.Latencies.P95), P99: ms(m.Latencies.P99), Max: ms(m.Latencies.Max)}
	return nil
}

// errorKind names what went wrong with a request that got no 200.
func errorKind(res *vegeta.Result) string {
	if res.Code == 0 {
		return "no answer: " + res.Error
	}
	var p httpapi.Problem
	if json.Unmarshal(res.Body, &p) == nil && p.Code != "" {
		return strconv.Itoa(int(res.Code)) + " " + p.Code
	}
	return strconv.Itoa(int(res.Code))
}

// countRows counts the rows of a table's reader view.
func countRows(ctx context.Context, bq *bigquery.Client, dataset, table string) (int64, error) {
	q := "SELECT COUNT(*) FROM `" + dataset + "." + table + "`"
	it, err := bq.Query(q).Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", q, err)
	}
	var row []bigquery.Value
	if err := it.Next(&row); err != nil {
		if errors.Is(err, iterator.Done) {
			err = errors.New("no row")
		}
		return 0, fmt.Errorf("bench: %s: %w", q, err)
	}
	n, ok := row[0].(int64)
	if !ok || len(row) != 1 {
		return 0, fmt.Errorf("bench: %s: got %v", q, row)
	}
	return n, nil
}

// contextTransport ends every request when ctx ends, as well as when the
// request's own context does: vegeta builds its requests without a context.
type contextTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t contextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.ctx, cancel)
	release := func() {
		stop()
		cancel()
	}
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody releases a request's context when its answer is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// batches writes JSON bodies of valid rows of one table with unique keys:
// batch n holds the keys base + n*rows to base + n*rows + rows - 1.
type batches struct {
	base   int64
	rows   int
	fields []fieldWriter
}

// fieldWriter appends `"name":value` for a row of key id.
type fieldWriter func(b []byte, id int64) []byte

// benchTime is the TIMESTAMP value of generated rows.
const benchTime = `"2021-07-27T16:02:08Z"`

// newBatches returns a generator of bodies of n rows of t. Every INTEGER is
// positive (the key is unique, the others derive from it), every STRING is
// "bench <key>" within its maxLength, every TIMESTAMP is benchTime.
func newBatches(t *dictionary.Table, base int64, rows int) (*batches, error) {
	g := &batches{base: base, rows: rows}
	for i, f := range t.Fields {
		name, err := json.Marshal(f.Name)
		if err != nil {
			return nil, fmt.Errorf("bench: column %s: %w", f.Name, err)
		}
		prefix := append(name, ':')
		var w fieldWriter
		switch {
		case i == 0 && f.Type == dictionary.Integer:
			w = func(b []byte, id int64) []byte { return strconv.AppendInt(append(b, prefix...), id, 10) }
		case f.Type == dictionary.Integer:
			w = func(b []byte, id int64) []byte { return strconv.AppendInt(append(b, prefix...), 1+id%100, 10) }
		case f.Type == dictionary.String:
			maxLen := f.MaxLength
			w = func(b []byte, id int64) []byte {
				// ASCII letters, digits and a space: nothing to escape.
				s := "bench " + strconv.FormatInt(id, 10)
				if maxLen > 0 && len(s) > maxLen {
					s = s[:maxLen]
				}
				return append(append(append(append(b, prefix...), '"'), s...), '"')
			}
		case f.Type == dictionary.Timestamp:
			w = func(b []byte, _ int64) []byte { return append(append(b, prefix...), benchTime...) }
		default:
			return nil, fmt.Errorf("bench: table %s: no generated value for column %s of type %s", t.Name, f.Name, f.Type)
		}
		g.fields = append(g.fields, w)
	}
	return g, nil
}

// body returns the JSON body of batch n: {"rows": [...]}.
func (g *batches) body(n int64) []byte {
	b := make([]byte, 0, 64*g.rows*len(g.fields))
	b = append(b, `{"rows":[`...)
	first := g.base + n*int64(g.rows)
	for i := range g.rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for j, w := range g.fields {
			if j > 0 {
				b = append(b, ',')
			}
			b = w(b, first+int64(i))
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
