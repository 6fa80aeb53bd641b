package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

func TestInsert(t *testing.T) {
	t.Parallel()
	st, err := stack.Start(context.Background(), stack.Options{Auth: true, Functions: []function.Definition{insertrows.Definition}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	dir := t.TempDir()
	var jsonl, csv strings.Builder
	var array []map[string]any
	for i := 1; i <= 2500; i++ {
		id := i
		if i%100 == 0 {
			id = -i
		}
		fmt.Fprintf(&jsonl, `{"id": %d, "department": "D%d"}`+"\n", id, i)
		fmt.Fprintf(&csv, "%d,D%d\r\n", id+10000, i)
		array = append(array, map[string]any{"id": id + 20000, "department": fmt.Sprint("D", i)})
	}
	arr, _ := json.Marshal(array)
	files := map[string]string{"rows.jsonl": jsonl.String(), "rows.csv": csv.String(), "rows.json": string(arr)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"rows.jsonl", "rows.csv", "rows.json"} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"insert", "--stack", st.Config().URL, "--table", "departments", "--json", filepath.Join(dir, name)}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var tot insertTotals
			if err := json.Unmarshal(stdout.Bytes(), &tot); err != nil {
				t.Fatalf("%v: %s", err, stdout.String())
			}
			wantRefused := 25
			if name == "rows.csv" || name == "rows.json" {
				wantRefused = 0
			}
			if tot.Batches != 3 || tot.Sent != 2500 || tot.Inserted != 2500-wantRefused || tot.Refused != wantRefused {
				t.Errorf("totals %+v", &tot)
			}
		})
	}
	t.Run("the same run id twice", func(t *testing.T) {
		rawRows := func() int64 {
			cfg := st.Config()
			bq, err := bigquery.NewClient(context.Background(), cfg.Project, option.WithEndpoint(cfg.BigQueryEndpoint), option.WithoutAuthentication())
			if err != nil {
				t.Fatal(err)
			}
			defer bq.Close()
			return testutil.Query(t, bq.Query("SELECT COUNT(*) FROM hiring.departments_raw"))[0][0].(int64)
		}
		var answers []string
		var counts []int64
		for range 2 {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"insert", "--stack", st.Config().URL, "--table", "departments", "--run-id", "resume-1", "--json", filepath.Join(dir, "rows.csv")}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var tot insertTotals
			if err := json.Unmarshal(stdout.Bytes(), &tot); err != nil {
				t.Fatalf("%v: %s", err, stdout.String())
			}
			answers = append(answers, fmt.Sprintf("run %s: %d batches, %d sent, %d inserted, %d refused", tot.RunID, tot.Batches, tot.Sent, tot.Inserted, tot.Refused))
			counts = append(counts, rawRows())
		}
		if want := "run resume-1: 3 batches, 2500 sent, 2500 inserted, 0 refused"; answers[0] != want || answers[1] != want {
			t.Errorf("the two runs answered %q and %q, want %q twice", answers[0], answers[1], want)
		}
		if counts[1] != counts[0] {
			t.Errorf("the second run with the same id wrote %d rows", counts[1]-counts[0])
		}
	})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"insert", "--stack", st.Config().URL, "--table", "departments", "--token", "wrong-token-wrong", filepath.Join(dir, "rows.jsonl")}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "401") {
		t.Errorf("with a wrong token: exit %d, stderr %s", code, stderr.String())
	}
}
