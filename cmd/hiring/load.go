package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/schollz/progressbar/v3"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// defaultStack is the URL of `hiring dev` with its default flags.
const defaultStack = "http://127.0.0.1:8080"

// noStackHint is the hint of a command that finds no stack at its URL.
const noStackHint = "start one with `go run ./cmd/hiring dev`, or pass --stack or set HIRING_STACK"

// stackOrDefault is the URL of --stack without its trailing slash, or the
// default one when it is empty (an empty HIRING_STACK).
func stackOrDefault(flag string) string {
	return strings.TrimSuffix(cmp.Or(flag, defaultStack), "/")
}

// stackFlag is the flag of every command that talks to a running system.
type stackFlag struct {
	Stack string `help:"URL of a running hiring dev stack, whose /dev/config gives everything else (hiring dev --print-env exports it)." default:"${stack}" env:"HIRING_STACK" placeholder:"URL"`
}

// config fetches the stack's configuration.
func (f stackFlag) config(ctx context.Context) (stack.Config, error) {
	var cfg stack.Config
	stackURL := stackOrDefault(f.Stack)
	url := stackURL + "/dev/config"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return cfg, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return cfg, withHint(fmt.Errorf("no stack at %s: %w", stackURL, err), noStackHint)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cfg, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("GET %s: %w", url, err)
	}
	return cfg, nil
}

// loadCmd uploads files to the landing bucket and reports how each loaded.
type loadCmd struct {
	stackFlag
	Files   []string      `arg:"" help:"CSV files to load, named <table>.csv or <table>.csv.gz (the object name in the landing bucket)." type:"existingfile"`
	Timeout time.Duration `help:"How long to wait for all files to be processed." default:"10m"`
	JSON    bool          `name:"json" help:"Print the results as one JSON document."`
}

// Validate refuses files whose names map to no table before anything is
// uploaded.
func (c *loadCmd) Validate() error {
	var bad []string
	for _, f := range c.Files {
		if _, err := tableOf(f); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if bad != nil {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// tableOf returns the table a file is for, from its name.
func tableOf(path string) (string, error) {
	base := filepath.Base(path)
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".csv")
	if name == base || !(strings.HasSuffix(base, ".csv") || strings.HasSuffix(base, ".csv.gz")) {
		return "", fmt.Errorf("%s: name files <table>.csv or <table>.csv.gz", path)
	}
	if _, ok := dictionary.Default().Table(name); !ok {
		return "", fmt.Errorf("%s: no table %q (tables: %s)", path, name, strings.Join(dictionary.Default().Names(), ", "))
	}
	return name, nil
}

// Run uploads the files, waits for their ingest_log rows and prints them.
// It fails when a file was not LOADED.
func (c *loadCmd) Run(ctx context.Context, con *console) error {
	cfg, err := c.config(ctx)
	if err != nil {
		return err
	}
	results, err := loadFiles(ctx, cfg, c.Files, c.Timeout, con.Stderr)
	if err != nil {
		return err
	}
	if c.JSON {
		if err := json.NewEncoder(con.Stdout).Encode(results); err != nil {
			return err
		}
	} else if err := printLoads(con.Stdout, results); err != nil {
		return err
	}
	var failed []string
	for _, r := range results {
		if r.Outcome != "LOADED" {
			failed = append(failed, fmt.Sprintf("%s %s", r.File, r.Outcome))
		}
	}
	if failed != nil {
		return fmt.Errorf("not loaded: %s", strings.Join(failed, ", "))
	}
	return nil
}

// loadResult is a file's ingest_log row.
type loadResult struct {
	File           string           `json:"file"`
	IngestionID    string           `json:"ingestion_id"`
	Table          string           `json:"table"`
	Outcome        string           `json:"outcome"`
	Message        string           `json:"message,omitempty"`
	RowsRead       int64            `json:"rows_read"`
	RowsLoaded     int64            `json:"rows_loaded"`
	RowsRejected   int64            `json:"rows_rejected"`
	RejectedByRule map[string]int64 `json:"rejected_by_rule"`
	DurationMS     int64            `json:"duration_ms"`
}

// progressThreshold is the size from which an upload shows a progress bar.
const progressThreshold = 8 << 20

// loadFiles uploads files to the stack's landing bucket and waits until
// load-csv has recorded each in ingest_log.
func loadFiles(ctx context.Context, cfg stack.Config, files []string, timeout time.Duration, progress io.Writer) ([]loadResult, error) {
	gcs, err := clients.Storage(ctx, cfg.StorageEmulatorHost)
	if err != nil {
		return nil, err
	}
	defer gcs.Close()
	results := make([]loadResult, len(files))
	for i, f := range files {
		id, err := upload(ctx, gcs.Bucket(cfg.Buckets.Landing), f, progress)
		if err != nil {
			return nil, err
		}
		results[i] = loadResult{File: f, IngestionID: id}
	}
	bq, err := bigquery.NewClient(ctx, cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
	if err != nil {
		return nil, err
	}
	defer bq.Close()
	fmt.Fprintf(progress, "waiting for load-csv to process %d file(s)...\n", len(files))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pending, err := fillResults(ctx, bq, cfg.Dataset, results)
		if err != nil {
			return nil, err
		}
		if pending == 0 {
			return results, nil
		}
		select {
		case <-ctx.Done():
			return nil, withHint(fmt.Errorf("%d file(s) not processed after %s", pending, timeout), "look at the stack's log (hiring dev's stderr) for load-csv errors")
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// upload writes a file to the landing bucket under its base name and
// returns its ingestion id.
func upload(ctx context.Context, bucket *storage.BucketHandle, path string, progress io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	name := filepath.Base(path)
	w := bucket.Object(name).NewWriter(ctx)
	var src io.Reader = f
	if info.Size() >= progressThreshold {
		bar := progressbar.NewOptions64(info.Size(), progressbar.OptionSetWriter(progress), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("upload "+name), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }))
		r := progressbar.NewReader(f, bar)
		src = &r
	}
	if _, err := io.Copy(w, src); err != nil {
		_ = w.Close()
		return "", fmt.Errorf("upload %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("upload %s: %w", path, err)
	}
	a := w.Attrs()
	return fmt.Sprintf("gs://%s/%s#%d", a.Bucket, a.Name, a.Generation), nil
}

// fillResults reads the ingest_log rows of the results still pending and
// returns how many remain.
func fillResults(ctx context.Context, bq *bigquery.Client, dataset string, results []loadResult) (int, error) {
	var ids []string
	for _, r := range results {
		if r.Outcome == "" {
			ids = append(ids, r.IngestionID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	marks := make([]string, len(ids))
	params := make([]bigquery.QueryParameter, len(ids))
	for i, id := range ids {
		marks[i] = fmt.Sprintf("@id%d", i)
		params[i] = bigquery.QueryParameter{Name: fmt.Sprintf("id%d", i), Value: id}
	}
	q := bq.Query(fmt.Sprintf("SELECT ingestion_id, table_name, outcome, message, rows_read, rows_loaded, rows_rejected, rejected_by_rule, duration_ms FROM `%s.ingest_log` WHERE ingestion_id IN (%s)",
		dataset, strings.Join(marks, ", ")))
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return 0, fmt.Errorf("read ingest_log: %w", err)
	}
	for {
		var row struct {
			IngestionID    string              `bigquery:"ingestion_id"`
			Table          string              `bigquery:"table_name"`
			Outcome        string              `bigquery:"outcome"`
			Message        bigquery.NullString `bigquery:"message"`
			RowsRead       int64               `bigquery:"rows_read"`
			RowsLoaded     int64               `bigquery:"rows_loaded"`
			RowsRejected   int64               `bigquery:"rows_rejected"`
			RejectedByRule string              `bigquery:"rejected_by_rule"`
			DurationMS     int64               `bigquery:"duration_ms"`
		}
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read ingest_log: %w", err)
		}
		i := slices.IndexFunc(results, func(r loadResult) bool { return r.IngestionID == row.IngestionID })
		if i < 0 {
			continue
		}
		r := &results[i]
		r.Table, r.Outcome, r.Message = row.Table, row.Outcome, row.Message.StringVal
		r.RowsRead, r.RowsLoaded, r.RowsRejected, r.DurationMS = row.RowsRead, row.RowsLoaded, row.RowsRejected, row.DurationMS
		if err := json.Unmarshal([]byte(row.RejectedByRule), &r.RejectedByRule); err != nil {
			return 0, fmt.Errorf("ingest_log of %s: %w", row.IngestionID, err)
		}
	}
	pending := 0
	for _, r := range results {
		if r.Outcome == "" {
			pending++
		}
	}
	return pending, nil
}

// printLoads prints one line per file and its rejects by rule, and the
// reason of the files not loaded in a last column when there are any.
func printLoads(w io.Writer, results []loadResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	reasons := slices.ContainsFunc(results, func(r loadResult) bool { return r.Message != "" })
	header := "file\ttable\toutcome\tread\tloaded\trejected\trejected by rule\tms"
	if reasons {
		header += "\treason"
	}
	fmt.Fprintln(tw, header)
	for _, r := range results {
		var rules []string
		for _, rule := range dictionary.Rules {
			if n := r.RejectedByRule[string(rule)]; n > 0 {
				rules = append(rules, fmt.Sprintf("%s %d", rule, n))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d", filepath.Base(r.File), r.Table, r.Outcome, r.RowsRead, r.RowsLoaded, r.RowsRejected, strings.Join(rules, ", "), r.DurationMS)
		if reasons {
			fmt.Fprintf(tw, "\t%s", r.Message)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
