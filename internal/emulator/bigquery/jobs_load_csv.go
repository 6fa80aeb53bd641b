package bigquery

import (
	"bufio"
	"database/sql/driver"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"
)

// checkCSVLoad validates the CSV options of a load job and fills in
// BigQuery's defaults. The emulator reads UTF-8 with " as the quote, and
// fails the job on the first bad row; options it cannot honour are refused.
func checkCSVLoad(cfg *bq.JobConfigurationLoad) error {
	switch strings.ToUpper(cfg.Encoding) {
	case "", "UTF-8", "UTF8":
	default:
		return errInvalid("Encoding %s is not supported by the emulator; it loads UTF-8 CSV files", cfg.Encoding)
	}
	switch cfg.FieldDelimiter {
	case "":
		cfg.FieldDelimiter = ","
	case "tab", `\t`:
		cfg.FieldDelimiter = "\t"
	}
	if utf8.RuneCountInString(cfg.FieldDelimiter) != 1 || cfg.FieldDelimiter == `"` || cfg.FieldDelimiter == "\n" || cfg.FieldDelimiter == "\r" {
		return errInvalid("Invalid field delimiter %q: the emulator takes one character other than a quote or a line break", cfg.FieldDelimiter)
	}
	if cfg.Quote != nil && *cfg.Quote != `"` {
		return errInvalid("Quote %q is not supported by the emulator; it reads CSV quoted with \"", *cfg.Quote)
	}
	if cfg.SkipLeadingRows < 0 {
		return errInvalid("Invalid value for skipLeadingRows: %d", cfg.SkipLeadingRows)
	}
	if cfg.MaxBadRecords != 0 {
		return errInvalid("maxBadRecords %d is not supported by the emulator: a CSV load fails on its first bad row", cfg.MaxBadRecords)
	}
	if cfg.Autodetect && (cfg.Schema == nil || len(cfg.Schema.Fields) == 0) {
		return errInvalid("Schema autodetection is not supported by the emulator; give the load a schema, or load into an existing table")
	}
	if len(cfg.NullMarkers) > 0 || cfg.DateFormat != "" || cfg.DatetimeFormat != "" || cfg.TimeFormat != "" || cfg.TimestampFormat != "" || cfg.TimeZone != "" {
		return errInvalid("nullMarkers and the date, time and time zone formats of CSV loads are not supported by the emulator")
	}
	return nil
}

// csvFile appends the rows of one CSV file to the staging table. Every
// value is parsed as its column's type, as BigQuery parses CSV; a field
// equal to the null marker (default: empty) is NULL. The first bad row
// fails the load, naming its line and field.
func (st *stager) csvFile(src loadSource, in io.Reader) error {
	t := st.target.table
	if t.Schema == nil {
		return inFile(errInvalid("Error while reading data, error message: the emulator loads CSV with a schema only: give the job a schema, or load into an existing table"), src.uri)
	}
	if err := st.begin(nil); err != nil {
		return inFile(err, src.uri)
	}
	cfg := st.cfg
	r := csv.NewReader(bufio.NewReaderSize(in, readBuffer))
	r.Comma, _ = utf8.DecodeRuneInString(cfg.FieldDelimiter)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	fields := t.Schema.Fields
	for n := int64(1); ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if in, ok := in.(*sourceReader); ok && in.err != nil {
				return fmt.Errorf("read %s: %w", src.uri, in.err)
			}
			return inFile(errInvalid("Error while reading data, error message: %v", err), src.uri)
		}
		if n <= cfg.SkipLeadingRows {
			continue
		}
		line, _ := r.FieldPos(0)
		switch {
		case len(rec) > len(fields) && !cfg.IgnoreUnknownValues:
			return inFile(errInvalid("Error while reading data, error message: Too many values in the row on line %d: %d values for %d columns", line, len(rec), len(fields)), src.uri)
		case len(rec) < len(fields) && !cfg.AllowJaggedRows:
			return inFile(errInvalid("Error while reading data, error message: CSV table references column position %d, but the row on line %d contains only %d columns", len(fields)-1, line, len(rec)), src.uri)
		}
		for i, f := range fields {
			if i >= len(rec) || rec[i] == cfg.NullMarker {
				if f.Mode == "REQUIRED" {
					return inFile(errInvalid("Error while reading data, error message: Required field %s cannot be null (line %d)", f.Name, line), src.uri)
				}
				st.row[i] = nil
				continue
			}
			v, size, err := csvValue(f, rec[i])
			if err != nil {
				return inFile(errInvalid("Error while reading data, error message: Could not parse '%s' as %s for field %s (position %d) on line %d: %v", rec[i], f.Type, f.Name, i, line, err), src.uri)
			}
			st.row[i] = v
			st.bytes += size
		}
		if err := st.app.AppendRow(st.row...); err != nil {
			return fmt.Errorf("load: append line %d of %s: %w", line, src.uri, err)
		}
		st.rows++
	}
	return nil
}

// csvTimestampLayouts are the forms of a TIMESTAMP in a CSV file: a date,
// a time with optional fraction, an optional zone (an offset, Z or UTC).
var csvTimestampLayouts = []string{
	"2006-01-02 15:04:05.999999Z07:00",
	"2006-01-02T15:04:05.999999Z07:00",
	"2006-01-02 15:04:05.999999 MST",
	"2006-01-02 15:04:05.999999-07",
	"2006-01-02 15:04:05.999999",
	"2006-01-02T15:04:05.999999",
	"2006-01-02",
}

// csvValue parses a CSV field as a column's type, as the Appender takes it,
// and returns its size as BigQuery counts it (see loadColumn.value).
func csvValue(f *bq.TableFieldSchema, s string) (driver.Value, int64, error) {
	switch f.Type {
	case "INTEGER":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, 0, errors.New("not an INT64")
		}
		return n, 8, nil
	case "FLOAT":
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, 0, errors.New("not a FLOAT64")
		}
		return x, 8, nil
	case "BOOLEAN":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "t", "yes", "y", "1":
			return true, 1, nil
		case "false", "f", "no", "n", "0":
			return false, 1, nil
		}
		return nil, 0, errors.New("not a BOOL")
	case "STRING":
		if !utf8.ValidString(s) {
			return nil, 0, errors.New("invalid UTF-8")
		}
		if n := int64(utf8.RuneCountInString(s)); f.MaxLength > 0 && n > f.MaxLength {
			return nil, 0, fmt.Errorf("STRING(%d) has maximum length %d but got a value with length %d", f.MaxLength, f.MaxLength, n)
		}
		return s, 2 + int64(len(s)), nil
	case "BYTES":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, 0, errors.New("not base64")
		}
		if n := int64(len(b)); f.MaxLength > 0 && n > f.MaxLength {
			return nil, 0, fmt.Errorf("BYTES(%d) has maximum length %d but got a value with length %d", f.MaxLength, f.MaxLength, n)
		}
		return b, 2 + int64(len(b)), nil
	case "NUMERIC":
		r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok {
			return nil, 0, errors.New("not a NUMERIC")
		}
		scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(big.NewInt(1_000_000_000)))
		if !scaled.IsInt() {
			return nil, 0, errors.New("more than 9 digits after the decimal point")
		}
		return duckdb.Decimal{Width: 38, Scale: 9, Value: scaled.Num()}, 16, nil
	case "TIMESTAMP":
		for _, layout := range csvTimestampLayouts {
			if ts, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				if ts.Before(minTimestamp) || ts.After(maxTimestamp) {
					return nil, 0, errors.New("out of range")
				}
				return ts.UTC(), 8, nil
			}
		}
		return nil, 0, errors.New("not a TIMESTAMP")
	case "DATE":
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			return nil, 0, errors.New("not a DATE (YYYY-MM-DD)")
		}
		return d, 8, nil
	case "DATETIME":
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.DateOnly} {
			if ts, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return ts, 8, nil
			}
		}
		return nil, 0, errors.New("not a DATETIME")
	case "TIME":
		ts, err := time.Parse("15:04:05.999999", strings.TrimSpace(s))
		if err != nil {
			return nil, 0, errors.New("not a TIME (HH:MM:SS[.ffffff])")
		}
		return ts, 8, nil
	}
	return nil, 0, fmt.Errorf("the emulator cannot load type %s from CSV", f.Type)
}
