package httpapi

import (
	"bytes"
	"encoding/csv"
	"net/http"
)

// CSV is a text/csv answer: a header row and rows. Cells that a
// spreadsheet would read as a formula are neutralised (see Neutralise).
type CSV struct {
	Header []string
	Rows   [][]string
}

// Render renders c as a 200 text/csv answer.
func (c CSV) Render() Answer {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	for _, rec := range append([][]string{c.Header}, c.Rows...) {
		out := make([]string, len(rec))
		for i, cell := range rec {
			out[i] = Neutralise(cell)
		}
		// A bytes.Buffer does not fail.
		_ = cw.Write(out)
	}
	cw.Flush()
	return Answer{Status: http.StatusOK, ContentType: "text/csv; charset=utf-8", Body: buf.Bytes()}
}

// Neutralise returns a CSV cell that no spreadsheet evaluates: a cell that
// begins with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, as OWASP's CSV injection guidance says. Other cells are
// unchanged. The JSON answers carry the values as they are.
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
