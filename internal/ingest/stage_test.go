package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
)

// TestStageFrom checks that staging a file's content from a reader gives
// what Stage gives from the object: the same counts, URIs and valid rows'
// Avro records.
func TestStageFrom(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	data := []byte("1,Ada Lovelace,2021-07-27T16:02:08Z,1,2\r\n" +
		"2,,2021-07-27T16:02:08Z,1,2\r\n" +
		"3,Alan Turing,2021-02-01T10:00:00Z,3,4\r\n" +
		"x,Grace Hopper,not a time,1,2\r\n")
	stager, err := ingest.NewStager(e.lc, dictionary.Default(), e.gcs, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := e.upload(t, "hired_employees.csv", data)
	want, err := stager.Stage(ctx, o)
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	if want.RowsRead != 4 || want.Valid != 2 || want.Rejected != 2 {
		t.Fatalf("Stage: %+v, want 2 valid rows and 2 rejected", want)
	}
	r, err := e.gcs.Bucket(e.lc.Staging).Object(strings.TrimPrefix(want.ValidURI, "gs://"+e.lc.Staging+"/")).NewReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	staged, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}

	var valid, rejects bytes.Buffer
	got, err := stager.StageFrom(ctx, o, bytes.NewReader(data), &valid, &rejects)
	if err != nil {
		t.Fatalf("StageFrom: %v", err)
	}
	if got.RowsRead != want.RowsRead || got.Valid != want.Valid || got.Rejected != want.Rejected ||
		got.ValidURI != want.ValidURI || got.RejectsURI != want.RejectsURI {
		t.Errorf("StageFrom: %+v, Stage: %+v", got, want)
	}
	if got, want := avroRecords(t, valid.Bytes()), avroRecords(t, staged); len(want) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("StageFrom wrote the valid rows\n%v\nStage\n%v", got, want)
	}
	if rejects.Len() == 0 {
		t.Error("StageFrom wrote no rejects file")
	}

	gz := o
	gz.Name = "hired_employees.csv.gz"
	if got, err := stager.StageFrom(ctx, gz, bytes.NewReader(gzipped(t, data)), io.Discard, io.Discard); err != nil || got.Valid != 2 || got.Rejected != 2 {
		t.Errorf("StageFrom of the gzipped file: %+v, %v; want 2 valid rows and 2 rejected", got, err)
	}
	gz = o
	gz.ContentEncoding = "gzip"
	if got, err := stager.StageFrom(ctx, gz, bytes.NewReader(gzipped(t, data)), io.Discard, io.Discard); err != nil || got.Valid != 2 || got.Rejected != 2 {
		t.Errorf("StageFrom of a file stored with Content-Encoding gzip: %+v, %v; want 2 valid rows and 2 rejected", got, err)
	}
	if _, err := stager.StageFrom(ctx, o, bytes.NewReader(data), nil, io.Discard); err == nil {
		t.Error("StageFrom without a writer: no error")
	}
	skipped := o
	skipped.Name = "notes.txt"
	if _, err := stager.StageFrom(ctx, skipped, bytes.NewReader(data), io.Discard, io.Discard); err == nil {
		t.Error("StageFrom of an object that is not loaded: no error")
	}
}

// newStager returns a test environment and a Stager of its buckets.
func newStager(t *testing.T) (*env, *ingest.Stager) {
	t.Helper()
	e := newEnv(t, nil)
	stager, err := ingest.NewStager(e.lc, dictionary.Default(), e.gcs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, stager
}

// avroRecords decodes an Avro container file.
func avroRecords(t *testing.T, file []byte) []any {
	t.Helper()
	r, err := goavro.NewOCFReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("goavro.NewOCFReader: %v", err)
	}
	var records []any
	for r.Scan() {
		rec, err := r.Read()
		if err != nil {
			t.Fatalf("Avro record %d: %v", len(records), err)
		}
		records = append(records, rec)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Avro file: %v", err)
	}
	return records
}

// TestStageFrom_order stages a file of many batches, with refused records
// among valid ones, and checks that both staged files keep the file's
// order, whatever the number of validators.
func TestStageFrom_order(t *testing.T) {
	t.Parallel()
	e, stager := newStager(t)
	var data bytes.Buffer
	var wantValid, wantRejected []int64
	for line := int64(1); line <= 20000; line++ {
		switch {
		case line%7 == 0:
			fmt.Fprintf(&data, "%d,Refused,not a time,1,2\n", line)
			wantRejected = append(wantRejected, line)
		case line%11 == 0:
			fmt.Fprintf(&data, "%d,\"Quoted, Name\",2021-07-27T16:02:08Z,1,2\n", line)
			wantValid = append(wantValid, line)
		default:
			fmt.Fprintf(&data, "%d,Name %d,2021-07-27T16:02:08Z,1,2\n", line, line)
			wantValid = append(wantValid, line)
		}
	}
	o := ingest.Object{Bucket: e.lc.Landing, Name: "hired_employees.csv", Generation: 1, Size: int64(data.Len())}
	var valid, rejects bytes.Buffer
	st, err := stager.StageFrom(context.Background(), o, bytes.NewReader(data.Bytes()), &valid, &rejects)
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsRead != 20000 || st.Valid != int64(len(wantValid)) || st.Rejected != int64(len(wantRejected)) {
		t.Errorf("StageFrom: %+v, want %d valid rows and %d rejected", st, len(wantValid), len(wantRejected))
	}
	column := func(file []byte, name string) []int64 {
		var got []int64
		for _, rec := range avroRecords(t, file) {
			v := rec.(map[string]any)[name]
			if u, ok := v.(map[string]any); ok {
				v = u["long"]
			}
			got = append(got, v.(int64))
		}
		return got
	}
	if got := column(valid.Bytes(), "_ordinal"); !reflect.DeepEqual(got, wantValid) {
		t.Errorf("the valid rows' lines are not the file's, in order: %d lines, first %v", len(got), got[:min(len(got), 10)])
	}
	if got := column(valid.Bytes(), "id"); !reflect.DeepEqual(got, wantValid) {
		t.Errorf("the valid rows' ids are not the file's, in order: %d ids, first %v", len(got), got[:min(len(got), 10)])
	}
	if got := column(rejects.Bytes(), "row_number"); !reflect.DeepEqual(got, wantRejected) {
		t.Errorf("the rejects' lines are not the file's, in order: %d lines, first %v", len(got), got[:min(len(got), 10)])
	}
}

// TestStageFrom_writeError checks that a failing destination ends the
// staging with its error, while the file is being read and validated.
func TestStageFrom_writeError(t *testing.T) {
	t.Parallel()
	e, stager := newStager(t)
	var data bytes.Buffer
	for line := 1; line <= 50000; line++ {
		fmt.Fprintf(&data, "%d,Name %d,2021-07-27T16:02:08Z,1,2\n", line, line)
	}
	o := ingest.Object{Bucket: e.lc.Landing, Name: "hired_employees.csv", Generation: 1, Size: int64(data.Len())}
	errFull := errors.New("disk full")
	_, err := stager.StageFrom(context.Background(), o, bytes.NewReader(data.Bytes()), &failingWriter{after: 64 << 10, err: errFull}, io.Discard)
	if !errors.Is(err, errFull) {
		t.Errorf("StageFrom to a failing writer: %v, want %v", err, errFull)
	}
}

// failingWriter fails every write once after bytes were written.
type failingWriter struct {
	after int
	err   error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, w.err
	}
	return len(p), nil
}

// TestStageFrom_noRows checks that a staged file is started by its first
// row only: a file without refused rows has no rejects file, and one
// without valid rows no valid file.
func TestStageFrom_noRows(t *testing.T) {
	t.Parallel()
	e, stager := newStager(t)
	ctx := context.Background()
	for name, data := range map[string]string{
		"clean":   "1,Ada Lovelace,2021-07-27T16:02:08Z,1,2\n3,Alan Turing,2021-02-01T10:00:00Z,3,4\n",
		"refused": "x,Ada Lovelace,2021-07-27T16:02:08Z,1,2\n3,,2021-02-01T10:00:00Z,3,4\n",
	} {
		o := e.upload(t, "hired_employees.csv", []byte(data))
		var valid, rejects bytes.Buffer
		st, err := stager.StageFrom(ctx, o, strings.NewReader(data), &valid, &rejects)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (st.Valid == 0) != (st.ValidURI == "" && valid.Len() == 0) || (st.Rejected == 0) != (st.RejectsURI == "" && rejects.Len() == 0) {
			t.Errorf("%s: %+v, with %d bytes of valid rows and %d of rejects", name, st, valid.Len(), rejects.Len())
		}
		if st.Valid+st.Rejected != 2 || st.Valid == 1 {
			t.Errorf("%s: %+v, want 2 valid rows or 2 rejected", name, st)
		}
	}
}
