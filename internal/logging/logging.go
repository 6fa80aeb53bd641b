// Package logging writes structured logs as JSON lines that Cloud Logging
// understands: severity, message and time.
package logging

import (
	"io"
	"log/slog"
)

// Keys that Cloud Logging reads from a JSON log line, and the project's own
// attribute keys, kept in one place so every component spells them alike.
const (
	KeySeverity    = "severity"
	KeyMessage     = "message"
	KeyTime        = "time"
	KeyIngestionID = "ingestion_id"
	KeyTable       = "table"
	KeyError       = "error"
)

// New returns a logger that writes JSON lines to w at level and above.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: replaceAttr,
	})
	return slog.New(h)
}

// replaceAttr renames slog's built-in keys to Cloud Logging's and maps levels
// to Cloud Logging severities.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.MessageKey:
		a.Key = KeyMessage
	case slog.TimeKey:
		a.Key = KeyTime
	case slog.LevelKey:
		a.Key = KeySeverity
		a.Value = slog.StringValue(severity(a.Value.Any()))
	}
	return a
}

func severity(v any) string {
	level, ok := v.(slog.Level)
	if !ok {
		return "DEFAULT"
	}
	switch {
	case level >= slog.LevelError:
		return "ERROR"
	case level >= slog.LevelWarn:
		return "WARNING"
	case level >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}
