package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// TestDev starts `hiring dev --port 0 --json --demo`, reads the printed
// configuration, checks the stack through it, and stops it as Ctrl+C would.
func TestDev(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		defer w.Close()
		code <- run(ctx, []string{"dev", "--port", "0", "--json", "--demo", "--demo-rows", "500"}, w, &stderr)
	}()

	var cfg stack.Config
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the configuration: %v; stderr:\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if err := json.Unmarshal([]byte(line), &cfg); err != nil {
		t.Fatalf("stdout %q is not the configuration: %v", line, err)
	}
	resp, err := http.Get(cfg.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %s", resp.Status)
	}
	resp, err = http.Get("http://" + cfg.StorageEmulatorHost + "/storage/v1/b/" + cfg.Buckets.Landing + "/o")
	if err != nil {
		t.Fatalf("list landing bucket: %v", err)
	}
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("list landing bucket: %v", err)
	}
	resp.Body.Close()
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if got := strings.Join(names, ","); got != "departments.csv,hired_employees.csv,jobs.csv" {
		t.Errorf("landing bucket holds %q, want the three demo files", got)
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit code %d after interrupt, want 0; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("hiring dev did not stop within 15 s of the interrupt")
	}
	if _, err := http.Get(cfg.URL + "/healthz"); err == nil {
		t.Error("the stack still answers after it stopped")
	}
}

func TestDev_PortInUse(t *testing.T) {
	t.Parallel()
	st, err := stack.Start(context.Background(), stack.Options{})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	defer st.Close(context.Background())
	port := st.Config().URL[strings.LastIndex(st.Config().URL, ":")+1:]
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"dev", "--port", port, "--storage-port", "0"}, &stdout, &stderr); c != 1 {
		t.Errorf("exit code %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), "hint: another program may use the port") {
		t.Errorf("stderr has no hint:\n%s", stderr.String())
	}
}
