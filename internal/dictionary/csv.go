package dictionary

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// Record is one record of a CSV file, as returned by Reader.Next.
type Record struct {
	// Line is the 1-based line number of the record's first line.
	Line int64
	// Raw is the record as in the file, without its line terminator. It is
	// only valid until the next call to Next.
	Raw []byte
	// Row is the typed row when the record is valid.
	Row Row
	// Err lists every rule the record broke, numbered with Line; nil when
	// the record is valid.
	Err *RowError
}

// Reader reads a table's CSV file record by record: no header row (a first
// record that names the table's columns is skipped), comma separated,
// fields quoted as in RFC 4180, CRLF or LF line endings, with or without a
// final newline, and with or without a UTF-8 byte order mark. Empty lines
// are skipped but still counted in line numbers. Memory grows with the
// longest record, not with the file.
type Reader struct {
	table   *Table
	src     io.Reader
	rec     *recorder
	csv     *csv.Reader
	started bool
	first   bool
}

// NewReader returns a Reader of the table's CSV records from r. It does not
// read from r until the first call to Next.
func (t *Table) NewReader(r io.Reader) *Reader {
	rec := &recorder{}
	cr := csv.NewReader(rec)
	cr.FieldsPerRecord = -1 // ParseRecord reports the field count
	cr.ReuseRecord = true
	return &Reader{table: t, src: r, rec: rec, csv: cr, first: true}
}

// Next returns the next record: the 1-based line number of its first line,
// its raw bytes as in the file without the line terminator, and either its
// typed Row or a RowError. Raw is reused by the next call: copy it to keep
// it. A record that is not well-formed CSV (a bare quote, an unterminated
// quoted field) has the rule malformed with encoding/csv's message, and
// reading goes on with the next record; a record with the wrong number of
// fields has the rule field_count. Next returns io.EOF at the end of the
// input; any other error is an I/O error from the underlying reader, after
// which the Reader must not be used.
func (r *Reader) Next() (Record, error) {
	if !r.started {
		if err := r.start(); err != nil {
			return Record{}, err
		}
	}
	for {
		begin := r.csv.InputOffset()
		r.rec.release(begin)
		fields, err := r.csv.Read()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		var perr *csv.ParseError
		if err != nil && !errors.As(err, &perr) {
			return Record{}, fmt.Errorf("read %s CSV: %w", r.table.Name, err)
		}
		raw := trimRecord(r.rec.bytes(begin, r.csv.InputOffset()))
		if perr != nil {
			r.first = false
			line := int64(perr.StartLine)
			fe := FieldError{Rule: RuleMalformed, Message: perr.Error()}
			return Record{Line: line, Raw: raw, Err: r.table.rowError(line, fe)}, nil
		}
		if r.first {
			r.first = false
			if r.table.IsHeader(fields) {
				continue
			}
		}
		n, _ := r.csv.FieldPos(0)
		line := int64(n)
		row, rowErr := r.table.ParseRecord(line, fields)
		return Record{Line: line, Raw: raw, Row: row, Err: rowErr}, nil
	}
}

// start strips a UTF-8 byte order mark from the start of the input.
func (r *Reader) start() error {
	r.started = true
	var head [3]byte
	n, err := io.ReadFull(r.src, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		r.rec.src = r.src
		return fmt.Errorf("read %s CSV: %w", r.table.Name, err)
	}
	if n == len(head) && string(head[:]) == "\uFEFF" {
		r.rec.src = r.src
		return nil
	}
	r.rec.src = io.MultiReader(bytes.NewReader(head[:n]), r.src)
	return nil
}

// trimRecord removes the empty lines that csv.Reader skipped before a record
// and the record's line terminator. csv.Reader skips exactly the lines that
// are "\n" or "\r\n", and drops a "\r" that ends the input.
func trimRecord(b []byte) []byte {
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		default:
			b = bytes.TrimSuffix(b, []byte("\n"))
			return bytes.TrimSuffix(b, []byte("\r"))
		}
	}
}

// recorder is the source of the csv.Reader: it keeps the bytes read from
// src so that a record's raw bytes can be cut out with the csv.Reader's
// input offsets. Bytes before the current record are dropped when the
// buffer is full, so it holds about one record plus one read-ahead.
type recorder struct {
	src  io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
	keep int64 // input offset of the first byte still needed
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	if n > 0 {
		if drop := int(r.keep - r.base); drop > 0 && len(r.buf)+n > cap(r.buf) {
			r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
			r.base = r.keep
		}
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

// release tells the recorder that bytes before offset are no longer needed.
func (r *recorder) release(offset int64) { r.keep = offset }

// bytes returns the input between two offsets not yet released.
func (r *recorder) bytes(from, to int64) []byte {
	return r.buf[from-r.base : to-r.base]
}
