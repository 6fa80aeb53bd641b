package ingest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/avro"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// TestRowEncoder holds the rows the validators encode to avro.Writer.Write
// of the same rows' boxed values and ingestion columns: the staged files'
// blocks are byte-identical, for every table and for one of NULLABLE
// columns of each type, over several blocks.
func TestRowEncoder(t *testing.T) {
	t.Parallel()
	notes := testutil.Table(t, "notes", `[
		{"name": "id", "type": "INTEGER", "mode": "REQUIRED"},
		{"name": "note", "type": "STRING", "mode": "NULLABLE", "maxLength": "8"},
		{"name": "seen", "type": "TIMESTAMP", "mode": "NULLABLE"},
		{"name": "score", "type": "INTEGER", "mode": "NULLABLE"}]`)
	tables := append(dictionary.Default().Tables(), notes)
	for _, tbl := range tables {
		t.Run(tbl.Name, func(t *testing.T) {
			t.Parallel()
			const id = "gs://landing/x.csv#7"
			at := time.Date(2026, 12, 3, 15, 4, 5, 123456000, time.UTC)
			enc, err := newRowEncoder(tbl, id, at)
			if err != nil {
				t.Fatal(err)
			}
			var boxed, encoded bytes.Buffer
			bw, err := avro.NewWriter(&boxed, "row", warehouse.RawSchema(tbl), avro.CodecSnappy, id)
			if err != nil {
				t.Fatal(err)
			}
			ew, err := avro.NewWriter(&encoded, "row", warehouse.RawSchema(tbl), avro.CodecSnappy, id)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, uint64(len(tbl.Name))))
			typed := make([]dictionary.Value, len(tbl.Fields))
			valid := 0
			for line := int64(1); line <= 9000; line++ {
				record := make([]string, len(tbl.Fields))
				for i, f := range tbl.Fields {
					record[i] = fieldText(rng, f)
				}
				row, rerr := tbl.ParseRecordInto(line, record, nil)
				terr := tbl.ParseRecordValues(line, record, typed)
				if (rerr == nil) != (terr == nil) {
					t.Fatalf("line %d %q: ParseRecordInto %v, ParseRecordValues %v", line, record, rerr, terr)
				}
				if rerr != nil {
					continue
				}
				valid++
				if err := bw.Write(append(row.Values, id, at, line)); err != nil {
					t.Fatal(err)
				}
				if err := ew.WriteEncoded(enc.append(nil, typed, line), 1); err != nil {
					t.Fatal(err)
				}
			}
			for _, w := range []*avro.Writer{bw, ew} {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if valid < 4096 {
				t.Fatalf("only %d valid rows: fewer than one block", valid)
			}
			got, want := afterHeader(t, encoded.Bytes(), id), afterHeader(t, boxed.Bytes(), id)
			if !bytes.Equal(got, want) {
				t.Errorf("%d rows: encoded by the validators, %d bytes; by Write, %d bytes", valid, len(got), len(want))
			}
		})
	}
}

// TestAppendRejection holds the rejected_rows rows the validators encode to
// avro.Writer.Write of the same rows' values: the files' blocks are
// byte-identical, with every column NULL and not, over several blocks.
func TestAppendRejection(t *testing.T) {
	t.Parallel()
	const seed = "rejects"
	schema := warehouse.SystemSchema(warehouse.RejectedRows)
	var boxed, encoded bytes.Buffer
	bw, err := avro.NewWriter(&boxed, "row", schema, avro.CodecSnappy, seed)
	if err != nil {
		t.Fatal(err)
	}
	ew, err := avro.NewWriter(&encoded, "row", schema, avro.CodecSnappy, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	at := time.Date(2026, 12, 3, 15, 4, 5, 123456000, time.UTC)
	for line := int64(1); line <= 9000; line++ {
		file := warehouse.Rejection{At: at, IngestionID: "api:jobs:k1", Table: "jobs"}
		if rng.IntN(2) == 0 {
			file.Source, file.Generation = "gs://landing/jobs.csv", rng.Int64()
		}
		errs := []dictionary.FieldError{{Rule: dictionary.RuleFieldCount, Message: "expected 2 fields (id, job), got 3"}}
		if rng.IntN(2) == 0 {
			errs = []dictionary.FieldError{{Field: "id", Rule: dictionary.RuleType, Message: "not an integer"}, {Field: "job", Rule: dictionary.RuleTooLong, Message: "has 300 characters, at most 200 allowed"}}
		}
		raw := []string{"x,Sales", "7,Jos\xe9 <&>", "", "\"quoted, with a comma\",1"}[rng.IntN(4)]
		r := file.Reject(line, raw, &dictionary.RowError{Table: "jobs", Row: line, Errors: errs}, warehouse.ErrorsJSON(errs))
		if err := bw.Write(r.Values()); err != nil {
			t.Fatal(err)
		}
		if err := ew.WriteEncoded(appendRejection(nil, r), 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []*avro.Writer{bw, ew} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got, want := afterHeader(t, encoded.Bytes(), seed), afterHeader(t, boxed.Bytes(), seed)
	if !bytes.Equal(got, want) {
		t.Errorf("rejected_rows rows encoded by the validators, %d bytes; by Write, %d bytes", len(got), len(want))
	}
}

// fieldText returns a CSV field for f: mostly valid, in the common and the
// less common forms, sometimes empty, sometimes invalid.
func fieldText(rng *rand.Rand, f dictionary.Field) string {
	switch n := rng.IntN(20); {
	case n == 0:
		return ""
	case n == 1:
		return "not valid"
	}
	switch f.Type {
	case dictionary.Integer:
		if rng.IntN(4) == 0 {
			return fmt.Sprintf("00%d", rng.Int64N(1000)+1)
		}
		return fmt.Sprint(rng.Int64N(1<<62) + 1)
	case dictionary.Timestamp:
		ts := time.Unix(rng.Int64N(4e9)-2e9, 0).UTC()
		if rng.IntN(4) == 0 {
			return ts.Add(time.Duration(rng.IntN(1e6)) * time.Microsecond).In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)
		}
		return ts.Format(time.RFC3339)
	default:
		return []string{"Ada", "Grace Hopper", "Zoë", "Ñandú Pérez", " spaced "}[rng.IntN(5)]
	}
}

// afterHeader returns a file's blocks: what follows the sync marker that
// ends its header (goavro writes the header's metadata in map order).
func afterHeader(t *testing.T, file []byte, seed string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(seed))
	i := bytes.Index(file, sum[:16])
	if i < 0 {
		t.Fatal("no sync marker in the file")
	}
	return file[i+16:]
}

// TestErrorsMemo checks that the memo gives each list of errors its own
// JSON, with more distinct lists than it keeps and lists that differ only
// in a message or in their length.
func TestErrorsMemo(t *testing.T) {
	t.Parallel()
	var lists [][]dictionary.FieldError
	for i := range 20 {
		e := dictionary.FieldError{Field: "name", Rule: dictionary.RuleTooLong, Message: fmt.Sprintf("has %d characters, at most 8 allowed", 9+i%10)}
		if i < 10 {
			lists = append(lists, []dictionary.FieldError{e})
		} else {
			lists = append(lists, []dictionary.FieldError{e, {Field: "id", Rule: dictionary.RuleType, Message: "not an integer"}})
		}
	}
	var memo errorsMemo
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		errs := lists[rng.IntN(len(lists))]
		if got, want := memo.of(errs), warehouse.ErrorsJSON(errs); got != want {
			t.Fatalf("memo.of(%v) = %s, want %s", errs, got, want)
		}
	}
}
