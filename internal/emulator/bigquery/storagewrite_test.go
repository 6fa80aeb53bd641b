package bigquery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	storage "cloud.google.com/go/bigquery/storage/apiv1"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"cloud.google.com/go/civil"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// writeEnv is an emulator whose Storage Write API listens on a real TCP
// port, with a managedwriter client for it, a REST client, the dataset "d"
// and the emulator's DEBUG log.
type writeEnv struct {
	*env
	writer *managedwriter.Client
	addr   string
	logs   *testutil.SyncBuffer
}

func newWriteEnv(t testing.TB) *writeEnv {
	t.Helper()
	ctx := context.Background()
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := emulator.New(ctx, emulator.Options{Logger: logger})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e := newEnvFor(t, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	g := srv.NewGRPCServer()
	served := make(chan error, 1)
	go func() { served <- g.Serve(lis) }()
	t.Cleanup(func() {
		g.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	addr := lis.Addr().String()
	w, err := managedwriter.NewClient(ctx, project, grpcOptions(addr)...)
	if err != nil {
		t.Fatalf("managedwriter.NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("managedwriter Close: %v", err)
		}
	})
	e.dataset(t, "d")
	return &writeEnv{env: e, writer: w, addr: addr, logs: logs}
}

// grpcOptions are the options a client needs for the emulator at addr.
func grpcOptions(addr string) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// createTable creates d.name with schema.
func (e *writeEnv) createTable(t testing.TB, name string, schema bigquery.Schema) {
	t.Helper()
	if err := e.client.Dataset("d").Table(name).Create(context.Background(), &bigquery.TableMetadata{Schema: schema}); err != nil {
		t.Fatalf("Create d.%s: %v", name, err)
	}
}

// tableMetadata returns the metadata of d.name.
func (e *writeEnv) tableMetadata(t testing.TB, name string) *bigquery.TableMetadata {
	t.Helper()
	md, err := e.client.Dataset("d").Table(name).Metadata(context.Background())
	if err != nil {
		t.Fatalf("Metadata d.%s: %v", name, err)
	}
	return md
}

// count returns the number of rows of d.table.
func (e *writeEnv) count(t testing.TB, table string) int64 {
	t.Helper()
	return e.read(t, "SELECT COUNT(*) FROM d."+table)[0][0].(int64)
}

// open opens a managed stream on the default stream of d.table.
func (e *writeEnv) open(t testing.TB, table string, dp *descriptorpb.DescriptorProto, opts ...managedwriter.WriterOption) *managedwriter.ManagedStream {
	t.Helper()
	ms, err := e.tryOpen(table, dp, opts...)
	if err != nil {
		t.Fatalf("NewManagedStream d.%s: %v", table, err)
	}
	t.Cleanup(func() { _ = ms.Close() })
	return ms
}

func (e *writeEnv) tryOpen(table string, dp *descriptorpb.DescriptorProto, opts ...managedwriter.WriterOption) (*managedwriter.ManagedStream, error) {
	all := append([]managedwriter.WriterOption{
		managedwriter.WithType(managedwriter.DefaultStream),
		managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(project, "d", table)),
		managedwriter.WithSchemaDescriptor(dp),
	}, opts...)
	return e.writer.NewManagedStream(context.Background(), all...)
}

// defaultStream is the name of the default stream of d.table.
func defaultStream(table string) string {
	return managedwriter.TableParentFromParts(project, "d", table) + "/streams/_default"
}

// writerSchema derives the message of rows for schema and its normalized
// descriptor from a table schema, as a client of the Storage Write API does.
func writerSchema(t testing.TB, schema bigquery.Schema) (protoreflect.MessageDescriptor, *descriptorpb.DescriptorProto) {
	t.Helper()
	ts, err := adapt.BQSchemaToStorageTableSchema(schema)
	if err != nil {
		t.Fatalf("BQSchemaToStorageTableSchema: %v", err)
	}
	d, err := adapt.StorageSchemaToProto2Descriptor(ts, "root")
	if err != nil {
		t.Fatalf("StorageSchemaToProto2Descriptor: %v", err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		t.Fatalf("descriptor is %T, not a message", d)
	}
	dp, err := adapt.NormalizeDescriptor(md)
	if err != nil {
		t.Fatalf("NormalizeDescriptor: %v", err)
	}
	return md, dp
}

// protoRow is a row by field name; a field left out is unset.
type protoRow map[string]any

// encodeRows serializes rows as messages of md.
func encodeRows(t testing.TB, md protoreflect.MessageDescriptor, rows ...protoRow) [][]byte {
	t.Helper()
	out := make([][]byte, len(rows))
	for i, r := range rows {
		m := dynamicpb.NewMessage(md)
		for name, v := range r {
			fd := md.Fields().ByName(protoreflect.Name(name))
			if fd == nil {
				t.Fatalf("no field %s in %s", name, md.FullName())
			}
			m.Set(fd, protoreflect.ValueOf(v))
		}
		b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal row %d: %v", i, err)
		}
		out[i] = b
	}
	return out
}

// appendRows sends one AppendRows request and waits for its response; err
// is the request's error.
func appendRows(ms *managedwriter.ManagedStream, rows [][]byte, opts ...managedwriter.AppendOption) (*storagepb.AppendRowsResponse, error) {
	ctx := context.Background()
	res, err := ms.AppendRows(ctx, rows, opts...)
	if err != nil {
		return nil, err
	}
	return res.FullResponse(ctx)
}

// mustAppend appends rows and fails the test if the append fails.
func mustAppend(t testing.TB, ms *managedwriter.ManagedStream, rows [][]byte) *storagepb.AppendRowsResponse {
	t.Helper()
	resp, err := appendRows(ms, rows)
	if err != nil {
		t.Fatalf("append of %d rows: %v", len(rows), err)
	}
	return resp
}

// wantStatus asserts that err is a gRPC status with code and a message that
// contains each of parts.
func wantStatus(t testing.TB, err error, code codes.Code, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a gRPC status", err, err)
	}
	if st.Code() != code {
		t.Errorf("code = %v, want %v (%v)", st.Code(), code, err)
	}
	for _, p := range parts {
		if !strings.Contains(st.Message(), p) {
			t.Errorf("message %q does not contain %q", st.Message(), p)
		}
	}
}

// hiredRows returns rows of hiredSchema with ids from first to first+n-1.
func hiredRows(t testing.TB, md protoreflect.MessageDescriptor, first, n int) [][]byte {
	t.Helper()
	rows := make([]protoRow, n)
	for i := range rows {
		id := int64(first + i)
		rows[i] = protoRow{"id": id, "name": fmt.Sprintf("employee %d", id), "datetime": t1.UnixMicro() + id, "department_id": id % 7}
	}
	return encodeRows(t, md, rows...)
}

var allTypesSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "ts", Type: bigquery.TimestampFieldType},
	{Name: "s", Type: bigquery.StringFieldType, MaxLength: 10},
	{Name: "f", Type: bigquery.FloatFieldType},
	{Name: "b", Type: bigquery.BooleanFieldType},
	{Name: "raw", Type: bigquery.BytesFieldType},
	{Name: "day", Type: bigquery.DateFieldType},
}

func TestStorageWrite_RoundTrip(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	ctx := context.Background()
	e.createTable(t, "all_types", allTypesSchema)
	before := e.tableMetadata(t, "all_types")
	md, dp := writerSchema(t, allTypesSchema)
	ms := e.open(t, "all_types", dp)

	epoch := civil.Date{Year: 1970, Month: 1, Day: 1}
	day := civil.Date{Year: 2021, Month: 7, Day: 27}
	minDay, maxDay := civil.Date{Year: 1, Month: 1, Day: 1}, civil.Date{Year: 9999, Month: 12, Day: 31}
	minTS := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTS := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	rows := encodeRows(t, md,
		protoRow{"id": int64(1), "ts": t1.UnixMicro(), "s": "ñandú ✓", "f": -0.25, "b": true, "raw": []byte{0, 1, 2, 255}, "day": int32(day.DaysSince(epoch))},
		protoRow{"id": int64(2)},
		protoRow{"id": int64(math.MaxInt64), "ts": minTS.UnixMicro(), "s": "", "f": 1e300, "b": false, "raw": []byte{}, "day": int32(minDay.DaysSince(epoch))},
		protoRow{"id": int64(math.MinInt64), "ts": maxTS.UnixMicro(), "s": "0123456789", "f": 0.1, "b": true, "raw": []byte("x"), "day": int32(maxDay.DaysSince(epoch))},
		protoRow{"id": int64(3), "ts": t2.UnixMicro()},
	)
	resp := mustAppend(t, ms, rows)
	if resp.GetAppendResult() == nil || resp.GetAppendResult().GetOffset() != nil || resp.GetWriteStream() != defaultStream("all_types") {
		t.Errorf("response = %v, want an append result without offset for %s", resp, defaultStream("all_types"))
	}

	got := e.read(t, "SELECT id, ts, UNIX_MICROS(ts), s, f, b, raw, day FROM d.all_types ORDER BY id")
	want := [][]bigquery.Value{
		{int64(math.MinInt64), maxTS, maxTS.UnixMicro(), "0123456789", 0.1, true, []byte("x"), maxDay},
		{int64(1), t1, t1.UnixMicro(), "ñandú ✓", -0.25, true, []byte{0, 1, 2, 255}, day},
		{int64(2), nil, nil, nil, nil, nil, nil, nil},
		{int64(3), t2, t2.UnixMicro(), nil, nil, nil, nil, nil},
		{int64(math.MaxInt64), minTS, minTS.UnixMicro(), "", 1e300, false, []byte{}, minDay},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	resp, err := appendRows(ms, encodeRows(t, md,
		protoRow{"id": int64(10), "day": int32(maxDay.DaysSince(epoch) + 1)},
		protoRow{"id": int64(11), "s": "ñandú ✓✓✓✓✓"}))
	wantStatus(t, err, codes.InvalidArgument)
	var problems []string
	for _, re := range resp.GetRowErrors() {
		problems = append(problems, fmt.Sprintf("%d: %s", re.GetIndex(), re.GetMessage()))
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], "0: Field day: DATE") || !strings.HasPrefix(problems[1], "1: Field s: STRING(10)") {
		t.Errorf("row errors = %q, want the DATE out of range in row 0 and the long STRING in row 1", problems)
	}
	after := e.tableMetadata(t, "all_types")
	if after.ETag == before.ETag || after.LastModifiedTime.Before(before.LastModifiedTime) || after.NumRows != 5 {
		t.Errorf("after the append: etag %q (was %q), modified %v (was %v), %d rows", after.ETag, before.ETag, after.LastModifiedTime, before.LastModifiedTime, after.NumRows)
	}

	full, err := e.writer.GetWriteStream(ctx, &storagepb.GetWriteStreamRequest{Name: defaultStream("all_types"), View: storagepb.WriteStreamView_FULL})
	if err != nil {
		t.Fatalf("GetWriteStream: %v", err)
	}
	wantSchema, err := adapt.BQSchemaToStorageTableSchema(allTypesSchema)
	if err != nil {
		t.Fatalf("BQSchemaToStorageTableSchema: %v", err)
	}
	wantSchema.Fields[2].MaxLength = 10
	created := before.CreationTime
	wantStream := &storagepb.WriteStream{
		Name:        defaultStream("all_types"),
		Type:        storagepb.WriteStream_COMMITTED,
		CreateTime:  timestamppb.New(created),
		CommitTime:  timestamppb.New(created),
		TableSchema: wantSchema,
		WriteMode:   storagepb.WriteStream_INSERT,
		Location:    "US",
	}
	if diff := cmp.Diff(wantStream, full, protocmp.Transform()); diff != "" {
		t.Errorf("GetWriteStream FULL (-want +got):\n%s", diff)
	}
	basic, err := e.writer.GetWriteStream(ctx, &storagepb.GetWriteStreamRequest{Name: defaultStream("all_types")})
	if err != nil {
		t.Fatalf("GetWriteStream: %v", err)
	}
	if basic.GetTableSchema() != nil || basic.GetType() != storagepb.WriteStream_COMMITTED {
		t.Errorf("GetWriteStream BASIC = %v, want a COMMITTED stream without schema", basic)
	}
}

func TestStorageWrite_Appends(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	e.createTable(t, "hired", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)
	ms := e.open(t, "hired", dp)

	resp := mustAppend(t, ms, hiredRows(t, md, 1, 1000))
	if resp.GetAppendResult() == nil || resp.GetWriteStream() != defaultStream("hired") {
		t.Errorf("response = %v", resp)
	}
	got := e.read(t, "SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), MIN(name), MAX(UNIX_MICROS(datetime)), COUNTIF(department_id IS NULL), COUNTIF(job_id IS NULL) FROM d.hired")
	want := [][]bigquery.Value{{int64(1000), int64(1000), int64(500500), "employee 1", t1.UnixMicro() + 1000, int64(0), int64(1000)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after 1000 rows (-want +got):\n%s", diff)
	}

	mustAppend(t, ms, hiredRows(t, md, 1001, 10))
	if n := e.count(t, "hired"); n != 1010 {
		t.Errorf("after a second append on the stream: %d rows, want 1010", n)
	}
	other := e.open(t, "hired", dp)
	mustAppend(t, other, hiredRows(t, md, 2001, 5))
	mustAppend(t, ms, hiredRows(t, md, 3001, 1))
	got = e.read(t, "SELECT COUNT(*), SUM(id) FROM d.hired")
	want = [][]bigquery.Value{{int64(1016), int64(500500 + 10055 + 10015 + 3001)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after appends on two streams (-want +got):\n%s", diff)
	}

	var rows []string
	for line := range strings.Lines(e.logs.String()) {
		if strings.Contains(line, `"msg":"bigquery emulator AppendRows"`) {
			rows = append(rows, line)
		}
	}
	if len(rows) != 4 || !strings.Contains(rows[0], `"level":"DEBUG"`) || !strings.Contains(rows[0], `"rows":1000`) ||
		!strings.Contains(rows[0], `"stream":"`+defaultStream("hired")+`"`) {
		t.Errorf("AppendRows log lines = %q, want 4 DEBUG lines, the first with 1000 rows and the stream", rows)
	}
}

func TestStorageWrite_RowErrors(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	e.createTable(t, "hired", hiredSchema)
	// The writer schema lets name be unset, so that a row can lack it.
	lax := make(bigquery.Schema, len(hiredSchema))
	for i, f := range hiredSchema {
		c := *f
		c.Required = false
		lax[i] = &c
	}
	md, dp := writerSchema(t, lax)
	ms := e.open(t, "hired", dp)
	// A writer schema without the REQUIRED column datetime.
	noTime := bigquery.Schema{hiredSchema[0], hiredSchema[1], hiredSchema[3], hiredSchema[4]}
	mdNoTime, dpNoTime := writerSchema(t, noTime)
	msNoTime := e.open(t, "hired", dpNoTime)

	valid := func(id int64) protoRow {
		return protoRow{"id": id, "name": "ok", "datetime": t1.UnixMicro()}
	}
	cases := []struct {
		name string
		ms   *managedwriter.ManagedStream
		rows [][]byte
		want map[int64][]string // row index → parts of its message
	}{
		{
			name: "missing required value",
			ms:   ms,
			rows: encodeRows(t, md, valid(1), protoRow{"id": int64(2), "datetime": t1.UnixMicro()}, valid(3)),
			want: map[int64][]string{1: {"name"}},
		},
		{
			name: "too long and NULL",
			ms:   ms,
			rows: encodeRows(t, md, protoRow{"id": int64(1), "name": strings.Repeat("é", 256), "datetime": t1.UnixMicro()}, valid(2), protoRow{"id": int64(3), "name": "x"}),
			want: map[int64][]string{0: {"name", "255", "256"}, 2: {"datetime"}},
		},
		{
			name: "invalid UTF-8",
			ms:   ms,
			rows: encodeRows(t, md, valid(1), protoRow{"id": int64(2), "name": "\xff", "datetime": t1.UnixMicro()}),
			want: map[int64][]string{1: {"name", "UTF-8"}},
		},
		{
			name: "timestamp out of range",
			ms:   ms,
			rows: encodeRows(t, md, protoRow{"id": int64(1), "name": "x", "datetime": int64(253402300800000000)}),
			want: map[int64][]string{0: {"datetime", "out of range"}},
		},
		{
			name: "writer schema without a required column",
			ms:   msNoTime,
			rows: encodeRows(t, mdNoTime, protoRow{"id": int64(1), "name": "x"}, protoRow{"id": int64(2), "name": "y"}),
			want: map[int64][]string{0: {"datetime"}, 1: {"datetime"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := appendRows(tc.ms, tc.rows)
			wantStatus(t, err, codes.InvalidArgument, "row_errors")
			got := map[int64]string{}
			for _, re := range resp.GetRowErrors() {
				if re.GetCode() != storagepb.RowError_FIELDS_ERROR {
					t.Errorf("row %d: code %v, want FIELDS_ERROR", re.GetIndex(), re.GetCode())
				}
				got[re.GetIndex()] = re.GetMessage()
			}
			if len(got) != len(tc.want) {
				t.Errorf("row errors = %v, want rows %v", got, tc.want)
			}
			for i, parts := range tc.want {
				for _, p := range parts {
					if !strings.Contains(got[i], p) {
						t.Errorf("row %d: message %q does not contain %q", i, got[i], p)
					}
				}
			}
			if n := e.count(t, "hired"); n != 0 {
				t.Errorf("%d rows written by a failed append, want 0", n)
			}
		})
	}
	// The connections stay usable after failed requests.
	mustAppend(t, ms, encodeRows(t, md, valid(7)))
	if got := e.read(t, "SELECT id FROM d.hired"); !cmp.Equal(got, [][]bigquery.Value{{int64(7)}}) {
		t.Errorf("rows = %v, want only the valid append's row 7", got)
	}
}

func TestStorageWrite_Errors(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	ctx := context.Background()
	e.createTable(t, "hired", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)

	t.Run("missing table", func(t *testing.T) {
		_, err := e.tryOpen("missing", dp)
		wantStatus(t, err, codes.NotFound, "Requested entity was not found", "tables/missing")
	})
	t.Run("missing dataset", func(t *testing.T) {
		_, err := e.writer.NewManagedStream(ctx,
			managedwriter.WithType(managedwriter.DefaultStream),
			managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(project, "nope", "hired")),
			managedwriter.WithSchemaDescriptor(dp))
		wantStatus(t, err, codes.NotFound, "datasets/nope")
	})
	t.Run("committed stream", func(t *testing.T) {
		_, err := e.tryOpen("hired", dp, managedwriter.WithType(managedwriter.CommittedStream))
		wantStatus(t, err, codes.Unimplemented, "only the default stream")
	})
	t.Run("other stream name", func(t *testing.T) {
		_, err := e.writer.GetWriteStream(ctx, &storagepb.GetWriteStreamRequest{Name: managedwriter.TableParentFromParts(project, "d", "hired") + "/streams/abc"})
		wantStatus(t, err, codes.Unimplemented, "only the default stream")
		_, err = e.writer.GetWriteStream(ctx, &storagepb.GetWriteStreamRequest{Name: "projects/" + project + "/tables/hired"})
		wantStatus(t, err, codes.InvalidArgument, "Invalid stream name")
	})
	t.Run("unsupported methods", func(t *testing.T) {
		_, err := e.writer.CreateWriteStream(ctx, &storagepb.CreateWriteStreamRequest{Parent: managedwriter.TableParentFromParts(project, "d", "hired")})
		wantStatus(t, err, codes.Unimplemented, "CreateWriteStream", "only the default stream")
		_, err = e.writer.BatchCommitWriteStreams(ctx, &storagepb.BatchCommitWriteStreamsRequest{Parent: managedwriter.TableParentFromParts(project, "d", "hired")})
		wantStatus(t, err, codes.Unimplemented, "BatchCommitWriteStreams")
	})
	t.Run("view", func(t *testing.T) {
		v := e.client.Dataset("d").Table("v")
		if err := v.Create(ctx, &bigquery.TableMetadata{ViewQuery: "SELECT id FROM d.hired"}); err != nil {
			t.Fatalf("create view: %v", err)
		}
		_, err := e.tryOpen("v", dp)
		wantStatus(t, err, codes.InvalidArgument, "VIEW")
	})

	ms := e.open(t, "hired", dp)
	unknownField := protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)
	appends := []struct {
		name  string
		rows  [][]byte
		opts  []managedwriter.AppendOption
		parts []string
	}{
		{"garbage row", append(hiredRows(t, md, 1, 1), []byte{0xff, 0xff, 0xff}), nil, []string{"Row 1", "root"}},
		{"undeclared field", [][]byte{unknownField}, nil, []string{"Row 0", "does not declare"}},
		{"offset", hiredRows(t, md, 1, 1), []managedwriter.AppendOption{managedwriter.WithOffset(0)}, []string{"offset"}},
	}
	for _, tc := range appends {
		t.Run(tc.name, func(t *testing.T) {
			_, err := appendRows(ms, tc.rows, tc.opts...)
			wantStatus(t, err, codes.InvalidArgument, tc.parts...)
		})
	}

	schemas := []struct {
		name  string
		dp    func() *descriptorpb.DescriptorProto
		parts []string
	}{
		{"extra field", func() *descriptorpb.DescriptorProto {
			_, dp := writerSchema(t, append(bigquery.Schema{{Name: "extra", Type: bigquery.StringFieldType}}, hiredSchema...))
			return dp
		}, []string{"extra"}},
		{"wrong type", func() *descriptorpb.DescriptorProto {
			_, dp := writerSchema(t, bigquery.Schema{{Name: "id", Type: bigquery.IntegerFieldType}, {Name: "NAME", Type: bigquery.BooleanFieldType}})
			return dp
		}, []string{"NAME", "STRING"}},
		{"repeated field", func() *descriptorpb.DescriptorProto {
			_, dp := writerSchema(t, bigquery.Schema{{Name: "job_id", Type: bigquery.IntegerFieldType, Repeated: true}})
			return dp
		}, []string{"job_id", "repeated"}},
		{"two fields for one column", func() *descriptorpb.DescriptorProto {
			_, dp := writerSchema(t, bigquery.Schema{{Name: "job_id", Type: bigquery.IntegerFieldType}, {Name: "JOB_ID", Type: bigquery.IntegerFieldType}})
			return dp
		}, []string{"job_id", "JOB_ID"}},
		{"descriptor that does not build", func() *descriptorpb.DescriptorProto {
			dp := proto.CloneOf(dp)
			dp.Field[0].Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			dp.Field[0].TypeName = proto.String(".nowhere.Missing")
			return dp
		}, []string{"Invalid proto schema"}},
		{"duplicate field numbers", func() *descriptorpb.DescriptorProto {
			dp := proto.CloneOf(dp)
			dp.Field[1].Number = dp.Field[0].Number
			return dp
		}, []string{"Invalid proto schema"}},
	}
	for _, tc := range schemas {
		t.Run(tc.name, func(t *testing.T) {
			bad := e.open(t, "hired", tc.dp())
			_, err := appendRows(bad, hiredRows(t, md, 1, 1))
			wantStatus(t, err, codes.InvalidArgument, tc.parts...)
		})
	}
	if n := e.count(t, "hired"); n != 0 {
		t.Errorf("%d rows written by failed appends, want 0", n)
	}

	t.Run("table deleted after the stream opened", func(t *testing.T) {
		e.createTable(t, "gone", hiredSchema)
		gone := e.open(t, "gone", dp)
		if err := e.client.Dataset("d").Table("gone").Delete(ctx); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := appendRows(gone, hiredRows(t, md, 1, 1))
		wantStatus(t, err, codes.NotFound, "tables/gone")
	})
}

// TestStorageWrite_Connection drives one AppendRows connection with the raw
// client: later requests may omit the stream and the writer schema, or
// change the schema, and a failed request leaves the connection usable.
func TestStorageWrite_Connection(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	ctx := context.Background()
	e.createTable(t, "hired", hiredSchema)
	e.createTable(t, "other", hiredSchema)
	c, err := storage.NewBigQueryWriteClient(ctx, grpcOptions(e.addr)...)
	if err != nil {
		t.Fatalf("NewBigQueryWriteClient: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	arc, err := c.AppendRows(ctx)
	if err != nil {
		t.Fatalf("AppendRows: %v", err)
	}

	mdA, dpA := writerSchema(t, hiredSchema[:3])
	// Schema B: other field order and numbers, names in upper case.
	mdB, dpB := writerSchema(t, bigquery.Schema{
		{Name: "JOB_ID", Type: bigquery.IntegerFieldType},
		{Name: "Datetime", Type: bigquery.TimestampFieldType, Required: true},
		{Name: "ID", Type: bigquery.IntegerFieldType, Required: true},
		{Name: "NAME", Type: bigquery.StringFieldType, Required: true},
	})
	broken := proto.CloneOf(dpA)
	broken.Name = proto.String("")
	rowA := func(id int64) [][]byte {
		return encodeRows(t, mdA, protoRow{"id": id, "name": "a", "datetime": t1.UnixMicro()})
	}
	rowB := func(id int64) [][]byte {
		return encodeRows(t, mdB, protoRow{"ID": id, "NAME": "b", "Datetime": t1.UnixMicro(), "JOB_ID": id * 10})
	}
	req := func(stream string, dp *descriptorpb.DescriptorProto, rows [][]byte) *storagepb.AppendRowsRequest {
		data := &storagepb.AppendRowsRequest_ProtoData{Rows: &storagepb.ProtoRows{SerializedRows: rows}}
		if dp != nil {
			data.WriterSchema = &storagepb.ProtoSchema{ProtoDescriptor: dp}
		}
		return &storagepb.AppendRowsRequest{WriteStream: stream, Rows: &storagepb.AppendRowsRequest_ProtoRows{ProtoRows: data}}
	}
	hired, other := defaultStream("hired"), defaultStream("other")
	steps := []struct {
		name  string
		req   *storagepb.AppendRowsRequest
		code  codes.Code
		parts []string
	}{
		{"no stream yet", req("", dpA, rowA(100)), codes.InvalidArgument, []string{"write_stream"}},
		{"no writer schema yet", req(hired, nil, rowA(100)), codes.InvalidArgument, []string{"writer_schema"}},
		{"stream and schema", req(hired, dpA, rowA(1)), codes.OK, nil},
		{"both omitted", req("", nil, rowA(2)), codes.OK, nil},
		{"new schema", req("", dpB, rowB(3)), codes.OK, nil},
		{"new schema kept", req("", nil, rowB(4)), codes.OK, nil},
		{"other table, schema kept", req(other, nil, rowB(5)), codes.OK, nil},
		{"back to the first table", req(hired, dpA, rowA(6)), codes.OK, nil},
		{"arrow rows", &storagepb.AppendRowsRequest{Rows: &storagepb.AppendRowsRequest_ArrowRows{}}, codes.InvalidArgument, []string{"proto_rows"}},
		{"no rows", req("", nil, nil), codes.InvalidArgument, []string{"no rows"}},
		{"schema that does not build", req("", broken, rowA(100)), codes.InvalidArgument, []string{"Invalid proto schema"}},
		{"broken schema kept", req("", nil, rowA(100)), codes.InvalidArgument, []string{"Invalid proto schema"}},
		{"schema replaced", req("", dpA, rowA(7)), codes.OK, nil},
		{"malformed stream", req("projects/p/tables/t", nil, rowA(100)), codes.InvalidArgument, []string{"Invalid stream name"}},
		{"missing table", req(defaultStream("missing"), nil, rowA(100)), codes.NotFound, []string{"tables/missing"}},
		{"stream named again", req(hired, nil, rowA(8)), codes.OK, nil},
	}
	for _, s := range steps {
		if err := arc.Send(s.req); err != nil {
			t.Fatalf("%s: Send: %v", s.name, err)
		}
		resp, err := arc.Recv()
		if err != nil {
			t.Fatalf("%s: Recv: %v", s.name, err)
		}
		if s.code == codes.OK {
			if resp.GetError() != nil || resp.GetAppendResult() == nil {
				t.Errorf("%s: response %v, want an append result", s.name, resp)
			}
			continue
		}
		wantStatus(t, status.ErrorProto(resp.GetError()), s.code, s.parts...)
	}
	if err := arc.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if _, err := arc.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after CloseSend: %v, want io.EOF", err)
	}
	got := e.read(t, "SELECT id, name, job_id FROM d.hired ORDER BY id")
	want := [][]bigquery.Value{
		{int64(1), "a", nil}, {int64(2), "a", nil}, {int64(3), "b", int64(30)}, {int64(4), "b", int64(40)},
		{int64(6), "a", nil}, {int64(7), "a", nil}, {int64(8), "a", nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("d.hired (-want +got):\n%s", diff)
	}
	if got := e.read(t, "SELECT id, job_id FROM d.other"); !cmp.Equal(got, [][]bigquery.Value{{int64(5), int64(50)}}) {
		t.Errorf("d.other = %v, want row 5 written with schema B", got)
	}
}

// TestStorageWrite_TableGrows appends with a writer schema made before the
// table gained a column: the new column is NULL.
func TestStorageWrite_TableGrows(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	ctx := context.Background()
	e.createTable(t, "hired", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)
	ms := e.open(t, "hired", dp)
	mustAppend(t, ms, hiredRows(t, md, 1, 2))
	tbl := e.client.Dataset("d").Table("hired")
	grown := append(bigquery.Schema{}, hiredSchema...)
	grown = append(grown, &bigquery.FieldSchema{Name: "note", Type: bigquery.StringFieldType})
	if _, err := tbl.Update(ctx, bigquery.TableMetadataToUpdate{Schema: grown}, ""); err != nil {
		t.Fatalf("add a column: %v", err)
	}
	mustAppend(t, ms, hiredRows(t, md, 3, 1))
	got := e.read(t, "SELECT id, note FROM d.hired ORDER BY id")
	want := [][]bigquery.Value{{int64(1), nil}, {int64(2), nil}, {int64(3), nil}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestStorageWrite_Concurrent(t *testing.T) {
	t.Parallel()
	e := newWriteEnv(t)
	e.createTable(t, "hired", hiredSchema)
	md, dp := writerSchema(t, hiredSchema)
	const writers, appends, rows = 8, 20, 50
	streams := make([]*managedwriter.ManagedStream, writers)
	batches := make([][][][]byte, writers)
	for w := range writers {
		streams[w] = e.open(t, "hired", dp)
		for a := range appends {
			batches[w] = append(batches[w], hiredRows(t, md, (w*appends+a)*rows+1, rows))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*appends)
	for w := range writers {
		wg.Go(func() {
			for _, batch := range batches[w] {
				if _, err := appendRows(streams[w], batch); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := e.read(t, "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM d.hired")
	want := [][]bigquery.Value{{int64(writers * appends * rows), int64(writers * appends * rows), int64(1), int64(writers * appends * rows)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after concurrent appends (-want +got):\n%s", diff)
	}
}

// BenchmarkAppendRows measures appends of 1000 rows of hired_employees
// through managedwriter, one at a time as the insert-rows function makes
// them: each waits for its response.
func BenchmarkAppendRows(b *testing.B) {
	e := newWriteEnv(b)
	e.createTable(b, "hired", hiredSchema)
	md, dp := writerSchema(b, hiredSchema)
	ms := e.open(b, "hired", dp)
	const rows = 1000
	batch := hiredRows(b, md, 1, rows)
	for b.Loop() {
		if _, err := appendRows(ms, batch); err != nil {
			b.Fatalf("append: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
