package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// consoleLine logs one record through a console handler and returns the
// line without its time.
func consoleLine(t *testing.T, opts logging.ConsoleOptions, log func(*slog.Logger)) string {
	t.Helper()
	var buf bytes.Buffer
	log(slog.New(logging.NewConsole(&buf, opts)))
	out := buf.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("console wrote %q, want one line", out)
	}
	clock, rest, ok := strings.Cut(out, " ")
	if _, err := time.Parse(time.TimeOnly, clock); !ok || err != nil {
		t.Fatalf("line %q does not start with the time: %v", out, err)
	}
	return strings.TrimSuffix(rest, "\n")
}

func TestNewConsole(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	cases := []struct {
		name string
		opts logging.ConsoleOptions
		log  func(*slog.Logger)
		want string
	}{
		{
			name: "function column, attributes in order",
			log: func(l *slog.Logger) {
				l.With(logging.KeyFunction, "load-csv", logging.KeyIngestionID, "gs://b/o.csv#1").
					Warn("row rejected", "line", 3, "errors", []map[string]string{{"field": "id", "rule": "range"}})
			},
			want: `WARN  load-csv      row rejected  ingestion_id=gs://b/o.csv#1  line=3  errors=[{"field":"id","rule":"range"}]`,
		},
		{
			name: "no function, quoted strings, errors, groups",
			log: func(l *slog.Logger) {
				l.WithGroup("req").Error("failed", "path", "/a b", logging.KeyError, errors.New("boom"), slog.Group("g", "n", 1),
					"outcome", outcome("LOADED"), "took", 1500*time.Millisecond)
			},
			want: `ERROR -             failed  req.path="/a b"  req.error="boom"  req.g.n=1  req.outcome=LOADED  req.took=1.5s`,
		},
		{
			name: "long values are cut",
			log:  func(l *slog.Logger) { l.Info("big", "v", long) },
			want: `INFO  -             big  v=` + strings.Repeat("x", 79) + "…",
		},
		{
			name: "colour",
			opts: logging.ConsoleOptions{Color: true},
			log:  func(l *slog.Logger) { l.Info("hello", "k", "v") },
			want: "\x1b[36mINFO \x1b[0m -             \x1b[1mhello\x1b[0m  \x1b[2mk=\x1b[0mv",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := consoleLine(t, tc.opts, tc.log); got != tc.want {
				t.Errorf("line\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// outcome is a string type, as the packages' enumerations are.
type outcome string

func TestNewConsole_Level(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(logging.NewConsole(&buf, logging.ConsoleOptions{Level: slog.LevelWarn}))
	l.Info("hidden")
	l.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Errorf("at level WARN the console wrote %q", out)
	}
}

// TestRelay passes the JSON lines of New through a relay to a console and to
// New again: the console shows them readable, and the JSON comes out as it
// went in.
func TestRelay(t *testing.T) {
	t.Parallel()
	var src bytes.Buffer
	child := logging.New(&src, slog.LevelDebug).With(logging.KeyFunction, "insert-rows", "instance", "insert-rows-2")
	child.Debug("debug line")
	child.Warn("batch refused", "rows", 2, "ratio", 0.5, "ok", false, "detail", map[string]any{"b": 1, "a": []int{1}})
	src.WriteString("panic: not JSON\n\n")

	var console, relayed bytes.Buffer
	r := logging.NewRelay(logging.NewConsole(&console, logging.ConsoleOptions{}))
	data := src.Bytes()
	// Written in two pieces that split a line: the relay waits for its end.
	if _, err := r.Write(data[:10]); err != nil || console.Len() != 0 {
		t.Fatalf("after half a line: err %v, console %q", err, console.String())
	}
	if _, err := r.Write(data[10:]); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(console.String(), "\n"), "\n")
	want := []string{
		`WARN  insert-rows   batch refused  instance=insert-rows-2  rows=2  ratio=0.5  ok=false  detail={"a":[1],"b":1}`,
		`INFO  -             panic: not JSON`,
	}
	if len(lines) != len(want) {
		t.Fatalf("console shows %q, want %d lines (DEBUG hidden)", lines, len(want))
	}
	for i, line := range lines {
		if _, rest, _ := strings.Cut(line, " "); rest != want[i] {
			t.Errorf("line %d\n got %q\nwant %q", i, rest, want[i])
		}
	}

	if _, err := logging.NewRelay(logging.New(&relayed, slog.LevelDebug).Handler()).Write(data); err != nil {
		t.Fatal(err)
	}
	in := strings.Split(strings.TrimSpace(src.String()), "\n")[:2]
	out := strings.Split(strings.TrimSpace(relayed.String()), "\n")[:2]
	for i := range in {
		var a, b any
		if err := errors.Join(json.Unmarshal([]byte(in[i]), &a), json.Unmarshal([]byte(out[i]), &b)); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if ja, jb := mustJSON(t, a), mustJSON(t, b); ja != jb {
			t.Errorf("line %d relayed as JSON\n got %s\nwant %s", i, jb, ja)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
