// Package bqwrite appends rows to BigQuery tables through the Storage Write
// API's default streams: one client per process, one stream per table, one
// append per call, so that a call's rows land together or not at all.
package bqwrite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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
	ms *managedwriter.ManagedStream
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
	s := &stream{ms: ms}
	a.streams[table] = s
	return s, nil
}

// Append appends rows to table, whose schema is schema: each row the
// message an Encoder of schema gave (EncodeRows, or AppendInt and
// AppendString). The rows land together or not at all.
func (a *Appender) Append(ctx context.Context, table string, schema bigquery.Schema, rows [][]byte) error {
	if len(rows) == 0 {
		return nil
	}
	s, err := a.stream(ctx, table, schema)
	if err != nil {
		return err
	}
	res, err := s.ms.AppendRows(ctx, rows)
	if err != nil {
		return fmt.Errorf("append to %s: %w", table, err)
	}
	if _, err := res.GetResult(ctx); err != nil {
		return fmt.Errorf("append to %s: %w", table, err)
	}
	return nil
}

// encodeError is a row that does not fit its table's writer schema: what
// an Encoder's methods fail with, and Transient calls permanent.
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// Encoder serializes rows of one table into the protocol buffer messages
// that the Storage Write API takes for the table's writer schema, with
// protowire: one pass over each row, one buffer for a call's rows, no
// message values. It is safe for concurrent use.
type Encoder struct {
	normalized *descriptorpb.DescriptorProto
	columns    []column
}

// column is what EncodeRows needs of one field of the writer schema.
type column struct {
	name     string
	tag      []byte // the field's number and wire type, encoded
	kind     protoreflect.Kind
	required bool
	bqType   bigquery.FieldType
}

// wireTypes are the wire types of the proto kinds an Encoder supports.
var wireTypes = map[protoreflect.Kind]protowire.Type{
	protoreflect.Int64Kind:  protowire.VarintType,
	protoreflect.BoolKind:   protowire.VarintType,
	protoreflect.StringKind: protowire.BytesType,
	protoreflect.BytesKind:  protowire.BytesType,
	protoreflect.DoubleKind: protowire.Fixed64Type,
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
		wire, ok := wireTypes[fd.Kind()]
		if !ok {
			return nil, fmt.Errorf("bqwrite: column %s: proto kind %s is not supported", f.Name, fd.Kind())
		}
		if fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("bqwrite: column %s: repeated columns are not supported", f.Name)
		}
		e.columns = append(e.columns, column{name: string(fd.Name()), tag: protowire.AppendTag(nil, fd.Number(), wire), kind: fd.Kind(),
			required: fd.Cardinality() == protoreflect.Required, bqType: f.Type})
	}
	return e, nil
}

// EncodeRows serializes rows, each one value per column in schema order, as
// int64, float64, bool, string, []byte or time.Time (TIMESTAMP columns
// only), or nil for NULL. The messages share one buffer. It fails, naming
// the row, for a row of the wrong length, a value of another type, or a
// NULL in a REQUIRED column.
func (e *Encoder) EncodeRows(rows [][]any) ([][]byte, error) {
	out := make([][]byte, len(rows))
	var buf []byte
	for i, row := range rows {
		if i == 1 {
			// The first row's size, with a margin, sizes the rest.
			buf = slices.Grow(buf, len(buf)*(len(rows)-1)*5/4)
		}
		start := len(buf)
		var err error
		if buf, err = e.appendRow(buf, row); err != nil {
			return nil, &encodeError{fmt.Errorf("row %d: %w", i, err)}
		}
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out, nil
}

// appendRow appends the message of one row.
func (e *Encoder) appendRow(b []byte, row []any) ([]byte, error) {
	if len(row) != len(e.columns) {
		return nil, fmt.Errorf("%d values for %d columns", len(row), len(e.columns))
	}
	for i, v := range row {
		c := &e.columns[i]
		switch x := v.(type) {
		case nil:
			if c.required {
				return nil, fmt.Errorf("column %s: NULL in a REQUIRED column", c.name)
			}
			continue
		case int64:
			if c.kind == protoreflect.Int64Kind {
				b = appendVarint(append(b, c.tag...), uint64(x))
				continue
			}
		case string:
			if c.kind == protoreflect.StringKind {
				b = append(appendVarint(append(b, c.tag...), uint64(len(x))), x...)
				continue
			}
		case float64:
			if c.kind == protoreflect.DoubleKind {
				b = protowire.AppendFixed64(append(b, c.tag...), math.Float64bits(x))
				continue
			}
		case bool:
			if c.kind == protoreflect.BoolKind {
				b = append(append(b, c.tag...), byte(protowire.EncodeBool(x)))
				continue
			}
		case []byte:
			if c.kind == protoreflect.BytesKind {
				b = append(appendVarint(append(b, c.tag...), uint64(len(x))), x...)
				continue
			}
		case time.Time:
			if c.bqType != bigquery.TimestampFieldType {
				return nil, fmt.Errorf("column %s: a time for a %s column", c.name, c.bqType)
			}
			b = appendVarint(append(b, c.tag...), uint64(x.UnixMicro()))
			continue
		default:
			return nil, fmt.Errorf("column %s: unsupported value %T", c.name, v)
		}
		return nil, fmt.Errorf("column %s: a %T for a %s column", c.name, v, c.bqType)
	}
	return b, nil
}

// AppendInt appends to b the field of column col with the value v: an
// INTEGER, or a TIMESTAMP as microseconds since the Unix epoch. With
// AppendString it encodes a row's values without boxing them: the
// message of a row is its columns' fields appended one after the other, a
// NULL's left out. It fails for a column of another type.
func (e *Encoder) AppendInt(b []byte, col int, v int64) ([]byte, error) {
	c := &e.columns[col]
	if c.kind != protoreflect.Int64Kind {
		return nil, &encodeError{fmt.Errorf("column %s: an integer for a %s column", c.name, c.bqType)}
	}
	return appendVarint(append(b, c.tag...), uint64(v)), nil
}

// AppendString is AppendInt for the value of a STRING column.
func (e *Encoder) AppendString(b []byte, col int, v string) ([]byte, error) {
	c := &e.columns[col]
	if c.kind != protoreflect.StringKind {
		return nil, &encodeError{fmt.Errorf("column %s: a string for a %s column", c.name, c.bqType)}
	}
	return append(appendVarint(append(b, c.tag...), uint64(len(v))), v...), nil
}

// appendVarint is protowire.AppendVarint with the one-byte case inline.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// Transient reports whether an Append error may succeed on another try.
// Only errors that another try would repeat are permanent: a request the
// service refuses (invalid, unknown table, no permission, not
// implemented) and a row an Encoder cannot encode. Everything else (the
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
