package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// devLogs is where hiring dev's logs go: the terminal, in the format and
// at the level of the flags, and every record to --log-file.
type devLogs struct {
	// Handler receives the stack's logs and, through Relay, its instances'.
	Handler slog.Handler
	// Demo names the demo's files, whose records below ERROR the terminal
	// shows only at --log-level debug.
	Demo *demoFiles
	file *os.File
}

// newDevLogs builds the logs of the flags; terminal is where the terminal's
// logs go.
func (c *devCmd) newDevLogs(terminal io.Writer) (*devLogs, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	l := &devLogs{Demo: &demoFiles{}}
	var screen slog.Handler
	if c.LogFormat == "json" {
		screen = logging.New(terminal, level).Handler()
	} else {
		screen = logging.NewConsole(terminal, logging.ConsoleOptions{Level: level, Color: colorful(terminal)})
	}
	l.Handler = &quietDemo{h: screen, demo: l.Demo}
	if c.LogFile != "" {
		f, err := os.Create(c.LogFile)
		if err != nil {
			return nil, fmt.Errorf("--log-file: %w", err)
		}
		l.file = f
		l.Handler = slog.NewMultiHandler(l.Handler, logging.New(f, slog.LevelDebug).Handler())
	}
	return l, nil
}

// Relay returns a writer that logs the JSON lines of the instances through
// the same handler.
func (l *devLogs) Relay() io.Writer { return logging.NewRelay(l.Handler) }

// Close closes the --log-file.
func (l *devLogs) Close() error {
	if l.file == nil {
		return nil
	}
	return l.file.Close()
}

// colorful reports whether w is a terminal that takes colours: not when
// NO_COLOR is set (no-color.org) or TERM is dumb.
func colorful(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// demoFiles recognises the ingestion ids of the demo's files: by object
// name while they load, then by their exact ids, so that a file uploaded
// later under the same name is not taken for the demo's.
type demoFiles struct {
	mu       sync.Mutex
	prefixes []string
	ids      map[string]bool
}

// expect takes the ids of any generation of the objects named.
func (d *demoFiles) expect(bucket string, objects []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range objects {
		d.prefixes = append(d.prefixes, "gs://"+bucket+"/"+o+"#")
	}
}

// loaded takes exactly ids from now on.
func (d *demoFiles) loaded(ids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prefixes = nil
	d.ids = map[string]bool{}
	for _, id := range ids {
		d.ids[id] = true
	}
}

func (d *demoFiles) has(id string) bool {
	if id == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids[id] {
		return true
	}
	for _, p := range d.prefixes {
		if strings.HasPrefix(id, p) {
			return true
		}
	}
	return false
}

// quietDemo is a handler that passes on the records about the demo's files
// (by their ingestion id) below ERROR only when h takes DEBUG records: the
// demo's refused rows are expected, and the summary's table counts them.
// Other records pass unchanged.
type quietDemo struct {
	h    slog.Handler
	demo *demoFiles
	// id is the ingestion id among the attributes given by WithAttrs.
	id      string
	grouped bool
}

func (q *quietDemo) Enabled(ctx context.Context, level slog.Level) bool {
	return q.h.Enabled(ctx, level)
}

func (q *quietDemo) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *q
	c.h = q.h.WithAttrs(attrs)
	if !q.grouped {
		for _, a := range attrs {
			if a.Key == logging.KeyIngestionID {
				c.id = a.Value.String()
			}
		}
	}
	return &c
}

func (q *quietDemo) WithGroup(name string) slog.Handler {
	c := *q
	c.h = q.h.WithGroup(name)
	c.grouped = c.grouped || name != ""
	return &c
}

func (q *quietDemo) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && !q.h.Enabled(ctx, slog.LevelDebug) {
		id := q.id
		if id == "" && !q.grouped {
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == logging.KeyIngestionID {
					id = a.Value.String()
					return false
				}
				return true
			})
		}
		if q.demo.has(id) {
			return nil
		}
	}
	return q.h.Handle(ctx, r)
}
