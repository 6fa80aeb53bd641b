package bigquery_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/google/go-cmp/cmp"
	bqapi "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// csvSchema has a column of every type a CSV load parses here.
var csvSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "name", Type: bigquery.StringFieldType, MaxLength: 5},
	{Name: "ts", Type: bigquery.TimestampFieldType},
	{Name: "day", Type: bigquery.DateFieldType},
	{Name: "score", Type: bigquery.FloatFieldType},
	{Name: "ok", Type: bigquery.BooleanFieldType},
}

// loadCSV loads a CSV file from Cloud Storage into d.table with the Go
// client.
func (e *loadEnv) loadCSV(t testing.TB, table string, skip int64, uri string) error {
	t.Helper()
	ctx := context.Background()
	ref := bigquery.NewGCSReference(uri)
	ref.SourceFormat = bigquery.CSV
	ref.Schema = csvSchema
	ref.SkipLeadingRows = skip
	job, err := e.client.Dataset("d").Table(table).LoaderFrom(ref).Run(ctx)
	if err != nil {
		return err
	}
	status, err := job.Wait(ctx)
	if err != nil {
		return err
	}
	return status.Err()
}

func TestLoad_CSV(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	uri := e.put(t, "people.csv", []byte("id,name,ts,day,score,ok\r\n"+
		"1,Ana,2021-07-27 16:02:08 UTC,2021-07-27,1.5,true\r\n"+
		"2,\"B,o\",2021-07-27T16:02:08.5+02:00,,,\n"+
		"3,,2021-01-02,2021-01-02,-2,F"))
	if err := e.loadCSV(t, "people", 1, uri); err != nil {
		t.Fatalf("load: %v", err)
	}
	t1 := time.Date(2021, 7, 27, 16, 2, 8, 0, time.UTC)
	want := [][]bigquery.Value{
		{int64(1), "Ana", t1, "2021-07-27", 1.5, true},
		{int64(2), "B,o", t1.Add(-2*time.Hour + 500*time.Millisecond), nil, nil, nil},
		{int64(3), nil, time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC), "2021-01-02", -2.0, false},
	}
	got := e.read(t, "SELECT id, name, ts, CAST(day AS STRING), score, ok FROM d.people ORDER BY id")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestLoad_CSVErrors(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	cases := []struct {
		name, data string
		parts      []string
	}{
		{"bad integer", "1,a,,,,\nx,b,,,,\n", []string{"Could not parse 'x' as INTEGER for field id (position 0) on line 2"}},
		{"required NULL", "1,a,,,,\n,b,,,,\n", []string{"Required field id cannot be null (line 2)"}},
		{"too long", "1,abcdef,,,,\n", []string{"field name", "STRING(5) has maximum length 5"}},
		{"bad timestamp", "1,a,yesterday,,,\n", []string{"Could not parse 'yesterday' as TIMESTAMP for field ts"}},
		{"bad boolean", "1,a,,,,maybe\n", []string{"as BOOLEAN for field ok"}},
		{"too many values", "1,a,,,,,extra\n", []string{"Too many values in the row on line 1"}},
		{"too few values", "1,a,,,\n", []string{"the row on line 1 contains only 5 columns"}},
		{"bare quote", "1,a\"b,,,,\n", []string{"in non-quoted-field"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			table := fmt.Sprintf("bad%d", i)
			uri := e.put(t, table+".csv", []byte(tc.data))
			err := e.loadCSV(t, table, 0, uri)
			if err == nil {
				t.Fatalf("load of %q succeeded, want an error", tc.data)
			}
			if reasonOf(err) != "invalid" {
				t.Errorf("reason %q, want invalid (%v)", reasonOf(err), err)
			}
			for _, p := range append(tc.parts, "File: "+uri) {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %v does not contain %q", err, p)
				}
			}
			if _, err := e.client.Dataset("d").Table(table).Metadata(context.Background()); reasonOf(err) != "notFound" {
				t.Errorf("a failed load left the table d.%s: %v", table, err)
			}
		})
	}
}

func TestExtract_CSV(t *testing.T) {
	t.Parallel()
	e := newLoadEnv(t)
	uri := e.put(t, "in.csv", []byte("1,Ana,2021-07-27 16:02:08.25 UTC,2021-07-27,1.5,true\n2,\"x\"\"y\",,,,\n"))
	if err := e.loadCSV(t, "people", 0, uri); err != nil {
		t.Fatalf("load: %v", err)
	}
	// CSV is the default format of an extract.
	x := e.client.Dataset("d").Table("people").ExtractorTo(bigquery.NewGCSReference("gs://sources/out/people-*.csv"))
	job, err := x.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if status, err := job.Wait(context.Background()); err != nil || status.Err() != nil {
		t.Fatalf("extract: %v %v", err, status.Err())
	}
	names, files := e.objects(t, "out/")
	if diff := cmp.Diff([]string{"out/people-000000000000.csv"}, names); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	want := "id,name,ts,day,score,ok\n1,Ana,2021-07-27 16:02:08.25 UTC,2021-07-27,1.5,true\n2,\"x\"\"y\",,,,\n"
	if got := string(files[0]); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	// The file loads back to the same rows.
	if err := e.loadCSV(t, "again", 1, "gs://sources/"+names[0]); err != nil {
		t.Fatalf("load back: %v", err)
	}
	const q = "SELECT id, name, ts, day, score, ok FROM d.%s ORDER BY id"
	if diff := cmp.Diff(e.read(t, fmt.Sprintf(q, "people")), e.read(t, fmt.Sprintf(q, "again"))); diff != "" {
		t.Errorf("rows after the round trip (-want +got):\n%s", diff)
	}
}

// csvRows returns a CSV file of n rows of d.upload's schema.
func csvRows(n int) []byte {
	var buf bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&buf, "%d,name %d\n", i, i)
	}
	return buf.Bytes()
}

// TestLoad_MediaUpload loads a local file with jobs.insert's media upload,
// through the Go client (multipart) and the generated API client with a
// small chunk size (resumable, several chunks).
func TestLoad_MediaUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.dataset(t, "d")
	ctx := context.Background()
	schema := bigquery.Schema{{Name: "id", Type: bigquery.IntegerFieldType, Required: true}, {Name: "name", Type: bigquery.StringFieldType}}

	t.Run("multipart, Go client", func(t *testing.T) {
		src := bigquery.NewReaderSource(bytes.NewReader(csvRows(10)))
		src.SourceFormat = bigquery.CSV
		src.Schema = schema
		job, err := e.client.Dataset("d").Table("small").LoaderFrom(src).Run(ctx)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		status, err := job.Wait(ctx)
		if err != nil || status.Err() != nil {
			t.Fatalf("load: %v %v", err, status.Err())
		}
		if n := status.Statistics.Details.(*bigquery.LoadStatistics).OutputRows; n != 10 {
			t.Errorf("outputRows = %d, want 10", n)
		}
		if got := e.read(t, "SELECT COUNT(*), MAX(name) FROM d.small"); !cmp.Equal(got, [][]bigquery.Value{{int64(10), "name 9"}}) {
			t.Errorf("d.small holds %v", got)
		}
	})

	t.Run("resumable, three chunks", func(t *testing.T) {
		svc, err := bqapi.NewService(ctx, option.WithEndpoint(e.url), option.WithoutAuthentication())
		if err != nil {
			t.Fatalf("NewService: %v", err)
		}
		data := csvRows(40000) // about 560 KB: three chunks of 256 KiB
		job := &bqapi.Job{
			JobReference: &bqapi.JobReference{JobId: "resumable-upload"},
			Configuration: &bqapi.JobConfiguration{Load: &bqapi.JobConfigurationLoad{
				SourceFormat:     "CSV",
				DestinationTable: &bqapi.TableReference{ProjectId: project, DatasetId: "d", TableId: "big"},
				Schema:           &bqapi.TableSchema{Fields: []*bqapi.TableFieldSchema{{Name: "id", Type: "INTEGER", Mode: "REQUIRED"}, {Name: "name", Type: "STRING"}}},
			}},
		}
		var chunks int
		got, err := svc.Jobs.Insert(project, job).Media(bytes.NewReader(data), googleapi.ChunkSize(256<<10)).
			ProgressUpdater(func(current, total int64) { chunks++ }).Context(ctx).Do()
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		if chunks < 2 {
			t.Errorf("the upload took %d chunks, want several", chunks)
		}
		if got.Status.State != "DONE" || got.Status.ErrorResult != nil {
			t.Fatalf("job status %+v", got.Status)
		}
		if n := got.Statistics.Load.OutputRows; n != 40000 {
			t.Errorf("outputRows = %d, want 40000", n)
		}
		if got := e.read(t, "SELECT COUNT(*), SUM(id) FROM d.big"); !cmp.Equal(got, [][]bigquery.Value{{int64(40000), int64(40000 * 40001 / 2)}}) {
			t.Errorf("d.big holds %v", got)
		}
	})

	t.Run("bad row", func(t *testing.T) {
		src := bigquery.NewReaderSource(strings.NewReader("1,a\ntwo,b\n"))
		src.SourceFormat = bigquery.CSV
		src.Schema = schema
		job, err := e.client.Dataset("d").Table("bad").LoaderFrom(src).Run(ctx)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		status, err := job.Wait(ctx)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if reasonOf(status.Err()) != "invalid" || !strings.Contains(status.Err().Error(), "Could not parse 'two' as INTEGER for field id (position 0) on line 2") {
			t.Errorf("load of a bad row: %v, want invalid naming line 2", status.Err())
		}
	})
}
