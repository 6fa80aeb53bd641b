// Command hiring runs hiring-pipeline on a laptop and operates a deployment:
// the local stack, synthetic data, loads, inserts, backups, restores and
// metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// cli lists the subcommands; each lives in its own file with a Run method.
type cli struct {
	Dev     devCmd     `cmd:"" help:"Start the whole system locally on embedded emulators, until Ctrl+C."`
	Gen     genCmd     `cmd:"" help:"Write synthetic CSV files in the challenge's format, with a known number of invalid rows of each kind."`
	Load    loadCmd    `cmd:"" help:"Upload CSV files to the landing bucket of a running stack and report how each loaded."`
	Insert  insertCmd  `cmd:"" help:"Send a file's rows to insert-rows in batches of up to 1000, and print totals inserted and refused."`
	Backup  backupCmd  `cmd:"" help:"Back every table (or those named) up to Avro in the backup bucket, as of one point in time."`
	Backups backupsCmd `cmd:"" help:"List the backups, newest first; a corrupt one with its reason."`
	Restore restoreCmd `cmd:"" help:"Verify a backup of a table and replace the table's rows with it (or load it into another table)."`
	Metrics metricsCmd `cmd:"" help:"Print a stakeholder metric of a year: hires-by-quarter or departments-above-mean."`
	Report  reportCmd  `cmd:"" help:"Save the visual report of a year as one self-contained HTML file."`
	Smoke   smokeCmd   `cmd:"" help:"Smoke-test a deployment on Google Cloud: every function deployed and ACTIVE, every HTTP function answering, a dropped file reaching ingest_log, the backup schedule writing a backup; no row reaches a data table."`
	Bench   benchCmd   `cmd:"" help:"Measure the pipeline: load-csv on generated data, insert-rows under load, a function's cold start."`
	Health  healthCmd  `cmd:"" help:"Check that a running stack answers on /healthz; exit status 1 when it does not."`

	Function functionCmd `cmd:"" hidden:"" help:"Serve the function that $FUNCTION_TARGET names on $PORT, as an instance of hiring dev --instances does."`
}

// console is what a command writes to. Results go to Stdout; progress,
// logs and hints go to Stderr so that Stdout can be piped.
type console struct {
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitRequest carries kong's request to exit (after --help) out of Parse.
type exitRequest int

// run parses args, runs the command and returns the process exit code:
// 0 on success, 1 when the command failed, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			req, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(req)
		}
	}()
	con := &console{Stdout: stdout, Stderr: stderr, Logger: logging.New(stderr, slog.LevelInfo)}
	var c cli
	parser, err := kong.New(&c,
		kong.Name("hiring"),
		kong.Description("Run hiring-pipeline locally on emulators, and operate a deployment on Google Cloud."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(con),
		kong.UsageOnError(),
		kong.Vars{"stack": defaultStack},
	)
	if err != nil {
		fmt.Fprintf(stderr, "hiring: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "hiring: %v\n", err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(stderr, "hiring %s: %v\n", kctx.Command(), err)
		var h interface{ Hint() string }
		if errors.As(err, &h) && h.Hint() != "" {
			fmt.Fprintf(stderr, "hint: %s\n", h.Hint())
		}
		return 1
	}
	return 0
}
