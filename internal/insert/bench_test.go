package insert_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
	"github.com/hiring-pipeline/hiring-pipeline/internal/bqwrite"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/insert"
)

// The benchmarks below measure the function's own work on one batch of
// insert.MaxRows valid hired_employees rows, without a network: each reports
// ns/op and allocs/op per batch, and rows/s.

// employeesJSON returns a JSON body of n valid hired_employees rows.
func employeesJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"rows": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": %d, "name": "Employee %d", "datetime": "2021-07-27T16:02:08Z", "department_id": %d, "job_id": %d}`, i+1, i+1, 1+i%12, 1+i%183)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// employeesCSV returns a CSV body of the same rows as employeesJSON.
func employeesCSV(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%d,Employee %d,2021-07-27T16:02:08Z,%d,%d\r\n", i+1, i+1, 1+i%12, 1+i%183)
	}
	return b.Bytes()
}

func employees(b *testing.B) *dictionary.Table {
	b.Helper()
	t, ok := dictionary.Default().Table("hired_employees")
	if !ok {
		b.Fatal("no hired_employees table in the dictionary")
	}
	return t
}

// reportRows reports the rows per second of a finished b.Loop.
func reportRows(b *testing.B) {
	b.ReportMetric(float64(insert.MaxRows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func benchmarkDecode(b *testing.B, media string, body []byte) {
	t := employees(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		valid, refused, err := insert.Decode(t, media, body)
		if err != nil || valid != insert.MaxRows || refused != 0 {
			b.Fatalf("Decode: %d valid, %d refused, %v; want %d valid", valid, refused, err, insert.MaxRows)
		}
	}
	reportRows(b)
}

// BenchmarkDecodeValidate parses and validates a JSON body.
func BenchmarkDecodeValidate(b *testing.B) {
	benchmarkDecode(b, "application/json", employeesJSON(insert.MaxRows))
}

// BenchmarkDecodeValidateCSV parses and validates a CSV body.
func BenchmarkDecodeValidateCSV(b *testing.B) {
	benchmarkDecode(b, "text/csv", employeesCSV(insert.MaxRows))
}

// BenchmarkEncode serializes validated rows, with their ingestion columns,
// into the Storage Write API's messages, as the service does.
func BenchmarkEncode(b *testing.B) {
	encode, err := insert.Encoder(employees(b), "application/json", employeesJSON(insert.MaxRows), "api:hired_employees:bench", time.Now().UTC())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		data, err := encode()
		if err != nil || len(data) != insert.MaxRows {
			b.Fatalf("encode: %d messages, %v", len(data), err)
		}
	}
	reportRows(b)
}

// discardAppender drops the rows appended.
type discardAppender struct{}

func (discardAppender) Append(context.Context, string, bigquery.Schema, [][]byte) error { return nil }

// BenchmarkBatch runs the whole service path of a JSON batch through
// Service.Handler: routing, reading, parsing, validation, duplicates,
// encoding and the answer. The requests have no Idempotency-Key: the claim's
// cost is Cloud Storage's, measured by the idempotency package's
// BenchmarkClaim.
func BenchmarkBatch(b *testing.B) {
	svc, err := insert.NewService(insert.Options{Dictionary: dictionary.Default(), Appender: discardAppender{},
		Transient: bqwrite.Transient, Claims: newClaims(b), MaxBodyBytes: 2 << 20, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	guard, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler(guard)
	body := employeesJSON(insert.MaxRows)
	want := []byte(`"inserted":` + strconv.Itoa(insert.MaxRows) + `,`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/tables/hired_employees/rows", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), want) {
			b.Fatalf("status %d, want 200 with %s: %.300s", rec.Code, want, rec.Body.Bytes())
		}
	}
	reportRows(b)
}
