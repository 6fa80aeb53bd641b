package bigquery_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestUpload_Resumable drives a resumable upload by hand, as Python's
// client (bq) does: a POST with the job resource, PUTs of chunks answered
// 308 with the bytes received, a status query, the last chunk running the
// job, and a retry of it getting the same job.
func TestUpload_Resumable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	e.dataset(t, "d")
	ctx := context.Background()
	start := func(t *testing.T, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/upload/bigquery/v2/projects/"+project+"/jobs?uploadType=resumable", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	put := func(t *testing.T, uri, contentRange, data string) (*http.Response, map[string]any) {
		t.Helper()
		req := func() *http.Request {
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, uri, strings.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if contentRange != "" {
				req.Header.Set("Content-Range", contentRange)
			}
			return req
		}
		resp, err := http.DefaultClient.Do(req())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusPermanentRedirect {
			return resp, nil
		}
		// A retry of the request that ended the session gets its answer.
		code, ans := e.do(t, req())
		if code != resp.StatusCode {
			t.Errorf("retry answered %d, first %d", code, resp.StatusCode)
		}
		return resp, ans
	}
	const job = `{"jobReference": {"jobId": "by-hand"}, "configuration": {"load": {"sourceFormat": "CSV",
		"destinationTable": {"datasetId": "d", "tableId": "t"},
		"schema": {"fields": [{"name": "id", "type": "INTEGER"}, {"name": "name", "type": "STRING"}]}}}}`

	resp := start(t, job)
	uri := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusOK || !strings.Contains(uri, "upload_id=") {
		t.Fatalf("start: %d, Location %q", resp.StatusCode, uri)
	}
	data := "1,a\n2,b\n3,c\n"
	if resp, _ := put(t, uri, "bytes 0-3/*", data[:4]); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Range") != "bytes=0-3" {
		t.Fatalf("first chunk: %d, Range %q; want 308 bytes=0-3", resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp, _ := put(t, uri, "bytes */*", ""); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Range") != "bytes=0-3" {
		t.Fatalf("status query: %d, Range %q; want 308 bytes=0-3", resp.StatusCode, resp.Header.Get("Range"))
	}
	if resp, ans := put(t, uri, "bytes 2-5/12", data[2:6]); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a chunk at the wrong offset: %d %v, want 400", resp.StatusCode, ans)
	}
	resp, ans := put(t, uri, "bytes 4-11/12", data[4:])
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("last chunk: %d %v", resp.StatusCode, ans)
	}
	st := ans["status"].(map[string]any)
	if st["state"] != "DONE" || st["errorResult"] != nil {
		t.Fatalf("job status %v", st)
	}
	if rows := e.read(t, "SELECT COUNT(*) FROM d.t"); rows[0][0] != int64(3) {
		t.Errorf("d.t has %v rows, want 3 (loaded once)", rows[0][0])
	}

	t.Run("refusals", func(t *testing.T) {
		if resp := start(t, `{"configuration": {"query": {"query": "SELECT 1"}}}`); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a query job with an upload: %d, want 400", resp.StatusCode)
		}
		code, ans := e.post(t, "/upload/bigquery/v2/projects/"+project+"/jobs?uploadType=media", "1,a\n")
		if code != http.StatusBadRequest || !strings.Contains(ans["error"].(map[string]any)["message"].(string), "multipart or resumable") {
			t.Errorf("uploadType=media: %d %v, want 400 naming multipart and resumable", code, ans)
		}
		if resp, ans := put(t, e.url+"/upload/bigquery/v2/projects/"+project+"/jobs?uploadType=resumable&upload_id=nope", "bytes 0-0/1", "x"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown session: %d %v, want 404", resp.StatusCode, ans)
		}
	})
}
