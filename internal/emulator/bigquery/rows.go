package bigquery

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"
)

// Page limits when the caller does not choose: BigQuery caps an answer at
// about 10 MB.
const (
	defaultPageRows  = 10000
	maxPageCellBytes = 10 << 20
)

// page is a page of rows read from a table.
type page struct {
	Rows  []*bq.TableRow
	Total int64
	Next  string
}

// readPage reads up to p.Size rows (all if p.Size < 0, within the limits
// above) of the given columns of a DuckDB table, from p.Offset, formatted
// as BigQuery does.
func (s *Server) readPage(ctx context.Context, table string, columns []string, fields []*bq.TableFieldSchema, p pageRequest, int64ts bool) (*page, error) {
	var total int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&total); err != nil {
		return nil, duckError(err)
	}
	out := &page{Total: total}
	limit := p.Size
	if limit < 0 {
		limit = defaultPageRows
	}
	if limit == 0 || p.Offset >= total {
		if p.Offset < total {
			out.Next = encodeToken(p.Offset)
		}
		return out, nil
	}
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = quoteIdent(c)
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s LIMIT %d OFFSET %d", strings.Join(cols, ", "), table, limit, p.Offset))
	if err != nil {
		return nil, duckError(err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	size := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, duckError(err)
		}
		row := &bq.TableRow{F: make([]*bq.TableCell, len(cols))}
		for i, v := range vals {
			c, err := cell(fields[i].Type, v, int64ts)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", columns[i], err)
			}
			if s, ok := c.(string); ok {
				size += len(s)
			}
			row.F[i] = &bq.TableCell{V: c}
			if c == nil {
				// BigQuery answers a NULL as {"v": null}, never {}.
				row.F[i].NullFields = []string{"V"}
			}
		}
		out.Rows = append(out.Rows, row)
		if size > maxPageCellBytes {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, duckError(err)
	}
	if end := p.Offset + int64(len(out.Rows)); end < total {
		out.Next = encodeToken(end)
	}
	return out, nil
}

// cell formats a value as BigQuery's REST API does: every scalar a string,
// NULL as null, TIMESTAMP as int64 microseconds when asked (int64ts) and as
// floating-point seconds otherwise.
func cell(typ string, v any, int64ts bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "INTEGER":
		switch n := v.(type) {
		case int64:
			return strconv.FormatInt(n, 10), nil
		case int32:
			return strconv.FormatInt(int64(n), 10), nil
		case *big.Int:
			return n.String(), nil
		}
	case "FLOAT":
		if f, ok := v.(float64); ok {
			switch {
			case math.IsNaN(f):
				return "NaN", nil
			case math.IsInf(f, 1):
				return "Infinity", nil
			case math.IsInf(f, -1):
				return "-Infinity", nil
			}
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
	case "NUMERIC":
		if d, ok := v.(duckdb.Decimal); ok {
			return new(big.Rat).SetFrac(d.Value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil)).FloatString(int(d.Scale)), nil
		}
	case "BOOLEAN":
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case "STRING":
		if s, ok := v.(string); ok {
			return s, nil
		}
	case "BYTES":
		if b, ok := v.([]byte); ok {
			return base64.StdEncoding.EncodeToString(b), nil
		}
	case "TIMESTAMP":
		if t, ok := v.(time.Time); ok {
			us := t.UnixMicro()
			if int64ts {
				return strconv.FormatInt(us, 10), nil
			}
			return floatSeconds(us), nil
		}
	case "DATE":
		if t, ok := v.(time.Time); ok {
			return t.Format("2006-01-02"), nil
		}
	case "DATETIME":
		if t, ok := v.(time.Time); ok {
			return t.Format("2006-01-02T15:04:05.999999"), nil
		}
	case "TIME":
		if t, ok := v.(time.Time); ok {
			return t.Format("15:04:05.999999"), nil
		}
	}
	return nil, fmt.Errorf("cannot format %T as %s", v, typ)
}

// floatSeconds writes microseconds since the epoch the way BigQuery writes a
// TIMESTAMP without useInt64Timestamp, e.g. 1.627401728123456E9.
func floatSeconds(us int64) string {
	s := strconv.FormatFloat(float64(us)/1e6, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}
