package stack

import (
	"bytes"
	"io"
	"sync"
)

// Bounds of an instance's output kept in memory.
const (
	// maxLine is the longest line held back until its end; a longer one is
	// passed on in pieces.
	maxLine = 64 << 10
	// tailBytes is how much of its latest output an instance keeps for the
	// error that reports its failure to start.
	tailBytes = 4 << 10
)

// syncWriter serializes the writes of several instances to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) writeLine(line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// An instance's logs must not stop it: a failed write loses the line.
	_, _ = s.w.Write(line)
}

// output receives the stdout and stderr of one instance and passes them on
// to a shared writer whole lines at a time, so that the JSON lines of
// several instances never interleave. It drops empty lines, which the
// Functions Framework prints after every request to flush Cloud Run's logs,
// and keeps the latest output for error messages.
type output struct {
	dest *syncWriter

	mu      sync.Mutex
	partial []byte
	tail    []byte
}

// Write passes on the complete lines of p and holds back the rest. It never
// fails, so that the instance never blocks on its logs.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, p...)
	if len(o.tail) > tailBytes {
		o.tail = append(o.tail[:0], o.tail[len(o.tail)-tailBytes:]...)
	}
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.pass(o.partial[:i+1])
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > maxLine {
		o.pass(append(o.partial, '\n'))
		o.partial = nil
	}
	o.partial = append([]byte(nil), o.partial...)
	return len(p), nil
}

// flush passes on what is left of an unfinished last line.
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.partial) > 0 {
		o.pass(append(o.partial, '\n'))
		o.partial = nil
	}
}

func (o *output) pass(line []byte) {
	if len(bytes.TrimSpace(line)) > 0 {
		o.dest.writeLine(line)
	}
}

// last returns the latest output of the instance, up to tailBytes.
func (o *output) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(bytes.TrimSpace(o.tail))
}
