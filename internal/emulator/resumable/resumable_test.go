package resumable_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/resumable"
)

func TestParseRange(t *testing.T) {
	for h, want := range map[string]resumable.Range{
		"bytes 0-9/*":    {First: 0, Last: 9, Total: -1},
		"bytes 10-19/20": {First: 10, Last: 19, Total: 20},
		"bytes */20":     {First: -1, Last: -1, Total: 20},
		"bytes */*":      {First: -1, Last: -1, Total: -1},
	} {
		got, err := resumable.ParseRange(h)
		if err != nil || got != want {
			t.Errorf("ParseRange(%q) = %+v, %v; want %+v", h, got, err, want)
		}
	}
	for _, h := range []string{"", "0-9/*", "bytes 9-0/*", "bytes 0-9", "bytes -1-9/*", "bytes 0-/*", "bytes 0-9/-1", "bytes 0-9/x", "items 0-9/*"} {
		if got, err := resumable.ParseRange(h); err == nil {
			t.Errorf("ParseRange(%q) = %+v, want an error", h, got)
		}
	}
}

func TestIncomplete(t *testing.T) {
	for _, tc := range []struct {
		no308    string
		received int64
		status   int
		override string
		rng      string
	}{
		{"", 10, http.StatusPermanentRedirect, "", "bytes=0-9"},
		{"yes", 10, http.StatusOK, "308", "bytes=0-9"},
		{"", 0, http.StatusPermanentRedirect, "", ""},
	} {
		r := httptest.NewRequest(http.MethodPut, "/upload", nil)
		if tc.no308 != "" {
			r.Header.Set("X-GUploader-No-308", tc.no308)
		}
		w := httptest.NewRecorder()
		resumable.Incomplete(w, r, tc.received)
		if w.Code != tc.status || w.Header().Get("X-Http-Status-Code-Override") != tc.override || w.Header().Get("Range") != tc.rng {
			t.Errorf("Incomplete(No-308 %q, %d) = %d, override %q, Range %q; want %d, %q, %q", tc.no308, tc.received,
				w.Code, w.Header().Get("X-Http-Status-Code-Override"), w.Header().Get("Range"), tc.status, tc.override, tc.rng)
		}
	}
}
