package dictionary

import (
	"errors"
	"io"
	"strconv"
	"testing"
)

// rowSource generates departments rows without holding them in memory.
type rowSource struct {
	next, last int
	pending    []byte
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.next > s.last {
			return 0, io.EOF
		}
		s.pending = strconv.AppendInt(s.pending, int64(s.next), 10)
		s.pending = append(s.pending, ",Research and Development\r\n"...)
		s.next++
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func TestReader_boundedBuffer(t *testing.T) {
	t.Parallel()
	tbl, _ := Default().Table("departments")
	const rows = 300_000
	r := tbl.NewReader(&rowSource{next: 1, last: rows})
	n := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != nil {
			t.Fatalf("line %d: %v", rec.Line, rec.Err)
		}
		n++
	}
	if n != rows {
		t.Fatalf("read %d rows, want %d", n, rows)
	}
	// About one record, for a file of about 10 MB.
	for name, got := range map[string]int{"kept": cap(r.kept), "value": cap(r.value)} {
		if limit := 16 << 10; got > limit {
			t.Errorf("%s buffer capacity %d bytes after %d rows, want at most %d", name, got, rows, limit)
		}
	}
}
