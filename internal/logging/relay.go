package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Relay is a writer that takes the output of another process, JSON log lines
// as New writes them, and logs each line again through a handler, so that a
// program's logs and those of its child processes share one format, one
// level and one destination. Its methods are safe for concurrent use.
type Relay struct {
	h slog.Handler

	mu      sync.Mutex
	partial []byte
}

// NewRelay returns a relay to h.
func NewRelay(h slog.Handler) *Relay { return &Relay{h: h} }

// Write logs every complete line of p and holds back an unfinished last
// line for the next Write. A JSON line keeps its time, severity, message and
// attributes, in order; any other line is logged as its text at INFO. Empty
// lines are dropped. Write never fails: a line the handler fails to write is
// lost, so that a child process never blocks on its logs.
func (r *Relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		r.relay(r.partial[:i])
		r.partial = r.partial[i+1:]
	}
	r.partial = append([]byte(nil), r.partial...)
	return len(p), nil
}

func (r *Relay) relay(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	rec, ok := parseRecord(line)
	if !ok {
		rec = slog.NewRecord(time.Now(), slog.LevelInfo, string(line), 0)
	}
	ctx := context.Background()
	if r.h.Enabled(ctx, rec.Level) {
		_ = r.h.Handle(ctx, rec)
	}
}

// parseRecord reads a JSON log line, keeping its members in order.
func parseRecord(line []byte) (slog.Record, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return slog.Record{}, false
	}
	var (
		when    time.Time
		level   = slog.LevelInfo
		message string
		attrs   []slog.Attr
	)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return slog.Record{}, false
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return slog.Record{}, false
		}
		switch key {
		case KeyTime:
			var s string
			if json.Unmarshal(raw, &s) == nil {
				when, _ = time.Parse(time.RFC3339Nano, s)
			}
		case KeySeverity:
			var s string
			_ = json.Unmarshal(raw, &s)
			level = severityLevel(s)
		case KeyMessage:
			_ = json.Unmarshal(raw, &message)
		default:
			attrs = append(attrs, slog.Attr{Key: key, Value: jsonValue(raw)})
		}
	}
	if _, err := dec.Token(); err != nil {
		return slog.Record{}, false
	}
	if when.IsZero() {
		when = time.Now()
	}
	rec := slog.NewRecord(when, level, message, 0)
	rec.AddAttrs(attrs...)
	return rec, true
}

// severityLevel maps a Cloud Logging severity to a slog level.
func severityLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "DEBUG":
		return slog.LevelDebug
	case "WARNING":
		return slog.LevelWarn
	case "ERROR", "CRITICAL", "ALERT", "EMERGENCY":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// jsonValue turns a JSON value into a slog value: strings, integers,
// numbers and booleans as such, objects and arrays kept as JSON.
func jsonValue(raw json.RawMessage) slog.Value {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return slog.StringValue(string(raw))
	}
	switch x := v.(type) {
	case string:
		return slog.StringValue(x)
	case bool:
		return slog.BoolValue(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return slog.Int64Value(i)
		}
		if f, err := x.Float64(); err == nil {
			return slog.Float64Value(f)
		}
	case nil:
		return slog.AnyValue(nil)
	}
	return slog.AnyValue(raw)
}
