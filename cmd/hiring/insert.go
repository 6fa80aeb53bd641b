package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sethvargo/go-retry"
	"golang.org/x/sync/errgroup"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
)

// insertCmd sends a file's rows to insert-rows in batches.
type insertCmd struct {
	stackFlag
	Table       string        `help:"Table to insert into." required:""`
	File        string        `arg:"" help:"Rows as JSON lines (.jsonl, .ndjson), a JSON array (.json) or CSV (.csv)." type:"existingfile"`
	Batch       int           `help:"Rows per request, 1 to 1000." default:"1000"`
	Concurrency int           `help:"Requests in flight at once." default:"4"`
	Token       string        `help:"Bearer token; default: the writer token of the stack's /dev/config when it runs with --auth." env:"HIRING_TOKEN"`
	RunID       string        `name:"run-id" help:"Names this run: batch N is sent with Idempotency-Key hiring-insert-<run id>-N. Default: a new random id, printed at the end. Run again with the same id and file to finish an interrupted run: batches already answered are not inserted twice." placeholder:"ID"`
	RetryFor    time.Duration `help:"How long a batch is retried after 409 (in progress), 502, 503 or a lost connection." default:"2m"`
	JSON        bool          `name:"json" help:"Print the totals as one JSON object."`
}

// Validate checks the flags.
func (c *insertCmd) Validate() error {
	if _, ok := dictionary.Default().Table(c.Table); !ok {
		return fmt.Errorf("--table: no table %q (tables: %s)", c.Table, strings.Join(dictionary.Default().Names(), ", "))
	}
	if c.Batch < 1 || c.Batch > insert.MaxRows {
		return fmt.Errorf("--batch must be 1 to %d, got %d", insert.MaxRows, c.Batch)
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		return fmt.Errorf("--concurrency must be 1 to 64, got %d", c.Concurrency)
	}
	if c.RunID != "" && !runIDPattern.MatchString(c.RunID) {
		return fmt.Errorf("--run-id must be 1 to 64 letters, digits, '-' or '_', got %q", c.RunID)
	}
	return nil
}

// runIDPattern keeps the keys that a run id makes valid Idempotency-Keys.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// insertTotals sums the answers.
type insertTotals struct {
	Table         string         `json:"table"`
	RunID         string         `json:"run_id"`
	Batches       int            `json:"batches"`
	Sent          int            `json:"sent"`
	Inserted      int            `json:"inserted"`
	Refused       int            `json:"refused"`
	RefusedByRule map[string]int `json:"refused_by_rule"`
	FailedBatches []string       `json:"failed_batches,omitempty"`
	Seconds       float64        `json:"seconds"`

	mu       sync.Mutex
	progress *progressbar.ProgressBar
}

// Run reads the file, sends its batches with bounded concurrency and
// prints the totals. It fails when a batch was not accepted.
func (c *insertCmd) Run(ctx context.Context, con *console) error {
	cfg, err := c.config(ctx)
	if err != nil {
		return err
	}
	url, ok := cfg.Functions["insert-rows"]
	if !ok {
		return errors.New("the stack has no insert-rows function")
	}
	token := c.Token
	if token == "" {
		token = cfg.Auth.Tokens["writer"]
	}
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	t, _ := dictionary.Default().Table(c.Table)
	if c.RunID == "" {
		c.RunID = newRunID()
	}
	tot := &insertTotals{Table: c.Table, RunID: c.RunID, RefusedByRule: map[string]int{}}
	tot.progress = progressbar.NewOptions(-1, progressbar.OptionSetWriter(con.Stderr), progressbar.OptionSetDescription("rows sent"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(con.Stderr) }))
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.Concurrency)
	endpoint := strings.TrimSuffix(url, "/") + "/tables/" + c.Table + "/rows"
	err = batches(f, t, c.Batch, func(n int, contentType string, body []byte) error {
		index := tot.Batches
		tot.Batches++
		key := fmt.Sprintf("hiring-insert-%s-%d", c.RunID, index)
		g.Go(func() error {
			sendBatch(gctx, endpoint, token, key, c.RetryFor, index, n, contentType, body, tot)
			return nil
		})
		return gctx.Err()
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	_ = tot.progress.Finish()
	tot.Seconds = time.Since(start).Seconds()
	if err != nil {
		return err
	}
	if c.JSON {
		if err := json.NewEncoder(con.Stdout).Encode(tot); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(con.Stdout, "%s: %d rows sent in %d batches in %.1fs: %d inserted, %d refused", c.Table, tot.Sent, tot.Batches, tot.Seconds, tot.Inserted, tot.Refused)
		for _, r := range dictionary.Rules {
			if n := tot.RefusedByRule[string(r)]; n > 0 {
				fmt.Fprintf(con.Stdout, " (%s %d)", r, n)
			}
		}
		fmt.Fprintf(con.Stdout, "; run id %s\n", tot.RunID)
	}
	if len(tot.FailedBatches) > 0 {
		return withHint(fmt.Errorf("%d batch(es) not accepted: %s", len(tot.FailedBatches), strings.Join(tot.FailedBatches, "; ")),
			"run again with --run-id "+tot.RunID+" to send the batches again: those already answered are not inserted twice")
	}
	return nil
}

// sendBatch posts a batch with its idempotency key, retrying for retryFor
// what a retry may fix (409 in progress, 502, 503, a lost connection), and
// adds its answer to tot.
func sendBatch(ctx context.Context, endpoint, token, key string, retryFor time.Duration, index, n int, contentType string, body []byte, tot *insertTotals) {
	var status int
	var answer []byte
	backoff := retry.WithMaxDuration(retryFor, retry.WithCappedDuration(5*time.Second, retry.NewExponential(200*time.Millisecond)))
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Idempotency-Key", key)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return retry.RetryableError(err)
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		answer, err = io.ReadAll(resp.Body)
		if err != nil {
			return retry.RetryableError(err)
		}
		switch status {
		case http.StatusConflict, http.StatusBadGateway, http.StatusServiceUnavailable:
			return retry.RetryableError(fmt.Errorf("%d %s", status, bytes.TrimSpace(answer)))
		}
		return nil
	})
	tot.mu.Lock()
	defer tot.mu.Unlock()
	tot.Sent += n
	_ = tot.progress.Add(n)
	var res insert.Result
	var p httpapi.Problem
	switch {
	case err != nil:
		tot.FailedBatches = append(tot.FailedBatches, fmt.Sprintf("batch %d: %v", index, err))
		return
	case status == http.StatusOK && json.Unmarshal(answer, &res) == nil:
		tot.Inserted += res.Inserted
		tot.addRefused(res.Refused)
	case status == http.StatusUnprocessableEntity && json.Unmarshal(answer, &p) == nil:
		var refused []insert.Refusal
		if data, err := json.Marshal(p.Errors); err == nil && json.Unmarshal(data, &refused) == nil {
			tot.addRefused(refused)
		}
	default:
		tot.FailedBatches = append(tot.FailedBatches, fmt.Sprintf("batch %d: %d %s", index, status, bytes.TrimSpace(answer)))
	}
}

func (tot *insertTotals) addRefused(refused []insert.Refusal) {
	tot.Refused += len(refused)
	for _, r := range refused {
		tot.RefusedByRule[string(r.Errors[0].Rule)]++
	}
}

// newRunID returns a random run id: 12 lowercase base32 characters.
func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:12]
}

// batches splits a file into request bodies of at most size rows and calls
// send for each, in order.
func batches(r io.Reader, t *dictionary.Table, size int, send func(n int, contentType string, body []byte) error) error {
	switch ext := strings.ToLower(filepath.Ext(fileName(r))); ext {
	case ".csv":
		return csvBatches(r, t, size, send)
	case ".json":
		return jsonArrayBatches(r, size, send)
	default:
		return jsonLineBatches(r, size, send)
	}
}

func fileName(r io.Reader) string {
	if f, ok := r.(*os.File); ok {
		return f.Name()
	}
	return ""
}

func csvBatches(r io.Reader, t *dictionary.Table, size int, send func(int, string, []byte) error) error {
	reader := t.NewReader(r)
	var body bytes.Buffer
	n := 0
	for {
		rec, err := reader.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		body.Write(rec.Raw)
		body.WriteString("\r\n")
		n++
		if n == size {
			if err := send(n, "text/csv", bytes.Clone(body.Bytes())); err != nil {
				return err
			}
			body.Reset()
			n = 0
		}
	}
	if n > 0 {
		return send(n, "text/csv", body.Bytes())
	}
	return nil
}

// jsonBatch accumulates raw JSON rows into {"rows": [...]} bodies.
type jsonBatch struct {
	rows []json.RawMessage
	size int
	send func(int, string, []byte) error
}

func (b *jsonBatch) add(row json.RawMessage) error {
	b.rows = append(b.rows, row)
	if len(b.rows) == b.size {
		return b.flush()
	}
	return nil
}

func (b *jsonBatch) flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	body, err := json.Marshal(map[string][]json.RawMessage{"rows": b.rows})
	if err != nil {
		return err
	}
	n := len(b.rows)
	b.rows = b.rows[:0]
	return b.send(n, "application/json", body)
}

func jsonLineBatches(r io.Reader, size int, send func(int, string, []byte) error) error {
	b := &jsonBatch{size: size, send: send}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if !json.Valid(text) {
			return fmt.Errorf("line %d is not JSON", line)
		}
		if err := b.add(bytes.Clone(text)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return b.flush()
}

func jsonArrayBatches(r io.Reader, size int, send func(int, string, []byte) error) error {
	b := &jsonBatch{size: size, send: send}
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return errors.New("a .json file must hold one JSON array of rows")
	}
	for dec.More() {
		var row json.RawMessage
		if err := dec.Decode(&row); err != nil {
			return fmt.Errorf("row %d: %w", len(b.rows), err)
		}
		if err := b.add(row); err != nil {
			return err
		}
	}
	return b.flush()
}
