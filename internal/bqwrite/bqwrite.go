// Package bqwrite appends rows to BigQuery tables through the Storage Write
// API's default streams: one client per process, one stream per table, one
// append per call, so that a call's rows land together or not at all.
package bqwrite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Appender appends rows to the tables of one dataset. It is safe for
// concurrent use.
type Appender struct {
	client           *managedwriter.Client
	project, dataset string

	mu      sync.Mutex
	streams map[string]*stream
}

type stream struct {
	ms  *managedwriter.ManagedStream
	enc *Encoder
}

// New returns an Appender for project.dataset. With endpoint (host:port of
// the local emulator) it talks plaintext gRPC without credentials; otherwise
// to Google.
func New(ctx context.Context, project, dataset, endpoint string) (*Appender, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	c, err := managedwriter.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("managedwriter.NewClient: %w", err)
	}
	return &Appender{client: c, project: project, dataset: dataset, streams: map[string]*stream{}}, nil
}

// Close closes the streams and the client.
func (a *Appender) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for _, s := range a.streams {
		errs = append(errs, s.ms.Close())
	}
	errs = append(errs, a.client.Close())
	return errors.Join(errs...)
}

// stream returns the default stream of a table, opening it on first use.
func (a *Appender) stream(ctx context.Context, table string, schema bigquery.Schema) (*stream, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.streams[table]; ok {
		return s, nil
	}
	enc, err := NewEncoder(schema)
	if err != nil {
		return nil, err
	}
	// The stream lives as long as the Appender, not as the call that opens
	// it: its context must not end with that call.
	ms, err := a.client.NewManagedStream(context.WithoutCancel(ctx),
		managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(a.project, a.dataset, table)),
		managedwriter.WithType(managedwriter.DefaultStream),
		managedwriter.WithSchemaDescriptor(enc.normalized),
		managedwriter.EnableWriteRetries(true))
	if err != nil {
		return nil, fmt.Errorf("open the default stream of %s: %w", table, err)
	}
	s := &stream{ms: ms, enc: enc}
	a.streams[table] = s
	return s, nil
}

// Append appends rows to table, whose schema is schema: one value per column
// in schema order, as int64, float64, bool, string, []byte or time.Time, or
// nil for NULL. The rows land together or not at all.
func (a *Appender) Append(ctx context.Context, table string, schema bigquery.Schema, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	s, err := a.stream(ctx, table, schema)
	if err != nil {
		return err
	}
	data := make([][]byte, len(rows))
	for i, row := range rows {
		b, err := s.enc.Encode(row)
		if err != nil {
			return &encodeError{fmt.Errorf("bqwrite: row %d of %s: %w", i, table, err)}
		}
		data[i] = b
	}
	res, err := s.ms.AppendRows(ctx, data)
	if err != nil {
		return fmt.Errorf("append to %s: %w", table, err)
	}
	if _, err := res.GetResult(ctx); err != nil {
		return fmt.Errorf("append to %s: %w", table, err)
	}
	return nil
}

// encodeError is a row that does not fit its table's writer schema.
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// Encoder serializes rows of one table into the protocol buffer messages
// that the Storage Write API takes for the table's writer schema, with
// protowire: one allocation per row, no message values. It is safe for
// concurrent use.
type Encoder struct {
	normalized *descriptorpb.DescriptorProto
	columns    []column
}

// column is what Encode needs of one field of the writer schema.
type column struct {
	name     string
	num      protowire.Number
	kind     protoreflect.Kind
	required bool
	bqType   bigquery.FieldType
}

// NewEncoder returns an Encoder for rows of schema. It fails for a schema
// the Storage Write API cannot describe.
func NewEncoder(schema bigquery.Schema) (*Encoder, error) {
	ts, err := adapt.BQSchemaToStorageTableSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("adapt.BQSchemaToStorageTableSchema: %w", err)
	}
	d, err := adapt.StorageSchemaToProto2Descriptor(ts, "root")
	if err != nil {
		return nil, fmt.Errorf("adapt.StorageSchemaToProto2Descriptor: %w", err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, errors.New("bqwrite: the schema did not give a message descriptor")
	}
	dp, err := adapt.NormalizeDescriptor(md)
	if err != nil {
		return nil, fmt.Errorf("adapt.NormalizeDescriptor: %w", err)
	}
	e := &Encoder{normalized: dp}
	for i, f := range schema {
		fd := md.Fields().Get(i)
		if fd == nil {
			return nil, fmt.Errorf("bqwrite: no proto field for column %s", f.Name)
		}
		switch fd.Kind() {
		case protoreflect.Int64Kind, protoreflect.StringKind, protoreflect.DoubleKind, protoreflect.BoolKind, protoreflect.BytesKind:
		default:
			return nil, fmt.Errorf("bqwrite: column %s: proto kind %s is not supported", f.Name, fd.Kind())
		}
		if fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("bqwrite: column %s: repeated columns are not supported", f.Name)
		}
		e.columns = append(e.columns, column{name: string(fd.Name()), num: fd.Number(), kind: fd.Kind(),
			required: fd.Cardinality() == protoreflect.Required, bqType: f.Type})
	}
	return e, nil
}

// Encode serializes a row: one value per column in schema order, as int64,
// float64, bool, string, []byte or time.Time (TIMESTAMP columns only), or
// nil for NULL. It fails for a row of the wrong length, a value of another
// type, or a NULL in a REQUIRED column.
func (e *Encoder) Encode(row []any) ([]byte, error) {
	if len(row) != len(e.columns) {
		return nil, fmt.Errorf("%d values for %d columns", len(row), len(e.columns))
	}
	size := 0
	for i, v := range row {
		n, err := e.columns[i].size(v)
		if err != nil {
			return nil, err
		}
		size += n
	}
	b := make([]byte, 0, size)
	for i, v := range row {
		b = e.columns[i].append(b, v)
	}
	return b, nil
}

// size checks a value against its column and returns the bytes of its
// field, 0 for NULL.
func (c *column) size(v any) (int, error) {
	tag := protowire.SizeTag(c.num)
	switch x := v.(type) {
	case nil:
		if c.required {
			return 0, fmt.Errorf("column %s: NULL in a REQUIRED column", c.name)
		}
		return 0, nil
	case int64:
		if c.kind == protoreflect.Int64Kind {
			return tag + protowire.SizeVarint(uint64(x)), nil
		}
	case string:
		if c.kind == protoreflect.StringKind {
			return tag + protowire.SizeBytes(len(x)), nil
		}
	case float64:
		if c.kind == protoreflect.DoubleKind {
			return tag + protowire.SizeFixed64(), nil
		}
	case bool:
		if c.kind == protoreflect.BoolKind {
			return tag + protowire.SizeVarint(protowire.EncodeBool(x)), nil
		}
	case []byte:
		if c.kind == protoreflect.BytesKind {
			return tag + protowire.SizeBytes(len(x)), nil
		}
	case time.Time:
		if c.bqType != bigquery.TimestampFieldType {
			return 0, fmt.Errorf("column %s: a time for a %s column", c.name, c.bqType)
		}
		return tag + protowire.SizeVarint(uint64(x.UnixMicro())), nil
	default:
		return 0, fmt.Errorf("column %s: unsupported value %T", c.name, v)
	}
	return 0, fmt.Errorf("column %s: a %T for a %s column", c.name, v, c.bqType)
}

// append appends the field of a value that size accepted.
func (c *column) append(b []byte, v any) []byte {
	switch x := v.(type) {
	case int64:
		return protowire.AppendVarint(protowire.AppendTag(b, c.num, protowire.VarintType), uint64(x))
	case string:
		return protowire.AppendString(protowire.AppendTag(b, c.num, protowire.BytesType), x)
	case float64:
		return protowire.AppendFixed64(protowire.AppendTag(b, c.num, protowire.Fixed64Type), math.Float64bits(x))
	case bool:
		return protowire.AppendVarint(protowire.AppendTag(b, c.num, protowire.VarintType), protowire.EncodeBool(x))
	case []byte:
		return protowire.AppendBytes(protowire.AppendTag(b, c.num, protowire.BytesType), x)
	case time.Time:
		return protowire.AppendVarint(protowire.AppendTag(b, c.num, protowire.VarintType), uint64(x.UnixMicro()))
	}
	return b
}

// Transient reports whether an Append error may succeed on another try.
// Only errors that another try would repeat are permanent: a request the
// service refuses (invalid, unknown table, no permission, not
// implemented) and a row this package cannot encode. Everything else (the
// service unavailable or overloaded, a connection dropped, a deadline) is
// transient, so that callers retry rather than give up on a batch that
// would land.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ee *encodeError
	if errors.As(err, &ee) {
		return false
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return true
	}
	switch se.GRPCStatus().Code() {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied, codes.Unauthenticated,
		codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented:
		return false
	}
	return true
}
