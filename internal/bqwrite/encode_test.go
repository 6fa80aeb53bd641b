package bqwrite

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

var testSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "name", Type: bigquery.StringFieldType},
	{Name: "at", Type: bigquery.TimestampFieldType},
	{Name: "score", Type: bigquery.FloatFieldType},
	{Name: "ok", Type: bigquery.BooleanFieldType},
	{Name: "raw", Type: bigquery.BytesFieldType},
}

// referenceMessage builds a row the straightforward way, as a dynamicpb
// message set field by field.
func referenceMessage(t *testing.T, row []any) proto.Message {
	t.Helper()
	ts, err := adapt.BQSchemaToStorageTableSchema(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	d, err := adapt.StorageSchemaToProto2Descriptor(ts, "root")
	if err != nil {
		t.Fatal(err)
	}
	md := d.(protoreflect.MessageDescriptor)
	msg := dynamicpb.NewMessage(md)
	for i, v := range row {
		var pv protoreflect.Value
		switch x := v.(type) {
		case nil:
			continue
		case time.Time:
			pv = protoreflect.ValueOfInt64(x.UnixMicro())
		default:
			pv = protoreflect.ValueOf(x)
		}
		msg.Set(md.Fields().Get(i), pv)
	}
	return msg
}

func TestEncoder_EncodeRows(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
	rows := [][]any{
		{int64(7), "Ana", at, 1.5, true, []byte{0, 1, 2}},
		{int64(1), nil, nil, nil, nil, nil},
		{int64(math.MaxInt64), "", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), math.Inf(-1), false, []byte{}},
		{int64(-1), "é\x00", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), math.Copysign(0, -1), true, nil},
		{int64(127), strings.Repeat("x", 127), time.Unix(0, 0), 0.0, false, bytes.Repeat([]byte{0xff}, 128)},
		{int64(128), strings.Repeat("y", 128), time.Unix(0, 1000), 1e300, true, []byte{0x80}},
	}
	// Every row alone, and all of them in one call, which grows the
	// buffer past the first row's size.
	calls := [][][]any{rows}
	for _, row := range rows {
		calls = append(calls, [][]any{row})
	}
	for _, call := range calls {
		data, err := enc.EncodeRows(call)
		if err != nil {
			t.Fatalf("EncodeRows: %v", err)
		}
		if len(data) != len(call) {
			t.Fatalf("EncodeRows gave %d messages for %d rows", len(data), len(call))
		}
		for i, row := range call {
			want := referenceMessage(t, row)
			got := want.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(data[i], got); err != nil {
				t.Fatalf("row %v: proto.Unmarshal: %v", row, err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("row %v: decoded %v, want %v", row, got, want)
			}
			// proto.Equal takes -0 for 0: the bytes tell them apart.
			if wire, err := (proto.MarshalOptions{Deterministic: true}).Marshal(want); err != nil || !bytes.Equal(data[i], wire) {
				t.Errorf("row %v: encoded %x, want %x (%v)", row, data[i], wire, err)
			}
		}
	}
}

func TestEncoder_EncodeRowsRefuses(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	good := []any{int64(1), "a", nil, nil, nil, nil}
	cases := []struct {
		name string
		row  []any
		want string
	}{
		{"short row", []any{int64(1)}, "row 1: 1 values for 6 columns"},
		{"null in required", []any{nil, nil, nil, nil, nil, nil}, "row 1: column id: NULL in a REQUIRED column"},
		{"string for integer", []any{"1", nil, nil, nil, nil, nil}, "row 1: column id: a string for a INTEGER column"},
		{"time for string", []any{int64(1), time.Now(), nil, nil, nil, nil}, "row 1: column name: a time for a STRING column"},
		{"int for float", []any{int64(1), nil, nil, int64(2), nil, nil}, "row 1: column score: a int64 for a FLOAT column"},
		{"unsupported", []any{int64(1), nil, nil, nil, nil, 3}, "row 1: column raw: unsupported value int"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data, err := enc.EncodeRows([][]any{good, c.row})
			if err == nil || err.Error() != c.want || Transient(err) {
				t.Errorf("EncodeRows(%v) = %x, %v (transient: %v); want the permanent error %q", c.row, data, err, Transient(err), c.want)
			}
		})
	}
}

// TestEncoder_AppendTyped holds AppendInt and AppendString to EncodeRows of
// the same values boxed, NULLs left out.
func TestEncoder_AppendTyped(t *testing.T) {
	t.Parallel()
	schema := bigquery.Schema{
		{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "name", Type: bigquery.StringFieldType},
		{Name: "at", Type: bigquery.TimestampFieldType},
		{Name: "n", Type: bigquery.IntegerFieldType},
	}
	enc, err := NewEncoder(schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range [][]any{
		{int64(1), "Ana", time.UnixMicro(1627401728123456).UTC(), int64(-1)},
		{int64(math.MaxInt64), nil, nil, nil},
		{int64(math.MinInt64), strings.Repeat("é", 100), time.UnixMicro(-62135596800000000).UTC(), int64(128)},
	} {
		var b []byte
		for col, v := range row {
			switch x := v.(type) {
			case int64:
				b, err = enc.AppendInt(b, col, x)
			case string:
				b, err = enc.AppendString(b, col, x)
			case time.Time:
				b, err = enc.AppendInt(b, col, x.UnixMicro())
			}
			if err != nil {
				t.Fatalf("row %v, column %d: %v", row, col, err)
			}
		}
		want, err := enc.EncodeRows([][]any{row})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[0]) {
			t.Errorf("row %v: typed %x, boxed %x", row, b, want[0])
		}
	}
	if _, err := enc.AppendInt(nil, 1, 5); err == nil || Transient(err) {
		t.Errorf("AppendInt to a STRING column: %v, want a permanent error", err)
	}
	if _, err := enc.AppendString(nil, 2, "x"); err == nil || Transient(err) {
		t.Errorf("AppendString to a TIMESTAMP column: %v, want a permanent error", err)
	}
}
