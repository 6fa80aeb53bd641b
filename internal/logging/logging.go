// Package logging writes structured logs as JSON lines that Cloud Logging
// understands: severity, message, time, trace and labels.
package logging

import (
	"context"
	"io"
	"log/slog"
)

// Keys that Cloud Logging reads from a JSON log line, and the project's own
// attribute keys, kept in one place so every component spells them alike.
const (
	KeySeverity    = "severity"
	KeyMessage     = "message"
	KeyTime        = "time"
	KeyTrace       = "logging.googleapis.com/trace"
	KeyLabels      = "logging.googleapis.com/labels"
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

type loggerKey struct{}

// WithLogger returns a context that carries logger.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// FromContext returns the logger carried by ctx, or slog.Default().
func FromContext(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// Trace returns the attribute that links a log line to a Cloud Trace trace,
// from the value of an X-Cloud-Trace-Context header ("TRACE_ID/SPAN;o=1").
// It returns an empty attribute when the header has no trace id.
func Trace(project, header string) slog.Attr {
	id := header
	for i := 0; i < len(header); i++ {
		if header[i] == '/' || header[i] == ';' {
			id = header[:i]
			break
		}
	}
	if id == "" || project == "" {
		return slog.Attr{}
	}
	return slog.String(KeyTrace, "projects/"+project+"/traces/"+id)
}
