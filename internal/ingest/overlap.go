package ingest

import (
	"io"
	"sync/atomic"
)

// overlapWriter writes to w on a goroutine of its own, so that the writer
// of the data goes on while w is busy: a Cloud Storage upload sends each
// chunk in one request and takes no more bytes until it is answered. It
// holds at most overlapBuffers buffers of overlapBufferBytes. The first
// error of w is returned by every later Write and by Close.
type overlapWriter struct {
	w    io.Writer
	cur  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  atomic.Pointer[error]
}

// The buffers of an overlapWriter: as many bytes as one upload chunk.
const (
	overlapBufferBytes = 1 << 20
	overlapBuffers     = stageChunk / overlapBufferBytes
)

func newOverlapWriter(w io.Writer) *overlapWriter {
	o := &overlapWriter{w: w, full: make(chan []byte, overlapBuffers), free: make(chan []byte, overlapBuffers), done: make(chan struct{})}
	for range overlapBuffers {
		o.free <- nil
	}
	go o.run()
	return o
}

// run writes the buffers it receives, until full is closed or w fails.
func (o *overlapWriter) run() {
	defer close(o.done)
	for b := range o.full {
		if o.err.Load() == nil {
			if _, err := o.w.Write(b); err != nil {
				o.err.Store(&err)
			}
		}
		o.free <- b[:0]
	}
}

func (o *overlapWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if err := o.err.Load(); err != nil {
			return 0, *err
		}
		if o.cur == nil {
			if o.cur = <-o.free; o.cur == nil {
				o.cur = make([]byte, 0, overlapBufferBytes)
			}
		}
		k := min(len(p), cap(o.cur)-len(o.cur))
		o.cur = append(o.cur, p[:k]...)
		p = p[k:]
		if len(o.cur) == cap(o.cur) {
			o.full <- o.cur
			o.cur = nil
		}
	}
	return n, nil
}

// Close writes what is buffered and waits for it to be written; it does
// not close w.
func (o *overlapWriter) Close() error {
	if len(o.cur) > 0 {
		o.full <- o.cur
	}
	o.cur = nil
	close(o.full)
	<-o.done
	if err := o.err.Load(); err != nil {
		return *err
	}
	return nil
}
