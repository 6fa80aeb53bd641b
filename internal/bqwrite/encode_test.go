package bqwrite

import (
	"math"
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

func TestEncoder_Encode(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 7, 27, 16, 2, 8, 123456000, time.UTC)
	cases := []struct {
		name string
		row  []any
	}{
		{"all set", []any{int64(7), "Ana", at, 1.5, true, []byte{0, 1, 2}}},
		{"nulls", []any{int64(1), nil, nil, nil, nil, nil}},
		{"extremes", []any{int64(math.MaxInt64), "", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), math.Inf(-1), false, []byte{}}},
		{"negative", []any{int64(-1), "é\x00", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), -0.0, true, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data, err := enc.Encode(c.row)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			want := referenceMessage(t, c.row)
			got := want.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(data, got); err != nil {
				t.Fatalf("proto.Unmarshal: %v", err)
			}
			if !proto.Equal(got, want) {
				t.Errorf("decoded %v, want %v", got, want)
			}
		})
	}
}

func TestEncoder_EncodeRefuses(t *testing.T) {
	t.Parallel()
	enc, err := NewEncoder(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		row  []any
	}{
		{"short row", []any{int64(1)}},
		{"null in required", []any{nil, nil, nil, nil, nil, nil}},
		{"string for integer", []any{"1", nil, nil, nil, nil, nil}},
		{"time for string", []any{int64(1), time.Now(), nil, nil, nil, nil}},
		{"int for float", []any{int64(1), nil, nil, int64(2), nil, nil}},
		{"unsupported", []any{int64(1), nil, nil, nil, nil, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if data, err := enc.Encode(c.row); err == nil {
				t.Errorf("Encode(%v) = %x, want an error", c.row, data)
			}
		})
	}
}
