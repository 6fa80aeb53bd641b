package dictionary

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Record is one record of a CSV file, as returned by Reader.Next.
type Record struct {
	// Line is the 1-based line number of the record's first line.
	Line int64
	// Offset is where the record starts in the input, in bytes from its
	// first byte (a byte order mark included): Raw is the input from
	// there on.
	Offset int64
	// Raw is the record as in the file, without its line terminator, cut
	// to the reader's MaxRecordBytes when the record is longer. It is only
	// valid until the next call to Next.
	Raw []byte
	// Row is the typed row when the record is valid.
	Row Row
	// Err lists every rule the record broke, numbered with Line; nil when
	// the record is valid.
	Err *RowError
}

// The default limits of a Reader.
const (
	// DefaultMaxRecordBytes bounds a record: the widest valid row of the
	// dictionary is a few hundred bytes.
	DefaultMaxRecordBytes = 64 << 10
	// DefaultMaxFields bounds the fields of a record: the tables have at
	// most 5 columns.
	DefaultMaxFields = 64
)

// Limits bound what a Reader keeps of one record. A zero field takes its
// default.
type Limits struct {
	// MaxRecordBytes is the most bytes of a record, line terminator
	// excluded; a longer record breaks record_too_long.
	MaxRecordBytes int
	// MaxFields is the most fields of a record; a record with more breaks
	// too_many_fields.
	MaxFields int
}

func (l Limits) withDefaults() Limits {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Reader reads a table's CSV file record by record: no header row (a first
// record that names the table's columns is skipped), comma separated,
// fields quoted as in RFC 4180, CRLF or LF line endings, with or without a
// final newline, and with or without a UTF-8 byte order mark. Empty lines
// are skipped but still counted in line numbers. Memory is bounded by the
// limits, not by the file or its records: a record over a limit is read to
// its end without being kept.
type Reader struct {
	table  *Table
	src    io.Reader
	in     *bufio.Reader
	limits Limits
	// line is the line number of the next byte.
	line int64
	// raw, value and ends hold the current record: its bytes, its fields'
	// values end to end, and where each value ends in value. raw is kept
	// when readRecord reads it, and is in the buffer of in otherwise.
	raw  []byte
	kept []byte
	// rawText is raw in a string of its own when plainRecord read the
	// record, and empty otherwise (a record it reads is never empty).
	rawText string
	value   []byte
	ends    []int
	fields  []string
	// offset is where the current record starts in the input.
	offset int64
	// consumed counts the bytes read from in. arena holds the text of
	// the lines from byte arenaAt on, when arenaAt is consumed.
	consumed int64
	arena    string
	arenaAt  int64
	// slab holds the values of the valid rows read so far, end to end.
	slab  []any
	first bool
	err   error
}

// NewReader returns a Reader of the table's CSV records from r with the
// default limits. It does not read from r until the first call to Next.
func (t *Table) NewReader(r io.Reader) *Reader {
	return t.NewLimitedReader(r, Limits{})
}

// NewLimitedReader returns a Reader of the table's CSV records from r that
// keeps at most the limits of one record.
func (t *Table) NewLimitedReader(r io.Reader, limits Limits) *Reader {
	return &Reader{table: t, src: r, limits: limits.withDefaults(), line: 1, first: true}
}

// Next returns the next record: the 1-based line number of its first line,
// its raw bytes as in the file without the line terminator, and either its
// typed Row or a RowError. Raw is reused by the next call: copy it to keep
// it. A record that is not well-formed CSV (a bare quote, text after a
// closing quote, a quoted field still open at the end of the input) has the
// rule malformed, and reading goes on with the next line; a record with the
// wrong number of fields has the rule field_count. A record over
// MaxRecordBytes has the rule record_too_long and only its first
// MaxRecordBytes bytes in Raw: reading goes on after its end, so a quoted
// field that is never closed makes the rest of the input one such record.
// A record with more than MaxFields fields has the rule too_many_fields.
// Next returns io.EOF at the end of the input; any other error is an I/O
// error from the underlying reader, returned again by every later call.
func (r *Reader) Next() (Record, error) {
	line, broke, err := r.read()
	if err != nil {
		return Record{}, err
	}
	if broke != nil {
		return Record{Line: line, Offset: r.offset, Raw: r.raw, Err: r.table.rowError(line, *broke)}, nil
	}
	// The rows' values are cut from slabs of slabRows rows: one
	// allocation for many rows, each row's slice its own for good.
	width, n := len(r.table.Fields), len(r.slab)
	if n+width > cap(r.slab) {
		r.slab, n = make([]any, 0, slabRows*width), 0
	}
	row, rowErr := r.table.ParseRecordInto(line, r.fields, r.slab[n:n+width:n+width])
	if rowErr == nil {
		r.slab = r.slab[:n+width]
	}
	return Record{Line: line, Offset: r.offset, Raw: r.raw, Row: row, Err: rowErr}, nil
}

// Fields is a record as read from the file, before its values are
// validated: what Reader.NextFields returns.
type Fields struct {
	// Line is Record.Line.
	Line int64
	// Offset is Record.Offset.
	Offset int64
	// Raw is Record.Raw, in a string of its own.
	Raw string
	// Values are the record's fields, unquoted, for Table.ParseRecordInto.
	// The slice is reused by the next call; its strings are their own.
	Values []string
	// Err is the rule the record broke while being read (malformed,
	// record_too_long or too_many_fields), numbered with Line; Values is
	// nil then. It is nil otherwise.
	Err *RowError
}

// NextFields is Next without the validation of the values: the record's
// fields, kept in strings of their own, so that validating them can be done
// elsewhere, on other goroutines, with Table.ParseRecordInto. Records read
// by NextFields and by Next are the same, header skipped, and so are its
// errors.
func (r *Reader) NextFields() (Fields, error) {
	line, broke, err := r.read()
	if err != nil {
		return Fields{}, err
	}
	raw := r.rawText
	if raw == "" {
		raw = string(r.raw)
	}
	if broke != nil {
		return Fields{Line: line, Offset: r.offset, Raw: raw, Err: r.table.rowError(line, *broke)}, nil
	}
	return Fields{Line: line, Offset: r.offset, Raw: raw, Values: r.fields}, nil
}

// read reads the next record that is not the header row into r.raw and,
// unless it broke a rule while being read, r.fields. It returns the
// record's first line and the rule it broke.
func (r *Reader) read() (int64, *FieldError, error) {
	if r.err != nil {
		return 0, nil, r.err
	}
	if r.in == nil {
		if err := r.start(); err != nil {
			r.err = fmt.Errorf("read %s CSV: %w", r.table.Name, err)
			return 0, nil, r.err
		}
	}
	for {
		line, broke, err := r.nextRecord()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("read %s CSV: %w", r.table.Name, err)
			}
			r.err = err
			// Nothing is read after an error: the buffer serves the next
			// Reader.
			r.in.Reset(nil)
			buffers.Put(r.in)
			r.in = nil
			return 0, nil, err
		}
		if broke != nil {
			r.first = false
			return line, broke, nil
		}
		if r.first {
			r.first = false
			if r.table.IsHeader(r.fields) {
				continue
			}
		}
		return line, nil, nil
	}
}

// buffers holds the input buffers of Readers that reached the end of their
// input or an error, for the next ones: a batch of insert-rows reads one
// small body, and a new 64 KiB buffer per batch is most of what it would
// allocate besides its rows.
var buffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// start buffers the input and strips a UTF-8 byte order mark from its start.
func (r *Reader) start() error {
	r.in = buffers.Get().(*bufio.Reader)
	r.in.Reset(r.src)
	head, err := r.in.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if string(head) == "\uFEFF" {
		r.discard(3)
	}
	return nil
}

// nextRecord skips empty lines and reads the next record into r.raw and
// r.fields. It returns the record's first line and the rule it broke, if it
// broke one while being read; io.EOF when the input has no more record.
func (r *Reader) nextRecord() (int64, *FieldError, error) {
	// A record that starts the buffered bytes follows no empty line.
	if buf, _ := r.in.Peek(r.in.Buffered()); len(buf) == 0 || buf[0] == '\n' || buf[0] == '\r' {
		if err := r.skipEmptyLines(); err != nil {
			return 0, nil, err
		}
	}
	r.offset = r.consumed
	if line, ok := r.plainRecord(); ok {
		return line, nil, nil
	}
	r.rawText = ""
	line, broke, err := r.readRecord()
	if err == nil && broke == nil {
		r.splitFields()
	}
	return line, broke, err
}

// plainRecord reads the next record when it is one whole line in the
// reader's buffer, with no quote and within the limits, into r.raw and
// r.fields, and reports whether it did: the common case, cut with
// bytes.IndexByte rather than a byte at a time. readRecord reads every other
// record, and gives the same result for a plain one.
func (r *Reader) plainRecord() (int64, bool) {
	buf, _ := r.in.Peek(r.in.Buffered())
	end := bytes.IndexByte(buf, '\n')
	if end < 0 {
		return 0, false
	}
	raw := buf[:end]
	if len(raw) > 0 && raw[len(raw)-1] == '\r' {
		raw = raw[:len(raw)-1]
	}
	if len(raw) > r.limits.MaxRecordBytes || bytes.IndexByte(raw, '"') >= 0 {
		return 0, false
	}
	text := r.text(buf, len(raw))
	s := text
	r.fields = r.fields[:0]
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			break
		}
		if len(r.fields) == r.limits.MaxFields-1 {
			return 0, false
		}
		r.fields = append(r.fields, s[:i])
		s = s[i+1:]
	}
	r.fields = append(r.fields, s)
	// raw stays valid until the next read of r.in: the next call to Next.
	r.raw = raw
	r.rawText = text
	line := r.line
	r.line++
	r.discard(end + 1)
	return line, true
}

// text returns the first n bytes of buf, the unread bytes of r.in, as a
// string. It copies the complete lines of buf into one string, of which
// this record and the next plain ones are cut without a copy of their own,
// for as long as the string starts where r.in is read next.
func (r *Reader) text(buf []byte, n int) string {
	if r.arenaAt != r.consumed || len(r.arena) < n {
		r.arena = string(buf[:bytes.LastIndexByte(buf, '\n')+1])
		r.arenaAt = r.consumed
	}
	return r.arena[:n]
}

// discard consumes the next n bytes of r.in, and of the arena when it
// starts there.
func (r *Reader) discard(n int) {
	_, _ = r.in.Discard(n)
	if r.arenaAt == r.consumed && len(r.arena) >= n {
		r.arena = r.arena[n:]
		r.arenaAt += int64(n)
	}
	r.consumed += int64(n)
}

// splitFields cuts the record's values into r.fields.
func (r *Reader) splitFields() {
	s := string(r.value)
	r.fields = r.fields[:0]
	from := 0
	for _, end := range r.ends {
		r.fields = append(r.fields, s[from:end])
		from = end
	}
}

// slabRows is how many rows' values one allocation holds.
const slabRows = 256

// The states of the record parser.
const (
	fieldStart = iota
	unquoted
	quoted
	quoteInQuoted // a quote in a quoted field: its end, or the first of ""
	restOfLine    // after a syntax error, the record ends with the line
)

// readRecord reads the next record, after the empty lines, into r.raw,
// r.value and r.ends. It returns the record's first line and the rule it
// broke, if it broke one while being read. It works on the reader's buffer,
// a chunk at a time.
func (r *Reader) readRecord() (int64, *FieldError, error) {
	line := r.line
	r.kept, r.value, r.ends = r.kept[:0], r.value[:0], r.ends[:0]
	var (
		state     = fieldStart
		size      int
		tooLong   bool
		fields    int
		malformed string
		done      bool
	)
	maxBytes, maxFields := r.limits.MaxRecordBytes, r.limits.MaxFields
	for !done {
		want := max(r.in.Buffered(), 2)
		buf, err := r.in.Peek(want)
		eof := errors.Is(err, io.EOF)
		if err != nil && !eof && !errors.Is(err, bufio.ErrBufferFull) {
			return 0, nil, err
		}
		i := 0
		for i < len(buf) && !done {
			c, n := buf[i], 1
			if c == '\r' {
				switch {
				case i+1 < len(buf) && buf[i+1] == '\n':
					c, n = '\n', 2
				case i+1 < len(buf):
				case eof:
					// A "\r" that ends the input is dropped.
					i++
					buf = buf[:i]
					continue
				default:
					// Its next byte is not buffered yet.
					n = 0
				}
			}
			if n == 0 {
				break
			}
			i += n
			if c == '\n' {
				r.line++
				if state != quoted {
					if state != restOfLine {
						if !tooLong && fields < maxFields {
							r.ends = append(r.ends, len(r.value))
						}
						fields++
					}
					done = true
					break
				}
			}
			size += n
			if size > maxBytes {
				tooLong = true
			} else {
				r.kept = append(r.kept, buf[i-n:i]...)
			}
			keep := !tooLong && fields < maxFields
			switch state {
			case fieldStart, unquoted:
				switch {
				case c == ',':
					if keep {
						r.ends = append(r.ends, len(r.value))
					}
					fields++
					state = fieldStart
				case c == '"' && state == fieldStart:
					state = quoted
				case c == '"':
					malformed = fmt.Sprintf(`line %d: bare " in a non-quoted field`, r.line)
					state = restOfLine
				default:
					if keep {
						r.value = append(r.value, c)
					}
					state = unquoted
				}
			case quoted:
				if c != '"' {
					if keep {
						r.value = append(r.value, c)
					}
					break
				}
				state = quoteInQuoted
			case quoteInQuoted:
				switch c {
				case '"':
					if keep {
						r.value = append(r.value, '"')
					}
					state = quoted
				case ',':
					if keep {
						r.ends = append(r.ends, len(r.value))
					}
					fields++
					state = fieldStart
				default:
					malformed = fmt.Sprintf(`line %d: extraneous or missing " in a quoted field`, r.line)
					state = restOfLine
				}
			}
		}
		r.discard(i)
		if !done && eof && i == len(buf) {
			// The end of the input ends the record.
			switch state {
			case quoted:
				malformed = "a quoted field is still open at the end of the file"
				r.kept = bytes.TrimSuffix(bytes.TrimSuffix(r.kept, []byte("\n")), []byte("\r"))
			case fieldStart, unquoted, quoteInQuoted:
				if !tooLong && fields < maxFields {
					r.ends = append(r.ends, len(r.value))
				}
				fields++
			}
			done = true
		}
	}
	r.raw = r.kept
	switch {
	case tooLong:
		return line, &FieldError{Rule: RuleRecordTooLong, Message: fmt.Sprintf("the record has more than %d bytes", maxBytes)}, nil
	case fields > maxFields:
		return line, &FieldError{Rule: RuleTooManyFields, Message: fmt.Sprintf("the record has more than %d fields", maxFields)}, nil
	case malformed != "":
		return line, &FieldError{Rule: RuleMalformed, Message: malformed}, nil
	}
	return line, nil, nil
}

// skipEmptyLines skips the lines that are only "\n" or "\r\n", and a "\r"
// that ends the input.
func (r *Reader) skipEmptyLines() error {
	for {
		p, err := r.in.Peek(2)
		switch {
		case len(p) > 0 && p[0] == '\n':
			r.discard(1)
		case len(p) == 2 && p[0] == '\r' && p[1] == '\n':
			r.discard(2)
		case len(p) == 1 && p[0] == '\r' && errors.Is(err, io.EOF):
			r.discard(1)
			return io.EOF
		case len(p) == 0:
			return err
		case err != nil && !errors.Is(err, io.EOF):
			return err
		default:
			return nil
		}
		r.line++
	}
}
