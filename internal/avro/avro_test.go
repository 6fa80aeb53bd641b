package avro_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	"github.com/linkedin/goavro/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
)

var schema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true, Description: "key"},
	{Name: "name", Type: bigquery.StringFieldType, Required: true},
	{Name: "at", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "note", Type: bigquery.StringFieldType},
	{Name: "when", Type: bigquery.TimestampFieldType},
	{Name: "raw", Type: bigquery.BytesFieldType},
}

func TestSchema(t *testing.T) {
	t.Parallel()
	got, err := avro.Schema("row", schema)
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(got), &parsed); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	want := map[string]any{
		"type": "record", "name": "row",
		"fields": []any{
			map[string]any{"name": "id", "type": "long", "doc": "key"},
			map[string]any{"name": "name", "type": "string"},
			map[string]any{"name": "at", "type": map[string]any{"type": "long", "logicalType": "timestamp-micros"}},
			map[string]any{"name": "note", "type": []any{"null", "string"}},
			map[string]any{"name": "when", "type": []any{"null", map[string]any{"type": "long", "logicalType": "timestamp-micros"}}},
			map[string]any{"name": "raw", "type": []any{"null", "bytes"}},
		},
	}
	if diff := cmp.Diff(want, parsed); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	if _, err := avro.Schema("bad", bigquery.Schema{{Name: "r", Type: bigquery.RecordFieldType}}); err == nil {
		t.Error("a RECORD column got an Avro schema")
	}
}

func TestWriter_RoundTrip(t *testing.T) {
	t.Parallel()
	for _, codec := range []string{avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			at := time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
			rows := [][]any{
				{int64(1), "Harold", at, "n", at.In(time.FixedZone("x", 3600)), []byte{0xff, 0}},
				{int64(2), "Ty", at, nil, nil, nil},
			}
			var buf bytes.Buffer
			w, err := avro.NewWriter(&buf, "row", schema, codec, "seed")
			if err != nil {
				t.Fatalf("NewWriter: %v", err)
			}
			for i := 0; i < 5000; i++ {
				if err := w.Write(rows[i%2]); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := w.Write([]any{int64(1)}); err == nil {
				t.Error("a row with too few values was accepted")
			}
			r, err := goavro.NewOCFReader(&buf)
			if err != nil {
				t.Fatalf("NewOCFReader: %v", err)
			}
			n := 0
			for r.Scan() {
				rec, err := r.Read()
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				m := rec.(map[string]any)
				if n%2 == 0 {
					if m["id"] != int64(1) || !m["at"].(time.Time).Equal(at) || m["note"].(map[string]any)["string"] != "n" ||
						!m["when"].(map[string]any)["long.timestamp-micros"].(time.Time).Equal(at) {
						t.Fatalf("row %d = %v", n, m)
					}
				} else if m["note"] != nil || m["when"] != nil || m["raw"] != nil {
					t.Fatalf("row %d has non-NULL optional values: %v", n, m)
				}
				n++
			}
			if n != 5000 || w.Rows() != 5000 {
				t.Errorf("read %d rows, writer counted %d, want 5000", n, w.Rows())
			}
		})
	}
}

// every is a schema with every column type the Writer encodes, REQUIRED and
// NULLABLE.
var every = bigquery.Schema{
	{Name: "l", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "d", Type: bigquery.FloatFieldType, Required: true},
	{Name: "b", Type: bigquery.BooleanFieldType, Required: true},
	{Name: "s", Type: bigquery.StringFieldType, Required: true},
	{Name: "y", Type: bigquery.BytesFieldType, Required: true},
	{Name: "t", Type: bigquery.TimestampFieldType, Required: true},
	{Name: "dt", Type: bigquery.DateFieldType, Required: true},
	{Name: "nl", Type: bigquery.IntegerFieldType},
	{Name: "nd", Type: bigquery.FloatFieldType},
	{Name: "nb", Type: bigquery.BooleanFieldType},
	{Name: "ns", Type: bigquery.StringFieldType},
	{Name: "ny", Type: bigquery.BytesFieldType},
	{Name: "nt", Type: bigquery.TimestampFieldType},
	{Name: "ndt", Type: bigquery.DateFieldType},
}

// rowFrom derives a row of every from seed bytes, so that the fuzzer
// explores values: extremes of integers, odd floats, any bytes as strings,
// times before 1970 and far ahead, and NULLs.
func rowFrom(data []byte) []any {
	next := func(n int) []byte {
		out := make([]byte, n)
		copy(out, data)
		data = data[min(n, len(data)):]
		return out
	}
	u64 := func() uint64 { return binary.LittleEndian.Uint64(next(8)) }
	str := func() string { return string(next(int(u64() % 40))) }
	at := func() time.Time {
		return time.UnixMicro(int64(u64()%(1<<50)) - 1<<49).UTC()
	}
	row := []any{int64(u64()), math.Float64frombits(u64()), u64()%2 == 1, str(), []byte(str()), at(), at()}
	for _, v := range row {
		if u64()%3 == 0 {
			v = nil
		}
		row = append(row, v)
	}
	return row
}

// goavroFile writes rows with goavro's own OCF writer, in blocks of 4096
// rows as the Writer cuts them.
func goavroFile(t testing.TB, schema bigquery.Schema, codec, seed string, rows [][]any) []byte {
	js, err := avro.Schema("row", schema)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(seed))
	var marker [16]byte
	copy(marker[:], sum[:])
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: js, CompressionName: codec, SyncMarker: marker})
	if err != nil {
		t.Fatal(err)
	}
	var avroTypes = map[bigquery.FieldType]string{bigquery.TimestampFieldType: "long.timestamp-micros", bigquery.DateFieldType: "int.date"}
	for len(rows) > 0 {
		n := min(len(rows), 4096)
		records := make([]any, n)
		for i, values := range rows[:n] {
			rec := map[string]any{}
			for j, f := range schema {
				v := values[j]
				if !f.Required && v != nil {
					branch := avroTypes[f.Type]
					if branch == "" {
						branch = map[bigquery.FieldType]string{bigquery.IntegerFieldType: "long", bigquery.FloatFieldType: "double",
							bigquery.BooleanFieldType: "boolean", bigquery.StringFieldType: "string", bigquery.BytesFieldType: "bytes"}[f.Type]
					}
					v = goavro.Union(branch, v)
				}
				rec[f.Name] = v
			}
			records[i] = rec
		}
		if err := w.Append(records); err != nil {
			t.Fatalf("goavro Append: %v", err)
		}
		rows = rows[n:]
	}
	return buf.Bytes()
}

func writerFile(t testing.TB, schema bigquery.Schema, codec, seed string, rows [][]any) []byte {
	var buf bytes.Buffer
	w, err := avro.NewWriter(&buf, "row", schema, codec, seed)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatalf("Write(%v): %v", r, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWriter_SameBytesAsGoavro holds the Writer's encoding to goavro's: the
// same rows give byte-identical files with every codec, over several
// blocks, with every column type and NULLs.
func TestWriter_SameBytesAsGoavro(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, 9000)
	for i := range rows {
		seed := make([]byte, 200)
		for j := range seed {
			seed[j] = byte(rng.Uint32())
		}
		rows[i] = rowFrom(seed)
	}
	for _, codec := range []string{avro.CodecNull, avro.CodecDeflate, avro.CodecSnappy} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			got, want := blocks(t, writerFile(t, every, codec, "s", rows), "s"), blocks(t, goavroFile(t, every, codec, "s", rows), "s")
			if !bytes.Equal(got, want) {
				t.Errorf("the Writer wrote %d bytes, goavro %d; they differ from byte %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

// blocks returns a file's blocks: what follows its header, which ends with
// the first sync marker. goavro writes the header's metadata in map order,
// which varies from run to run.
func blocks(t testing.TB, file []byte, seed string) []byte {
	sum := sha256.Sum256([]byte(seed))
	i := bytes.Index(file, sum[:16])
	if i < 0 {
		t.Fatalf("no sync marker in the file")
	}
	return file[i+16:]
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// FuzzWriter compares the Writer with goavro on one row derived from the
// fuzzer's bytes.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x80 any string \xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := [][]any{rowFrom(data)}
		if got, want := blocks(t, writerFile(t, every, avro.CodecNull, "f", rows), "f"), blocks(t, goavroFile(t, every, avro.CodecNull, "f", rows), "f"); !bytes.Equal(got, want) {
			t.Fatalf("row %v: the Writer and goavro differ from byte %d", rows[0], firstDiff(got, want))
		}
	})
}

func TestWriter_WrongType(t *testing.T) {
	t.Parallel()
	w, err := avro.NewWriter(io.Discard, "row", schema, avro.CodecNull, "s")
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write([]any{int64(1), "Ty", "2021-07-27", nil, nil, nil})
	if err == nil || !strings.Contains(err.Error(), "column at: cannot encode a Go string as TIMESTAMP") {
		t.Errorf("Write of a string as a TIMESTAMP = %v", err)
	}
	if err := w.Write([]any{int64(1), nil, time.Now(), nil, nil, nil}); err == nil || !strings.Contains(err.Error(), "column name") {
		t.Errorf("Write of NULL in a REQUIRED column = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriter_WriteEncoded holds rows encoded with the Append functions and
// added with WriteEncoded to Write's encoding of the same rows. Added one by
// one, the files' blocks are byte-identical, over several blocks, with
// NULLs; added in groups of up to 3,000 rows, blocks are cut between groups
// and the file reads back the same records.
func TestWriter_WriteEncoded(t *testing.T) {
	t.Parallel()
	cols := schema[:5] // long, string, timestamp, then two NULLABLE columns
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([][]any, 9000)
	encoded := make([][]byte, len(rows))
	for i := range rows {
		at := time.UnixMicro(rng.Int64N(1<<50) - 1<<49).UTC()
		name := strings.Repeat("é", rng.IntN(4)) + "x"
		row := []any{rng.Int64() - 1<<62, name, at, nil, nil}
		b := avro.AppendLong(avro.AppendString(avro.AppendLong(nil, row[0].(int64)), name), at.UnixMicro())
		if rng.IntN(2) == 0 {
			row[3] = name
			b = avro.AppendString(avro.AppendNonNull(b), name)
		} else {
			b = avro.AppendNull(b)
		}
		if rng.IntN(2) == 0 {
			row[4] = at
			b = avro.AppendLong(avro.AppendNonNull(b), at.UnixMicro())
		} else {
			b = avro.AppendNull(b)
		}
		rows[i], encoded[i] = row, b
	}
	write := func(group func() int) []byte {
		var buf bytes.Buffer
		w, err := avro.NewWriter(&buf, "row", cols, avro.CodecSnappy, "s")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(encoded); {
			n := min(group(), len(encoded)-i)
			if err := w.WriteEncoded(bytes.Join(encoded[i:i+n], nil), n); err != nil {
				t.Fatal(err)
			}
			i += n
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if w.Rows() != int64(len(rows)) {
			t.Errorf("Rows() = %d, want %d", w.Rows(), len(rows))
		}
		return buf.Bytes()
	}
	boxed := writerFile(t, cols, avro.CodecSnappy, "s", rows)
	got, want := blocks(t, write(func() int { return 1 }), "s"), blocks(t, boxed, "s")
	if !bytes.Equal(got, want) {
		t.Errorf("WriteEncoded wrote %d bytes, Write %d; they differ from byte %d", len(got), len(want), firstDiff(got, want))
	}
	grouped := write(func() int { return 1 + rng.IntN(3000) })
	if diff := cmp.Diff(records(t, boxed), records(t, grouped)); diff != "" {
		t.Errorf("rows added in groups read back differently (-Write +WriteEncoded):\n%s", diff)
	}
}

// records reads back the records of a container file.
func records(t *testing.T, file []byte) []any {
	t.Helper()
	r, err := goavro.NewOCFReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var recs []any
	for r.Scan() {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return recs
}
