package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// readerFlags are the flags of the commands that call the metrics function.
type readerFlags struct {
	stackFlag
	Token string `help:"Bearer token; default: the reader token of the stack's /dev/config when it runs with --auth." env:"HIRING_TOKEN"`
	Year  int    `help:"Year of the hire times (UTC)." default:"2021"`
}

// Validate checks the year as the function does, before any request.
func (f *readerFlags) Validate() error {
	if f.Year < metrics.MinYear || f.Year > metrics.MaxYear {
		return fmt.Errorf("--year must be from %d to %d, got %d", metrics.MinYear, metrics.MaxYear, f.Year)
	}
	return nil
}

// get calls GET path of the metrics function with the reader token.
func (f *readerFlags) get(ctx context.Context, con *console, path, what string) ([]byte, error) {
	cfg, err := f.config(ctx)
	if err != nil {
		return nil, err
	}
	token := f.Token
	if token == "" {
		token = cfg.Auth.Tokens["reader"]
	}
	return callFunction(ctx, con, cfg, token, "metrics", http.MethodGet, path, what, nil)
}

// metricsCmd prints one of the two metrics.
type metricsCmd struct {
	readerFlags
	Metric string `arg:"" enum:"hires-by-quarter,departments-above-mean" help:"hires-by-quarter (hires per department and job by quarter) or departments-above-mean (departments that hired more than the mean)."`
	Format string `help:"Output: table, csv or json." enum:"table,csv,json" default:"table"`
}

// Run fetches the metric and prints it in the chosen format.
func (c *metricsCmd) Run(ctx context.Context, con *console) error {
	format := "json"
	if c.Format == "csv" {
		format = "csv"
	}
	path := "/" + c.Metric + "?year=" + strconv.Itoa(c.Year) + "&format=" + format
	data, err := c.get(ctx, con, path, c.Metric+" "+strconv.Itoa(c.Year))
	if err != nil {
		return err
	}
	switch c.Format {
	case "csv":
		_, err = con.Stdout.Write(data)
		return err
	case "json":
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return fmt.Errorf("the answer is not JSON: %w", err)
		}
		out.WriteByte('\n')
		_, err = out.WriteTo(con.Stdout)
		return err
	}
	if c.Metric == "hires-by-quarter" {
		return printQuarters(con, data)
	}
	return printDepartments(con, data)
}

func printQuarters(con *console, data []byte) error {
	var res struct {
		Year int                  `json:"year"`
		Rows []metrics.QuarterRow `json:"rows"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("the answer is not hires by quarter: %w", err)
	}
	var q [4]int64
	tw := tabwriter.NewWriter(con.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "department\tjob\tQ1\tQ2\tQ3\tQ4\t")
	for _, r := range res.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t\n", r.Department, r.Job, r.Q1, r.Q2, r.Q3, r.Q4)
		q[0], q[1], q[2], q[3] = q[0]+r.Q1, q[1]+r.Q2, q[2]+r.Q3, q[3]+r.Q4
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(con.Stdout, "%d: %d department and job pairs, %d hires (Q1 %d, Q2 %d, Q3 %d, Q4 %d)\n",
		res.Year, len(res.Rows), q[0]+q[1]+q[2]+q[3], q[0], q[1], q[2], q[3])
	return nil
}

func printDepartments(con *console, data []byte) error {
	var res struct {
		Year        int                     `json:"year"`
		Mean        float64                 `json:"mean"`
		Departments int                     `json:"departments"`
		Hires       int64                   `json:"hires"`
		Rows        []metrics.DepartmentRow `json:"rows"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("the answer is not departments above the mean: %w", err)
	}
	tw := tabwriter.NewWriter(con.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "id\tdepartment\thired\t")
	for _, r := range res.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t\n", r.ID, r.Department, r.Hired)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(con.Stdout, "%d: %d of %d departments hired more than the mean of %.2f (%d hires / %d departments)\n",
		res.Year, len(res.Rows), res.Departments, res.Mean, res.Hires, res.Departments)
	return nil
}

// reportCmd saves the visual report.
type reportCmd struct {
	readerFlags
	Out string `help:"File to write the report to; - for standard output." default:"report.html" placeholder:"FILE"`
}

// Run fetches the report of the year and writes it.
func (c *reportCmd) Run(ctx context.Context, con *console) error {
	data, err := c.get(ctx, con, "/report?year="+strconv.Itoa(c.Year), "report "+strconv.Itoa(c.Year))
	if err != nil {
		return err
	}
	if c.Out == "-" {
		_, err = con.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(c.Out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(con.Stdout, "wrote the %d report to %s (%d bytes, self-contained: open it in a browser)\n", c.Year, c.Out, len(data))
	return nil
}

// reportURL is the address of a stack's report for the default year.
func reportURL(cfg stack.Config) (string, bool) {
	base, ok := cfg.Functions["metrics"]
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s/report?year=%d", strings.TrimSuffix(base, "/"), metrics.DefaultYear), true
}
