package bigquery

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxAppendRequest bounds an AppendRows request, as BigQuery does (10 MB).
const maxAppendRequest = 10 << 20

// defaultStream is the id of the one write stream every table has.
const defaultStream = "_default"

// Bounds of BigQuery's DATE, in days since the Unix epoch.
var (
	minDateDays = minTimestamp.Unix() / 86400
	maxDateDays = maxTimestamp.Unix() / 86400
)

var streamNamePattern = regexp.MustCompile(`^projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)/streams/([^/]+)$`)

// NewGRPCServer returns a gRPC server with the BigQuery Storage Write API
// (google.cloud.bigquery.storage.v1.BigQueryWrite) for this Server's tables.
// The caller serves it on a listener of its own (grpc.Server.Serve) and
// stops it before closing the Server.
//
// A client connects with cloud.google.com/go/bigquery/storage/managedwriter:
//
//	managedwriter.NewClient(ctx, project,
//		option.WithEndpoint("host:port"),
//		option.WithoutAuthentication(),
//		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
//
// Only each table's default stream (projects/P/datasets/D/tables/T/streams/_default,
// managedwriter.DefaultStream) is supported: GetWriteStream answers for it,
// and the other methods and stream names answer Unimplemented. AppendRows
// takes proto rows; the rows of one request are written atomically, all or
// none, and are visible to queries when the response arrives. A request
// that fails is answered in the response's error (a google.rpc.Status, with
// row_errors for rows that break a column's rules) and the connection stays
// usable, as in BigQuery. Requests are limited to 10 MB.
//
// The fault setting (see SetFaults) fails unary calls with
// codes.Unavailable before they run, and ends an AppendRows call with
// codes.Unavailable at a faulted request, before that request is
// processed.
func (s *Server) NewGRPCServer() *grpc.Server {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(maxAppendRequest),
		grpc.ChainUnaryInterceptor(s.unaryFaults), grpc.ChainStreamInterceptor(s.streamFaults))
	storagepb.RegisterBigQueryWriteServer(g, &writeServer{s: s})
	return g
}

// writeServer implements BigQueryWrite on a Server.
type writeServer struct {
	storagepb.UnimplementedBigQueryWriteServer
	s *Server
}

// onlyDefault is the answer to every method and stream name the emulator
// does not support.
func onlyDefault(what string) error {
	return status.Errorf(codes.Unimplemented, "%s: only the default stream (%s) is supported by the emulator", what, defaultStream)
}

func (w *writeServer) CreateWriteStream(context.Context, *storagepb.CreateWriteStreamRequest) (*storagepb.WriteStream, error) {
	return nil, onlyDefault("CreateWriteStream")
}

func (w *writeServer) FinalizeWriteStream(context.Context, *storagepb.FinalizeWriteStreamRequest) (*storagepb.FinalizeWriteStreamResponse, error) {
	return nil, onlyDefault("FinalizeWriteStream")
}

func (w *writeServer) BatchCommitWriteStreams(context.Context, *storagepb.BatchCommitWriteStreamsRequest) (*storagepb.BatchCommitWriteStreamsResponse, error) {
	return nil, onlyDefault("BatchCommitWriteStreams")
}

func (w *writeServer) FlushRows(context.Context, *storagepb.FlushRowsRequest) (*storagepb.FlushRowsResponse, error) {
	return nil, onlyDefault("FlushRows")
}

// GetWriteStream describes a table's default stream: COMMITTED, created with
// the table, in the table's location. Only the FULL view carries the table
// schema, as in BigQuery.
func (w *writeServer) GetWriteStream(_ context.Context, req *storagepb.GetWriteStreamRequest) (*storagepb.WriteStream, error) {
	name := req.GetName()
	t, err := w.s.writableTable(name)
	w.s.log.Debug("bigquery emulator GetWriteStream", "stream", name, "error", err)
	if err != nil {
		return nil, err
	}
	created := timestamppb.New(time.UnixMilli(t.CreationTime))
	ws := &storagepb.WriteStream{
		Name:       name,
		Type:       storagepb.WriteStream_COMMITTED,
		CreateTime: created,
		CommitTime: created,
		WriteMode:  storagepb.WriteStream_INSERT,
		Location:   t.Location,
	}
	if req.GetView() == storagepb.WriteStreamView_FULL {
		ws.TableSchema = storageSchema(t.Schema)
	}
	return ws, nil
}

// writableTable returns the table whose default stream name is, or a gRPC
// status error: InvalidArgument for a malformed name, Unimplemented for a
// stream other than the default, NotFound for a missing table.
func (s *Server) writableTable(name string) (*bq.Table, error) {
	m := streamNamePattern.FindStringSubmatch(name)
	if m == nil {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid stream name %q: it must be projects/{project}/datasets/{dataset}/tables/{table}/streams/%s", name, defaultStream)
	}
	if m[4] != defaultStream {
		return nil, onlyDefault("stream " + name)
	}
	t, ok := s.cat.table(tableKey{m[1], m[2], m[3]})
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Requested entity was not found. Entity: %s", name)
	}
	if t.Type != "TABLE" {
		return nil, status.Errorf(codes.InvalidArgument, "Cannot write to %s, which is a %s. Entity: %s", t.Id, t.Type, name)
	}
	return t, nil
}

// storageTypes are the Storage API's names of the emulator's column types.
var storageTypes = map[string]storagepb.TableFieldSchema_Type{
	"INTEGER":   storagepb.TableFieldSchema_INT64,
	"FLOAT":     storagepb.TableFieldSchema_DOUBLE,
	"NUMERIC":   storagepb.TableFieldSchema_NUMERIC,
	"BOOLEAN":   storagepb.TableFieldSchema_BOOL,
	"STRING":    storagepb.TableFieldSchema_STRING,
	"BYTES":     storagepb.TableFieldSchema_BYTES,
	"TIMESTAMP": storagepb.TableFieldSchema_TIMESTAMP,
	"DATE":      storagepb.TableFieldSchema_DATE,
	"DATETIME":  storagepb.TableFieldSchema_DATETIME,
	"TIME":      storagepb.TableFieldSchema_TIME,
}

// storageSchema is a normalized table schema in the Storage API's form.
func storageSchema(s *bq.TableSchema) *storagepb.TableSchema {
	out := &storagepb.TableSchema{}
	for _, f := range s.Fields {
		out.Fields = append(out.Fields, &storagepb.TableFieldSchema{
			Name:        f.Name,
			Type:        storageTypes[f.Type],
			Mode:        storagepb.TableFieldSchema_Mode(storagepb.TableFieldSchema_Mode_value[f.Mode]),
			Description: f.Description,
			MaxLength:   f.MaxLength,
		})
	}
	return out
}

// AppendRows answers every request of the connection in order, one response
// each. A failed request is answered in its response and does not end the
// connection; the call ends when the client closes its side or goes away.
func (w *writeServer) AppendRows(stream storagepb.BigQueryWrite_AppendRowsServer) error {
	var c appendConn
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(w.s.appendRows(stream.Context(), &c, req)); err != nil {
			return err
		}
	}
}

// appendConn is what the earlier requests of one AppendRows call named and
// later ones may omit: the write stream and the writer schema.
type appendConn struct {
	stream    string
	schema    *writerSchema
	schemaErr error // the writer schema last given does not build
}

// writerSchema is a compiled writer schema: the message type of the rows.
type writerSchema struct {
	desc protoreflect.MessageDescriptor
	typ  protoreflect.MessageType
}

// appendRows handles one request and logs it.
func (s *Server) appendRows(ctx context.Context, c *appendConn, req *storagepb.AppendRowsRequest) *storagepb.AppendRowsResponse {
	if name := req.GetWriteStream(); name != "" {
		c.stream = name
	}
	resp := &storagepb.AppendRowsResponse{WriteStream: c.stream}
	n, rowErrors, err := s.appendRequest(ctx, c, req)
	s.log.Debug("bigquery emulator AppendRows", "stream", c.stream, "rows", n, "rowErrors", len(rowErrors), "error", err)
	if err != nil {
		st := status.Convert(err)
		if st.Code() == codes.Internal {
			s.log.Error("bigquery emulator AppendRows failed", "stream", c.stream, "error", err)
		}
		resp.Response = &storagepb.AppendRowsResponse_Error{Error: st.Proto()}
		resp.RowErrors = rowErrors
		return resp
	}
	resp.Response = &storagepb.AppendRowsResponse_AppendResult_{AppendResult: &storagepb.AppendRowsResponse_AppendResult{}}
	return resp
}

// appendRequest writes the rows of one request, all or none, and returns how
// many rows the request holds. Every error is a gRPC status; rows that break
// a column's rules come back as row errors with InvalidArgument.
func (s *Server) appendRequest(ctx context.Context, c *appendConn, req *storagepb.AppendRowsRequest) (int, []*storagepb.RowError, error) {
	data := req.GetProtoRows()
	rows := data.GetRows().GetSerializedRows()
	if c.stream == "" {
		return len(rows), nil, status.Error(codes.InvalidArgument, "The first request of an AppendRows connection must name its write_stream")
	}
	t, err := s.writableTable(c.stream)
	if err != nil {
		return len(rows), nil, err
	}
	if data == nil {
		return 0, nil, status.Errorf(codes.InvalidArgument, "The request has no proto_rows; the emulator accepts proto rows only. Entity: %s", c.stream)
	}
	if ws := data.GetWriterSchema(); ws != nil {
		c.schema, c.schemaErr = compileWriterSchema(ws.GetProtoDescriptor())
	}
	if c.schemaErr != nil {
		return len(rows), nil, c.schemaErr
	}
	if c.schema == nil {
		return len(rows), nil, status.Errorf(codes.InvalidArgument, "The first request of an AppendRows connection must carry proto_rows.writer_schema. Entity: %s", c.stream)
	}
	if req.GetOffset() != nil {
		return len(rows), nil, status.Errorf(codes.InvalidArgument, "An offset is not allowed on the default stream. Entity: %s", c.stream)
	}
	if len(rows) == 0 {
		return 0, nil, status.Errorf(codes.InvalidArgument, "The request has no rows. Entity: %s", c.stream)
	}
	cols, err := bindColumns(t, c.schema.desc)
	if err != nil {
		return len(rows), nil, err
	}
	values, rowErrors, err := decodeRows(c.schema, cols, rows)
	if err != nil {
		return len(rows), nil, err
	}
	if len(rowErrors) > 0 {
		return len(rows), rowErrors, status.Errorf(codes.InvalidArgument, "Errors found while processing rows; see row_errors for details. No row of the request was written. Entity: %s", c.stream)
	}
	return len(rows), nil, s.writeRows(ctx, t, values)
}

// compileWriterSchema builds the message type that the rows are serialized
// with. The descriptor stands alone (nested types inside it, as
// managedwriter's adapt.NormalizeDescriptor makes them) and is read as
// proto2, as BigQuery reads it.
func compileWriterSchema(dp *descriptorpb.DescriptorProto) (*writerSchema, error) {
	if dp == nil {
		return nil, status.Error(codes.InvalidArgument, "writer_schema has no proto_descriptor")
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name:        proto.String("emulator_writer_schema.proto"),
		Syntax:      proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{dp},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Invalid proto schema: %v", err)
	}
	md := fd.Messages().Get(0)
	return &writerSchema{desc: md, typ: dynamicpb.NewMessageType(md)}, nil
}

// appendColumn is a table column and the writer-schema field that fills it.
type appendColumn struct {
	name      string
	bqType    string
	required  bool
	maxLength int64
	field     protoreflect.FieldDescriptor // nil: rows have no value, NULL
}

// protoKinds are the proto field kinds each column type accepts, as
// BigQuery accepts them (INTEGER, TIMESTAMP and DATE take any signed
// integer; FLOAT takes float and double).
var protoKinds = map[string][]protoreflect.Kind{
	"INTEGER":   signedKinds,
	"TIMESTAMP": signedKinds,
	"DATE":      signedKinds,
	"FLOAT":     {protoreflect.DoubleKind, protoreflect.FloatKind},
	"BOOLEAN":   {protoreflect.BoolKind},
	"STRING":    {protoreflect.StringKind},
	"BYTES":     {protoreflect.BytesKind},
}

var signedKinds = []protoreflect.Kind{
	protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
	protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
}

// bindColumns matches the writer schema's fields to the table's columns by
// name, ignoring case as BigQuery does. A field the table lacks, a repeated
// field, or a field whose type cannot fill its column is InvalidArgument.
func bindColumns(t *bq.Table, md protoreflect.MessageDescriptor) ([]appendColumn, error) {
	cols := make([]appendColumn, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		cols[i] = appendColumn{name: f.Name, bqType: f.Type, required: f.Mode == "REQUIRED", maxLength: f.MaxLength}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := string(fd.Name())
		col := columnNamed(cols, name)
		if col == nil {
			return nil, status.Errorf(codes.InvalidArgument, "Input schema has more fields than BigQuery schema, extra fields: '%s'. Entity: %s", name, streamName(keyOf(t)))
		}
		if col.field != nil {
			return nil, status.Errorf(codes.InvalidArgument, "Fields %s and %s of the proto schema both name the column %s", col.field.Name(), name, col.name)
		}
		if fd.Cardinality() == protoreflect.Repeated {
			return nil, status.Errorf(codes.InvalidArgument, "Field %s: the proto field is repeated but the column is %s", name, modeOf(col))
		}
		kinds, ok := protoKinds[col.bqType]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "Field %s: writing %s columns through the Storage Write API is not supported by the emulator", name, col.bqType)
		}
		if !slices.Contains(kinds, fd.Kind()) {
			return nil, status.Errorf(codes.InvalidArgument, "Field %s: the proto field type %s cannot be written to a %s column", name, fd.Kind(), col.bqType)
		}
		col.field = fd
	}
	return cols, nil
}

func columnNamed(cols []appendColumn, name string) *appendColumn {
	for i := range cols {
		if strings.EqualFold(cols[i].name, name) {
			return &cols[i]
		}
	}
	return nil
}

func modeOf(c *appendColumn) string {
	if c.required {
		return "REQUIRED"
	}
	return "NULLABLE"
}

// decodeRows decodes every serialized row into the values of the table's
// columns, in column order. A row that does not decode fails the request
// with InvalidArgument; a row that breaks a column's rules (REQUIRED,
// maxLength, UTF-8, the TIMESTAMP and DATE ranges) gets a row error.
func decodeRows(ws *writerSchema, cols []appendColumn, rows [][]byte) ([][]driver.Value, []*storagepb.RowError, error) {
	values := make([][]driver.Value, len(rows))
	var rowErrors []*storagepb.RowError
	msg := ws.typ.New().Interface()
	// AllowPartial: a proto2 required field that is unset is reported as a
	// missing REQUIRED value below, with the row, not as a decoding error.
	opts := proto.UnmarshalOptions{AllowPartial: true}
	for i, data := range rows {
		proto.Reset(msg)
		if err := opts.Unmarshal(data, msg); err != nil {
			return nil, nil, status.Errorf(codes.InvalidArgument, "Row %d is not a %s message: %v", i, ws.desc.FullName(), err)
		}
		m := msg.ProtoReflect()
		if len(m.GetUnknown()) > 0 {
			return nil, nil, status.Errorf(codes.InvalidArgument, "Row %d is not a %s message: it has fields that the writer schema does not declare", i, ws.desc.FullName())
		}
		row := make([]driver.Value, len(cols))
		for j := range cols {
			v, problem := cols[j].value(m)
			if problem != "" {
				rowErrors = append(rowErrors, &storagepb.RowError{Index: int64(i), Code: storagepb.RowError_FIELDS_ERROR, Message: problem})
				break
			}
			row[j] = v
		}
		values[i] = row
	}
	return values, rowErrors, nil
}

// value returns the column's value in m as the Appender takes it, or what is
// wrong with it, naming the column.
func (c *appendColumn) value(m protoreflect.Message) (driver.Value, string) {
	if c.field == nil || !m.Has(c.field) {
		if c.required {
			return nil, fmt.Sprintf("Required field %s is missing", c.name)
		}
		return nil, ""
	}
	v := m.Get(c.field)
	switch c.bqType {
	case "INTEGER":
		return v.Int(), ""
	case "TIMESTAMP":
		us := v.Int()
		if us < minTimestamp.UnixMicro() || us > maxTimestamp.UnixMicro() {
			return nil, fmt.Sprintf("Field %s: TIMESTAMP value %d (microseconds since the epoch) is out of range", c.name, us)
		}
		return time.UnixMicro(us).UTC(), ""
	case "DATE":
		days := v.Int()
		if days < minDateDays || days > maxDateDays {
			return nil, fmt.Sprintf("Field %s: DATE value %d (days since the epoch) is out of range", c.name, days)
		}
		return time.Unix(days*86400, 0).UTC(), ""
	case "FLOAT":
		return v.Float(), ""
	case "BOOLEAN":
		return v.Bool(), ""
	case "STRING":
		str := v.String()
		if !utf8.ValidString(str) {
			return nil, fmt.Sprintf("Field %s: invalid UTF-8 in a STRING value", c.name)
		}
		if n := int64(utf8.RuneCountInString(str)); c.maxLength > 0 && n > c.maxLength {
			return nil, fmt.Sprintf("Field %s: STRING(%d) has maximum length %d but got a value with length %d", c.name, c.maxLength, c.maxLength, n)
		}
		return str, ""
	case "BYTES":
		b := v.Bytes()
		if n := int64(len(b)); c.maxLength > 0 && n > c.maxLength {
			return nil, fmt.Sprintf("Field %s: BYTES(%d) has maximum length %d but got a value with length %d", c.name, c.maxLength, c.maxLength, n)
		}
		return b, ""
	}
	// bindColumns binds fields to the types above only.
	return nil, fmt.Sprintf("Field %s: %s columns are not supported", c.name, c.bqType)
}

// writeRows writes rows (values of the columns of t.Schema, in order) into
// the table t at once: under the table's lock, in one transaction, DuckDB's
// Appender adds them to the table, the table's resource gets a new etag and
// lastModifiedTime, and its history a point (history.go). The rows were
// decoded against t before the lock; the columns a table may gain since
// then are NULLABLE and filled with NULL. A table deleted and created again meanwhile is Aborted, which
// clients may retry.
func (s *Server) writeRows(ctx context.Context, t *bq.Table, rows [][]driver.Value) error {
	k := keyOf(t)
	names := make([]string, len(t.Schema.Fields))
	for i, f := range t.Schema.Fields {
		names[i] = f.Name
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return status.Errorf(codes.Internal, "append to %s: %v", k, err)
	}
	defer conn.Close()

	unlock := s.lockTable(k.project, k.dataset, k.table)
	defer unlock()
	cur, ok := s.cat.table(k)
	if !ok {
		return status.Errorf(codes.NotFound, "Requested entity was not found. Entity: %s", streamName(k))
	}
	if cur.CreationTime != t.CreationTime {
		return status.Errorf(codes.Aborted, "Table %s was replaced while the request was being processed; retry it. Entity: %s", k, streamName(k))
	}
	cur.Etag = newETag()
	cur.LastModifiedTime = uint64(nowMillis())
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return status.Errorf(codes.Internal, "append to %s: %v", k, err)
	}
	// The Appender writes in the connection's open transaction, so that the
	// rows commit, or roll back, with the table's resource.
	err = conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected DuckDB connection %T", dc)
		}
		app, err := duckdb.NewAppenderWithColumns(dconn, "", k.project+"."+k.dataset, k.table, names)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := app.AppendRow(row...); err != nil {
				_ = app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		_ = tx.Rollback()
		return grpcStatus(fmt.Sprintf("append to %s", k), duckError(err))
	}
	if err := putTable(ctx, tx, cur); err != nil {
		_ = tx.Rollback()
		return status.Errorf(codes.Internal, "append to %s: %v", k, err)
	}
	if err := recordWrite(ctx, tx, k, appended("Storage Write API append")); err != nil {
		_ = tx.Rollback()
		return status.Errorf(codes.Internal, "append to %s: %v", k, err)
	}
	if err := tx.Commit(); err != nil {
		return grpcStatus(fmt.Sprintf("append to %s", k), duckError(err))
	}
	s.cat.setTable(cur)
	return nil
}

func keyOf(t *bq.Table) tableKey {
	r := t.TableReference
	return tableKey{r.ProjectId, r.DatasetId, r.TableId}
}

// streamName is the name of a table's default stream.
func streamName(k tableKey) string {
	return "projects/" + k.project + "/datasets/" + k.dataset + "/tables/" + k.table + "/streams/" + defaultStream
}

// grpcStatus turns an error of the REST side into a gRPC status with the
// code that matches its HTTP status; an error that is not an *apiError is
// Internal. op names what failed.
func grpcStatus(op string, err error) error {
	ae := asAPIError(err)
	code := codes.Internal
	switch ae.Code {
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusConflict:
		code = codes.AlreadyExists
	}
	return status.Errorf(code, "%s: %s", op, ae.Message)
}
