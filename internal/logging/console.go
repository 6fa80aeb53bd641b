package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// KeyFunction is the attribute that names the function a log line comes
// from; the console shows it in a column of its own.
const KeyFunction = "function"

// maxConsoleValue is the most characters of one attribute value that a
// console line shows; a longer value is cut and ends with an ellipsis.
const maxConsoleValue = 80

// ConsoleOptions configures NewConsole.
type ConsoleOptions struct {
	// Level is the least severe level written; nil means slog.LevelInfo.
	Level slog.Leveler
	// Color marks levels with ANSI colours, for a terminal.
	Color bool
}

// NewConsole returns a handler for a person at a terminal: one short line
// per record, with the time, the level, the function (the KeyFunction
// attribute), the message and the other attributes as key=value, each value
// cut to 80 characters. Lines are written whole, one Write each, so that
// several goroutines never interleave them.
func NewConsole(w io.Writer, opts ConsoleOptions) slog.Handler {
	if opts.Level == nil {
		opts.Level = slog.LevelInfo
	}
	return &console{out: &lockedWriter{w: w}, opts: opts}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// console is the handler NewConsole returns. attrs holds the attributes
// given by WithAttrs, their keys prefixed with the open groups.
type console struct {
	out      *lockedWriter
	opts     ConsoleOptions
	function string
	attrs    []slog.Attr
	prefix   string
}

func (h *console) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.opts.Level.Level()
}

func (h *console) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		c.add(a)
	}
	return &c
}

func (h *console) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

// add records a, flattening groups into dotted keys and taking the function
// out of the attributes.
func (h *console) add(a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Key == KeyFunction && h.prefix == "" && a.Value.Kind() == slog.KindString {
		h.function = a.Value.String()
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := *h
		if a.Key != "" {
			g.prefix = h.prefix + a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			g.add(ga)
		}
		h.attrs, h.function = g.attrs, g.function
		return
	}
	a.Key = h.prefix + a.Key
	h.attrs = append(h.attrs, a)
}

// ANSI colours of the levels, and the faint style of the attribute keys.
const (
	ansiReset = "\x1b[0m"
	ansiFaint = "\x1b[2m"
	ansiBold  = "\x1b[1m"
)

func levelStyle(l slog.Level) (label, color string) {
	switch {
	case l >= slog.LevelError:
		return "ERROR", "\x1b[31m"
	case l >= slog.LevelWarn:
		return "WARN ", "\x1b[33m"
	case l >= slog.LevelInfo:
		return "INFO ", "\x1b[36m"
	default:
		return "DEBUG", "\x1b[90m"
	}
}

func (h *console) Handle(_ context.Context, r slog.Record) error {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		c.add(a)
		return true
	})
	var b bytes.Buffer
	if !r.Time.IsZero() {
		b.WriteString(r.Time.Local().Format(time.TimeOnly))
		b.WriteByte(' ')
	}
	label, color := levelStyle(r.Level)
	c.style(&b, color, label)
	b.WriteByte(' ')
	function := c.function
	if function == "" {
		function = "-"
	}
	fmt.Fprintf(&b, "%-13s ", function)
	c.style(&b, ansiBold, r.Message)
	for _, a := range c.attrs {
		b.WriteString("  ")
		c.style(&b, ansiFaint, a.Key+"=")
		b.WriteString(consoleValue(a.Value))
	}
	b.WriteByte('\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(b.Bytes())
	return err
}

func (h *console) style(b *bytes.Buffer, style, s string) {
	if h.opts.Color {
		b.WriteString(style)
		b.WriteString(s)
		b.WriteString(ansiReset)
		return
	}
	b.WriteString(s)
}

// consoleValue formats v for a console line: strings quoted when they hold
// spaces or quotes, errors by their message, other values as compact JSON,
// all cut to maxConsoleValue characters.
func consoleValue(v slog.Value) string {
	var s string
	switch v.Kind() {
	case slog.KindString:
		s = consoleString(v.String())
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		switch a := v.Any().(type) {
		case error:
			s = strconv.Quote(a.Error())
		case fmt.Stringer:
			s = consoleString(a.String())
		case json.RawMessage:
			var c bytes.Buffer
			if json.Compact(&c, a) == nil {
				s = c.String()
			} else {
				s = string(a)
			}
		default:
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.String {
				s = consoleString(rv.String())
			} else if j, err := json.Marshal(a); err == nil {
				s = string(j)
			} else {
				s = fmt.Sprint(a)
			}
		}
	default:
		s = v.String()
	}
	if utf8.RuneCountInString(s) > maxConsoleValue {
		s = string([]rune(s)[:maxConsoleValue-1]) + "…"
	}
	return s
}

// consoleString quotes s when it is empty or holds spaces, quotes or '='.
func consoleString(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return strconv.Quote(s)
	}
	return s
}
