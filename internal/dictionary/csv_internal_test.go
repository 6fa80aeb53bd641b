package dictionary

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
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

// FuzzPlainInteger holds the fast path of integers to strconv.ParseInt:
// when it takes a string, ParseInt gives the same value, greater than 0,
// and it takes every such value of up to 18 digits.
func FuzzPlainInteger(f *testing.F) {
	for _, s := range []string{"1", "4535", "007", "0", "-1", "+1", "", " 1", "1 ", "1e3", "0x10", "123456789012345678", "1234567890123456789", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainInteger(s)
		want, err := strconv.ParseInt(s, 10, 64)
		if ok && (err != nil || got != want || got <= 0) {
			t.Fatalf("plainInteger(%q) = %d, strconv.ParseInt = %d, %v", s, got, want, err)
		}
		if !ok && err == nil && want > 0 && len(s) <= 18 && strconv.FormatInt(want, 10) == strings.TrimLeft(s, "0") {
			t.Fatalf("plainInteger(%q) refused the common form", s)
		}
	})
}

// FuzzPlainTimestamp holds the fast path of timestamps to time.Parse: when
// it takes a string, time.Parse gives the same instant, and it takes the
// common form.
func FuzzPlainTimestamp(f *testing.F) {
	for _, s := range []string{"2021-07-27T16:02:08Z", "2020-02-29T23:59:59Z", "2021-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2021-07-27T24:00:00Z", "2021-07-27t16:02:08Z", "2021-07-27T16:02:60Z", "2021-13-01T00:00:00Z", "+021-07-27T16:02:08Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainTimestamp(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok && (err != nil || got != want.UnixMicro()) {
			t.Fatalf("plainTimestamp(%q) = %v, time.Parse = %v, %v", s, got, want, err)
		}
		if !ok && err == nil && len(s) == 20 && want.Year() >= 1 && strings.HasSuffix(s, "Z") && want.Format(time.RFC3339) == s {
			t.Fatalf("plainTimestamp(%q) refused the common form", s)
		}
	})
}
