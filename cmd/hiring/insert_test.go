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

	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
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
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"insert", "--stack", st.Config().URL, "--table", "departments", "--token", "wrong-token-wrong", filepath.Join(dir, "rows.jsonl")}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "401") {
		t.Errorf("with a wrong token: exit %d, stderr %s", code, stderr.String())
	}
}
