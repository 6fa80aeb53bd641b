package ingest_test

import (
	"bytes"
	"context"
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
