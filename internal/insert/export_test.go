package insert

import (
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// Decode parses and validates a body of media type media ("application/json"
// or "text/csv") as the service does before it writes: rows one by one,
// then duplicates within the batch. It returns how many rows are valid and
// how many refused.
func Decode(t *dictionary.Table, media string, body []byte) (valid, refused int, err error) {
	r := newRows(t)
	defer r.release()
	items, err := decode(t, media, body, r)
	for _, it := range items {
		if it.err != nil {
			refused++
		} else {
			valid++
		}
	}
	return valid, refused, err
}

// Encoder returns a function that encodes the valid rows of a body decoded
// as Decode does into the Storage Write API messages of t's raw table, as
// the service does before it appends them, stamped with ingestionID and
// receivedAt.
func Encoder(t *dictionary.Table, media string, body []byte, ingestionID string, receivedAt time.Time) (func() ([][]byte, error), error) {
	items, err := decode(t, media, body, newRows(t))
	if err != nil {
		return nil, err
	}
	enc, err := newRowEncoder(t)
	if err != nil {
		return nil, err
	}
	return func() ([][]byte, error) { return enc.encode(items, ingestionID, receivedAt) }, nil
}

func decode(t *dictionary.Table, media string, body []byte, r *rows) ([]item, error) {
	var items []item
	var err error
	if media == "text/csv" {
		items, err = parseCSV(t, body, r)
	} else {
		items, err = parseJSON(t, body, r)
	}
	if err != nil {
		return nil, err
	}
	refuseDuplicates(t, items)
	return items, nil
}
