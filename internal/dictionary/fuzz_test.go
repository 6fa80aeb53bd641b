package dictionary_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// fuzzTable picks a table of the default dictionary.
func fuzzTable(i uint8) *dictionary.Table {
	tables := dictionary.Default().Tables()
	return tables[int(i)%len(tables)]
}

func FuzzParseRecord(f *testing.F) {
	f.Add(uint8(0), uint8(2), "7", "Sales", "", "", "")
	f.Add(uint8(1), uint8(5), "4535", "Marcelo Gonzalez", "2021-07-27T16:02:08Z", "1", "2")
	f.Add(uint8(1), uint8(5), "0", " ", "2021-07-27T16:02:08.1234567891+24:00", "-9223372036854775809", "1e3")
	f.Add(uint8(1), uint8(5), "1", "Ann", "0001-01-01T00:30:00+01:00", "007", "+5")
	f.Add(uint8(2), uint8(2), "id", strings.Repeat("é", 256), "", "", "")
	f.Add(uint8(2), uint8(2), "1", "Jos\xe9", "", "", "")
	f.Add(uint8(0), uint8(4), "1", "a", "b", "c", "")
	f.Add(uint8(1), uint8(0), "", "", "", "", "")
	f.Add(uint8(1), uint8(5), "2", "Ja\x00ne\tDoe\r\n", "2021-07-27T16:02:08Z", "1", "1\x7f")
	f.Fuzz(func(t *testing.T, tableIndex, n uint8, a, b, c, d, e string) {
		tbl := fuzzTable(tableIndex)
		record := []string{a, b, c, d, e}[:int(n)%6]
		row, rerr := tbl.ParseRecord(11, record)
		checkResult(t, tbl, 11, row, rerr)
		checkTypedValues(t, tbl, dictionary.Fields{Line: 11, Values: record}, row, rerr, make([]dictionary.Value, len(tbl.Fields)))
		if len(record) != len(tbl.Fields) {
			if diff := cmp.Diff([]fieldRule{{Rule: dictionary.RuleFieldCount}}, fieldRules(rerr)); diff != "" {
				t.Errorf("%d fields: errors mismatch (-want +got):\n%s", len(record), diff)
			}
		}
	})
}

func FuzzParseObjectValues(f *testing.F) {
	f.Add(uint8(0), []byte(`{"id": 7, "department": "Sales"}`))
	f.Add(uint8(1), []byte(`{"id":4535,"name":"Marcelo Gonzalez","datetime":"2021-07-27T16:02:08Z","department_id":1,"job_id":2}`))
	f.Add(uint8(1), []byte(`{"id":"1","name":5,"datetime":"2021-07-27 16:02:08","department_id":1.5,"job_id":-0,"x":null}`))
	f.Add(uint8(2), []byte(`{"id": 1, "job": "\u00e9\ud800", "id": 2}`))
	f.Add(uint8(2), []byte("{\"id\": 1, \"job\": \"Jos\xe9\"}"))
	f.Add(uint8(0), []byte(`{"id": 1,}`))
	f.Add(uint8(0), []byte(`[{"id": 1}]`))
	f.Add(uint8(0), []byte(`{"id": 1} {}`))
	f.Add(uint8(1), []byte(``))
	f.Fuzz(func(t *testing.T, tableIndex uint8, object []byte) {
		tbl := fuzzTable(tableIndex)
		row, rerr := parseObject(tbl, 5, object)
		checkResult(t, tbl, 5, row, rerr)
	})
}

// chunkReader returns at most size bytes per Read.
type chunkReader struct {
	data []byte
	size int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func FuzzReader(f *testing.F) {
	f.Add(uint8(0), []byte("1,Sales\r\n2,Legal"), uint8(0))
	f.Add(uint8(0), []byte("\uFEFFid,department\n\r\n1,\"Sales,\r\n\"\"EMEA\"\"\"\r\n2,Le\"gal\r\n3,\"x\r\n"), uint8(3))
	f.Add(uint8(1), []byte("1,Harold Vogt,2021-11-07T02:48:42Z,2,96\r\n2,Ty Hofer,2021-05-30T05:43:46Z,8,\r\n"), uint8(7))
	f.Add(uint8(2), []byte("\x00\xff\xfe,\x01\xc0\r\n\x89PNG\r\n\x1a\n\r"), uint8(1))
	f.Add(uint8(2), []byte("1\r\n2,a,b\r\n,\r\n\r\r\n\"\"\r"), uint8(2))
	f.Add(uint8(0), []byte("\"id\r\n\", department\r\n1,Sales\n"), uint8(5))
	f.Add(uint8(10), []byte("\uFEFF\xbb"), uint8(73)) // the record's Raw is also inside the byte order mark
	f.Fuzz(func(t *testing.T, tableIndex uint8, data []byte, chunk uint8) {
		tbl := fuzzTable(tableIndex)
		whole, err := readAll(t, tbl, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Next on a bytes.Reader: %v", err)
		}
		chunked, err := readAll(t, tbl, &chunkReader{data: data, size: 1 + int(chunk)%16})
		if err != nil {
			t.Fatalf("Next on a chunked reader: %v", err)
		}
		if diff := cmp.Diff(whole, chunked); diff != "" {
			t.Fatalf("records read whole and in chunks of %d differ (-whole +chunked):\n%s", 1+int(chunk)%16, diff)
		}
		// A byte at a time, no record is ever whole in the buffer: the
		// state machine reads every one, where plain records read whole
		// take the fast path.
		bytewise, err := readAll(t, tbl, iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("Next a byte at a time: %v", err)
		}
		if diff := cmp.Diff(whole, bytewise); diff != "" {
			t.Fatalf("records read whole and a byte at a time differ (-whole +bytewise):\n%s", diff)
		}
		checkRaw(t, data, whole)
		checkOffsets(t, tbl, data, bytes.NewReader(data), dictionary.Limits{})
		checkOffsets(t, tbl, data, iotest.OneByteReader(bytes.NewReader(data)), dictionary.Limits{})
	})
}

// checkOffsets asserts that each record's Raw is the input from its Offset,
// as Next and as NextFields give them; src is read by Next, then the input
// again by NextFields.
func checkOffsets(t *testing.T, tbl *dictionary.Table, data []byte, src io.Reader, limits dictionary.Limits) {
	t.Helper()
	check := func(line, offset int64, raw string) {
		end := offset + int64(len(raw))
		if offset < 0 || end > int64(len(data)) || string(data[offset:end]) != raw {
			t.Fatalf("line %d: Raw %q is not the input at offset %d", line, raw, offset)
		}
	}
	r := tbl.NewLimitedReader(src, limits)
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		check(rec.Line, rec.Offset, string(rec.Raw))
	}
	r = tbl.NewLimitedReader(bytes.NewReader(data), limits)
	for {
		f, err := r.NextFields()
		if err != nil {
			return
		}
		check(f.Line, f.Offset, f.Raw)
	}
}

// checkRaw asserts that the records' Raw bytes tile the input: the first is
// on its line, each next one follows the previous one's line terminator and
// any empty lines, and only line breaks follow the last one.
func checkRaw(t *testing.T, data []byte, records []readRecord) {
	t.Helper()
	if len(records) == 0 {
		return
	}
	lineAt := func(offset int) int64 { return 1 + int64(bytes.Count(data[:offset], []byte("\n"))) }
	pos := -1
	first := records[0]
	// The Reader strips a byte order mark: the record is after it.
	start := 0
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		start = 3
	}
	for off := start; off <= len(data); {
		i := bytes.Index(data[off:], []byte(first.Raw))
		if i < 0 {
			break
		}
		if lineAt(off+i) == first.Line {
			pos = off + i
			break
		}
		off += i + 1
	}
	if pos < 0 {
		t.Fatalf("first record: Raw %q not found on line %d", first.Raw, first.Line)
	}
	pos += len(first.Raw)
	for _, rec := range records[1:] {
		pos = skipEmptyLines(data, skipEmptyLines(data, pos, 1), -1)
		if !bytes.HasPrefix(data[pos:], []byte(rec.Raw)) {
			t.Fatalf("line %d: Raw %q is not at offset %d, where the input has %q", rec.Line, rec.Raw, pos, data[pos:min(len(data), pos+len(rec.Raw)+8)])
		}
		if line := lineAt(pos); line != rec.Line {
			t.Errorf("Raw %q starts on line %d, record says line %d", rec.Raw, line, rec.Line)
		}
		pos += len(rec.Raw)
	}
	if tail := bytes.Trim(data[pos:], "\r\n"); len(tail) > 0 {
		t.Errorf("input after the last record has more than line breaks: %q", data[pos:])
	}
}

// skipEmptyLines skips up to n (all if n < 0) line breaks, "\r\n" or "\n".
func skipEmptyLines(data []byte, pos, n int) int {
	for ; n != 0; n-- {
		switch {
		case bytes.HasPrefix(data[pos:], []byte("\r\n")):
			pos += 2
		case bytes.HasPrefix(data[pos:], []byte("\n")):
			pos++
		default:
			return pos
		}
	}
	return pos
}

func FuzzLimitedReader(f *testing.F) {
	f.Add(uint8(0), []byte("1,Sales\n2,\"Research\r\nand Development\"\n3,Legal"), uint8(8), uint8(2), uint8(3))
	f.Add(uint8(0), []byte("1,\"never closed\n2,Legal\n"), uint8(4), uint8(3), uint8(1))
	f.Add(uint8(1), []byte(",,,,,,,,,,\n1,Ann,2021-07-27T16:02:08Z,1,1\n"), uint8(40), uint8(5), uint8(7))
	f.Add(uint8(2), []byte("\uFEFF1,x\r\r\n\r"), uint8(1), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, tableIndex uint8, data []byte, maxBytes, maxFields, chunk uint8) {
		tbl := fuzzTable(tableIndex)
		limits := dictionary.Limits{MaxRecordBytes: 1 + int(maxBytes), MaxFields: 1 + int(maxFields)%8}
		whole, err := readAllLimited(t, tbl, bytes.NewReader(data), limits)
		if err != nil {
			t.Fatalf("Next on a bytes.Reader: %v", err)
		}
		chunked, err := readAllLimited(t, tbl, &chunkReader{data: data, size: 1 + int(chunk)%16}, limits)
		if err != nil {
			t.Fatalf("Next on a chunked reader: %v", err)
		}
		if diff := cmp.Diff(whole, chunked); diff != "" {
			t.Fatalf("records read whole and in chunks differ (-whole +chunked):\n%s", diff)
		}
		checkOffsets(t, tbl, data, &chunkReader{data: data, size: 1 + int(chunk)%16}, limits)
		for _, rec := range whole {
			if len(rec.Raw) > limits.MaxRecordBytes {
				t.Errorf("line %d: Raw has %d bytes, over the limit of %d", rec.Line, len(rec.Raw), limits.MaxRecordBytes)
			}
			if rec.Values != nil && len(rec.Values) > limits.MaxFields {
				t.Errorf("line %d: a valid row of %d fields, over the limit of %d", rec.Line, len(rec.Values), limits.MaxFields)
			}
		}
	})
}
