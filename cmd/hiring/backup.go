package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// adminFlags are the flags of the commands that call admin functions.
type adminFlags struct {
	stackFlag
	Token string `help:"Bearer token; default: the admin token of the stack's /dev/config when it runs with --auth." env:"HIRING_TOKEN"`
	JSON  bool   `name:"json" help:"Print the answer as JSON."`
}

// call sends a request to a function of the stack with the admin token and
// decodes a 2xx JSON answer into out.
func (f adminFlags) call(ctx context.Context, con *console, function, method, path, what string, body, out any) error {
	cfg, err := f.config(ctx)
	if err != nil {
		return err
	}
	data, err := callFunction(ctx, con, cfg, f.token(cfg), function, method, path, what, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: the answer is not JSON: %w", what, err)
	}
	return nil
}

// callFunction sends a request to a function of the stack, with a spinner on
// progress while it waits, and returns the body of a 2xx answer. A problem
// answer becomes an error that quotes its status, code and detail.
func callFunction(ctx context.Context, con *console, cfg stack.Config, token, function, method, path, what string, body any) ([]byte, error) {
	base, ok := cfg.Functions[function]
	if !ok {
		return nil, fmt.Errorf("the stack has no %s function", function)
	}
	var payload io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, payload)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	spin := progressbar.NewOptions(-1, progressbar.OptionSetWriter(con.Stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionSpinnerType(14), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				_ = spin.Add(1)
			}
		}
	}()
	resp, err := http.DefaultClient.Do(req)
	close(done)
	_ = spin.Finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var p httpapi.Problem
		if json.Unmarshal(data, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("%s refused: %d %s: %s", what, p.Status, p.Code, p.Detail)
		}
		return nil, fmt.Errorf("%s: %s: %s", what, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}

func (f adminFlags) token(cfg stack.Config) string {
	if f.Token != "" {
		return f.Token
	}
	return cfg.Auth.Tokens["admin"]
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// backupCmd runs backup-tables.
type backupCmd struct {
	adminFlags
	Tables []string `help:"Tables to back up, comma separated; default all."`
}

// Validate checks the table names.
func (c *backupCmd) Validate() error { return checkTables(c.Tables) }

func checkTables(names []string) error {
	for _, n := range names {
		if _, ok := dictionary.Default().Table(n); !ok {
			return fmt.Errorf("no table %q (tables: %s)", n, strings.Join(dictionary.Default().Names(), ", "))
		}
	}
	return nil
}

// Run makes a backup and prints its manifest's summary.
func (c *backupCmd) Run(ctx context.Context, con *console) error {
	var m backup.Manifest
	body := map[string][]string{"tables": c.Tables}
	if err := c.call(ctx, con, "backup-tables", http.MethodPost, "/", "backing up", body, &m); err != nil {
		return err
	}
	if c.JSON {
		return printJSON(con.Stdout, m)
	}
	fmt.Fprintf(con.Stdout, "backup %s, snapshot %s, %s\n", m.BackupID, m.SnapshotTime.Format(time.RFC3339), m.Codec)
	tw := tabwriter.NewWriter(con.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trows\tfiles\tbytes")
	for _, t := range m.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t.Table, t.Rows, len(t.Files), t.Bytes())
	}
	return tw.Flush()
}

// backupsCmd lists backups.
type backupsCmd struct {
	adminFlags
	Table string `help:"Only backups that hold this table."`
}

// Validate checks the table name.
func (c *backupsCmd) Validate() error {
	if c.Table == "" {
		return nil
	}
	return checkTables([]string{c.Table})
}

// Run prints the backups, newest first, corrupt ones with their reason.
func (c *backupsCmd) Run(ctx context.Context, con *console) error {
	var out struct {
		Backups []backup.Summary `json:"backups"`
	}
	path := "/backups"
	if c.Table != "" {
		path += "?table=" + c.Table
	}
	if err := c.call(ctx, con, "restore-table", http.MethodGet, path, "listing backups", nil, &out); err != nil {
		return err
	}
	if c.JSON {
		return printJSON(con.Stdout, out)
	}
	if len(out.Backups) == 0 {
		fmt.Fprintln(con.Stdout, "no complete backup")
		return nil
	}
	tw := tabwriter.NewWriter(con.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "backup\tsnapshot\ttables (rows)")
	for _, b := range out.Backups {
		if b.Status == backup.StatusCorrupt {
			fmt.Fprintf(tw, "%s	%s	%s\n", b.BackupID, "corrupt", b.Reason)
			continue
		}
		var parts []string
		for _, t := range b.Tables {
			parts = append(parts, fmt.Sprintf("%s %d", t.Table, t.Rows))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", b.BackupID, b.SnapshotTime.Format(time.RFC3339), strings.Join(parts, ", "))
	}
	return tw.Flush()
}

// restoreCmd runs restore-table.
type restoreCmd struct {
	adminFlags
	Table  string `help:"Table to restore." required:""`
	Backup string `help:"Backup id, or latest." required:"" placeholder:"ID"`
	DryRun bool   `help:"Verify the backup without loading it."`
	To     string `help:"Create this new table, named restore_..., instead of replacing the table's raw table, for inspection." placeholder:"TABLE"`
}

// Validate checks the table name.
func (c *restoreCmd) Validate() error { return checkTables([]string{c.Table}) }

// Run restores and prints the checks and figures.
func (c *restoreCmd) Run(ctx context.Context, con *console) error {
	var res backup.RestoreResult
	req := backup.RestoreRequest{Table: c.Table, BackupID: c.Backup, DryRun: c.DryRun, TargetTable: c.To}
	what := "restoring " + c.Table
	if c.DryRun {
		what = "verifying the backup of " + c.Table
	}
	if err := c.call(ctx, con, "restore-table", http.MethodPost, "/restore", what, req, &res); err != nil {
		return err
	}
	if c.JSON {
		return printJSON(con.Stdout, res)
	}
	for _, check := range res.Checks {
		fmt.Fprintf(con.Stdout, "ok  %s\n", check)
	}
	if res.DryRun {
		fmt.Fprintf(con.Stdout, "dry run: backup %s of %s is restorable: %d rows in %d files (%d bytes), verified in %d ms\n",
			res.BackupID, res.Table, res.Rows, res.Files, res.Bytes, res.VerifyMS)
		return nil
	}
	fmt.Fprintf(con.Stdout, "restored %s from backup %s (snapshot %s) into %s: %d rows; verified in %d ms, loaded in %d ms (job %s)\n",
		res.Table, res.BackupID, res.SnapshotTime.Format(time.RFC3339), res.Target, res.RowsLoaded, res.VerifyMS, res.LoadMS, res.LoadJobID)
	return nil
}
