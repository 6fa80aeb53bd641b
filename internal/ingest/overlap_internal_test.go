package ingest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestOverlapWriter checks that writes of every size arrive whole and in
// order, across buffers.
func TestOverlapWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	o := newOverlapWriter(&out)
	rng := rand.New(rand.NewPCG(3, 4))
	var want []byte
	for len(want) < 5*overlapBufferBytes {
		p := make([]byte, rng.IntN(3*overlapBufferBytes/2))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if n, err := o.Write(p); n != len(p) || err != nil {
			t.Fatalf("Write of %d bytes = %d, %v", len(p), n, err)
		}
		want = append(want, p...)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("wrote %d bytes, %d arrived, or not in order", len(want), out.Len())
	}
}

// failingWriter fails every write after the first.
type failingWriter struct{ writes int }

var errFailing = errors.New("the upload failed")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.writes++; f.writes > 1 {
		return 0, errFailing
	}
	return len(p), nil
}

// TestOverlapWriter_Error checks that an error of the underlying writer
// stops the writes and is returned by Close.
func TestOverlapWriter_Error(t *testing.T) {
	t.Parallel()
	o := newOverlapWriter(&failingWriter{})
	p := make([]byte, overlapBufferBytes)
	var err error
	for range 4 * overlapBuffers {
		if _, err = o.Write(p); err != nil {
			break
		}
	}
	if !errors.Is(err, errFailing) {
		t.Errorf("Write after the failure = %v, want %v", err, errFailing)
	}
	if err := o.Close(); !errors.Is(err, errFailing) {
		t.Errorf("Close = %v, want %v", err, errFailing)
	}
}
