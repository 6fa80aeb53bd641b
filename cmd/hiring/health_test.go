package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealth runs `hiring health` against servers that answer 200 and 503,
// and against none.
func TestHealth(t *testing.T) {
	t.Parallel()
	serve := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// Nothing listens on port 1.
	const closed = "http://127.0.0.1:1"
	up := serve(http.StatusOK, `{"status": "ok"}`)
	cases := []struct {
		name       string
		stack      string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{name: "ok", stack: up, wantCode: 0, wantStdout: "ok: " + up + "/healthz answered 200 OK\n"},
		{name: "unavailable", stack: serve(http.StatusServiceUnavailable, "starting\n"), wantCode: 1, wantStderr: []string{"503 Service Unavailable: starting"}},
		{name: "no stack", stack: closed, wantCode: 1, wantStderr: []string{"no stack at " + closed, "hint: start one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"health", "--stack", tc.stack + "/"}, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantStdout)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q lacks %q", stderr.String(), want)
				}
			}
		})
	}
}

// TestStackFromEnvironment: without --stack, the commands that talk to a
// stack take HIRING_STACK, which `hiring dev --print-env` exports, or the
// default URL when it is empty, and the flag still wins over it.
func TestStackFromEnvironment(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(up.Close)
	// Nothing listens on port 1.
	const closed = "http://127.0.0.1:1"
	t.Setenv("HIRING_STACK", up.URL)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"health"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), up.URL) {
		t.Errorf("health with HIRING_STACK=%s: exit %d, stdout %q, stderr %q", up.URL, code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"health", "--stack", closed}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no stack at "+closed) {
		t.Errorf("health --stack %s with HIRING_STACK set: exit %d, stderr %q", closed, code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	t.Setenv("HIRING_STACK", closed)
	if code := run(context.Background(), []string{"backups"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no stack at "+closed) {
		t.Errorf("backups with HIRING_STACK=%s: exit %d, stderr %q", closed, code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	// A stack of the developer's own may answer on the default URL.
	t.Setenv("HIRING_STACK", "")
	run(context.Background(), []string{"health"}, &stdout, &stderr)
	if !strings.Contains(stdout.String()+stderr.String(), defaultStack+"/healthz") {
		t.Errorf("health with an empty HIRING_STACK: stdout %q, stderr %q; want the default %s", stdout.String(), stderr.String(), defaultStack)
	}
}
