package avro_test

import (
	"bytes"
	"encoding/json"
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
