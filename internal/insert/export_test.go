package insert

import "github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"

// Decode parses and validates a body of media type media ("application/json"
// or "text/csv") as the service does before it writes: rows one by one,
// then duplicates within the batch. It returns the values of the valid rows,
// in batch order and without the ingestion columns, and how many rows are
// refused.
func Decode(t *dictionary.Table, media string, body []byte) (valid [][]any, refused int, err error) {
	var items []item
	if media == "text/csv" {
		items, err = parseCSV(t, body)
	} else {
		items, err = parseJSON(t, body)
	}
	if err != nil {
		return nil, 0, err
	}
	refuseDuplicates(t, items)
	valid = make([][]any, 0, len(items))
	for _, it := range items {
		if it.err != nil {
			refused++
			continue
		}
		valid = append(valid, it.row.Values)
	}
	return valid, refused, nil
}
