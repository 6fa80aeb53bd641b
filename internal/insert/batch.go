// Package insert is the work of the insert-rows function: it parses a batch
// of 1 to 1000 rows sent as JSON or CSV, validates every row against the
// data dictionary, appends the valid ones through the Storage Write API and
// records the refused ones.
package insert

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// MaxRows is the largest batch.
const MaxRows = 1000

// item is one row of a batch: its raw form as sent and the outcome of
// validation, the row's values, unboxed, or its refusal.
type item struct {
	raw    []byte
	json   bool  // raw is a JSON object, stored compacted
	line   int64 // CSV: the line of the record; 0 for JSON
	values []dictionary.Value
	err    *dictionary.RowError
}

// rows holds what parsing a batch allocates, its items and their values,
// and is reused from batch to batch through rowsPool: a batch of 1000
// hired_employees rows would otherwise allocate 230 KB of them, most of what
// its parse allocates.
type rows struct {
	items []item
	// all holds the values of MaxRows rows of the batch's table, one
	// element per field; free is its part not yet given to a row.
	all, free []dictionary.Value
	width     int
}

var rowsPool = sync.Pool{New: func() any { return new(rows) }}

// newRows returns empty rows for a batch of table t, from the pool: the
// caller gives them back with release once nothing uses its items.
func newRows(t *dictionary.Table) *rows {
	r := rowsPool.Get().(*rows)
	r.width = len(t.Fields)
	r.reset()
	return r
}

// reset empties r for a new parse of the same batch.
func (r *rows) reset() {
	r.items, r.free = r.items[:0], r.all
}

// values returns the values of the next row, which its parse sets in full.
func (r *rows) values() []dictionary.Value {
	if len(r.free) < r.width {
		r.all = make([]dictionary.Value, MaxRows*r.width)
		r.free = r.all
	}
	v := r.free[:r.width:r.width]
	r.free = r.free[r.width:]
	return v
}

// release clears what r's batch used, so that the pool keeps no reference
// to its body, and puts r back in the pool.
func (r *rows) release() {
	clear(r.items)
	clear(r.all[:len(r.all)-len(r.free)])
	rowsPool.Put(r)
}

// stored returns the item's raw form as rejected_rows keeps it: a JSON
// object without insignificant white space, a CSV record as it is.
func (it item) stored() []byte {
	if it.json {
		return compact(it.raw)
	}
	return it.raw
}

// parseJSON reads a body {"rows": [ {...}, ... ]} strictly (see
// httpapi.DecodeJSON): 1 to MaxRows rows. Rows are validated one by one: a
// row with a member twice or unknown is refused with its own rule. A body of
// valid plain rows is read by plainJSON; any other plain body in one pass
// (scanJSON); any other by parseJSONStrict, which says why it is refused.
// The items and their values are r's.
func parseJSON(t *dictionary.Table, body []byte, r *rows) ([]item, error) {
	if plainJSON(t, body, r) {
		return r.items, nil
	}
	r.reset()
	if scanJSON(t, body, r) {
		return r.items, nil
	}
	r.reset()
	return parseJSONStrict(t, body, r)
}

// parseJSONStrict reads a body as parseJSON does, in steps: a token walk
// that checks the envelope, encoding/json for the rows array, and
// ParseObjectValues for each row.
func parseJSONStrict(t *dictionary.Table, body []byte, r *rows) ([]item, error) {
	var req struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := httpapi.DecodeJSONLevels(body, &req, 1); err != nil {
		return nil, err
	}
	if req.Rows == nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, "malformed_body", `the body has no "rows" array`)
	}
	if err := checkSize(len(req.Rows)); err != nil {
		return nil, err
	}
	for i, raw := range req.Rows {
		it := item{raw: raw, json: true, values: r.values()}
		if it.err = t.ParseObjectValues(int64(i), raw, it.values); it.err != nil {
			it.values = nil
		}
		r.items = append(r.items, it)
	}
	return r.items, nil
}

// compact returns raw without insignificant white space, as it is stored in
// rejected_rows.
func compact(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return bytes.Clone(raw)
	}
	return buf.Bytes()
}

// parseCSV reads a body in the CSV format of the files: no header (a header
// naming the columns is skipped), one record per row. The items and their
// values are r's.
func parseCSV(t *dictionary.Table, body []byte, r *rows) ([]item, error) {
	in := t.NewReader(bytes.NewReader(body))
	for {
		rec, err := in.NextFields()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "malformed_body", "reading the CSV body: %v", err)
		}
		if len(r.items) == MaxRows {
			return nil, checkSize(MaxRows + 1)
		}
		// A record's raw bytes are the body's from its offset.
		end := rec.Offset + int64(len(rec.Raw))
		it := item{raw: body[rec.Offset:end:end], line: rec.Line, err: rec.Err}
		if it.err == nil {
			it.values = r.values()
			it.err = t.ParseRecordValues(rec.Line, rec.Values, it.values)
		}
		if it.err != nil {
			it.values, it.err.Row = nil, int64(len(r.items))
		}
		r.items = append(r.items, it)
	}
	if err := checkSize(len(r.items)); err != nil {
		return nil, err
	}
	return r.items, nil
}

func checkSize(n int) error {
	if n < 1 || n > MaxRows {
		return httpapi.Errorf(http.StatusBadRequest, "batch_size", "a batch has 1 to %d rows; this one has %s", MaxRows, countWord(n))
	}
	return nil
}

func countWord(n int) string {
	if n > MaxRows {
		return fmt.Sprintf("more than %d", MaxRows)
	}
	return fmt.Sprint(n)
}

// intFirsts and stringFirsts hold maps from a key to the first row of a
// batch that has it, reused from batch to batch: a map for 1000 keys is the
// largest allocation of a CSV batch's validation after the body itself.
var (
	intFirsts    = sync.Pool{New: func() any { return make(map[int64]int, MaxRows) }}
	stringFirsts = sync.Pool{New: func() any { return make(map[string]int, MaxRows) }}
)

// refuseDuplicates refuses each valid row whose key an earlier valid row of
// the batch has: the first one wins. Invalid rows are not inserted, so they
// do not count. A key is REQUIRED, never NULL: an INTEGER or TIMESTAMP key
// is its Int, a STRING key its Str.
func refuseDuplicates(t *dictionary.Table, items []item) {
	if t.Key().Type == dictionary.String {
		refuseDuplicatesBy(t, items, &stringFirsts, func(v *dictionary.Value) string { return v.Str })
		return
	}
	refuseDuplicatesBy(t, items, &intFirsts, func(v *dictionary.Value) int64 { return v.Int })
}

func refuseDuplicatesBy[K cmp.Ordered](t *dictionary.Table, items []item, firsts *sync.Pool, key func(*dictionary.Value) K) {
	// While the valid rows' keys rise, as a batch's ids mostly do, none
	// repeats an earlier one: the map is only needed from the first row
	// whose key does not rise.
	var last K
	i, rising := 0, 0
	for ; i < len(items); i++ {
		if items[i].err != nil {
			continue
		}
		k := key(&items[i].values[0])
		if rising > 0 && k <= last {
			break
		}
		last, rising = k, rising+1
	}
	if i == len(items) {
		return
	}
	first := firsts.Get().(map[K]int)
	defer func() {
		clear(first)
		firsts.Put(first)
	}()
	for j := range i {
		if items[j].err == nil {
			first[key(&items[j].values[0])] = j
		}
	}
	for ; i < len(items); i++ {
		it := &items[i]
		if it.err != nil {
			continue
		}
		k := key(&it.values[0])
		j, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		rerr := &dictionary.RowError{Table: t.Name, Row: int64(i), Key: it.values[0].Any(t.Key().Type), Errors: []dictionary.FieldError{{
			Field:   t.Key().Name,
			Rule:    dictionary.RuleDuplicateInBatch,
			Message: fmt.Sprintf("row %d of the batch has the same %s", j, t.Key().Name),
		}}}
		it.values, it.err = nil, rerr
	}
}
