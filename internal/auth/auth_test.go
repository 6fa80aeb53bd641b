package auth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/auth"
)

// ok answers 200 with the caller's email.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, _ := auth.CallerFrom(r.Context())
	_, _ = io.WriteString(w, c.Email)
})

func call(t *testing.T, h http.Handler, token string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/tables/jobs/rows", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func TestStatic(t *testing.T) {
	t.Parallel()
	tokens := map[string]string{"reader": "reader-token-0123456789", "writer": "writer-token-0123456789", "admin": "admin-token-0123456789"}
	g, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeStatic, Tokens: tokens}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := g.Require(auth.Writer, ok)
	cases := []struct {
		name, token string
		code        int
		body        string
	}{
		{"no token", "", 401, `"code":"unauthenticated"`},
		{"unknown token", "nope-nope-nope-nope", 401, `"code":"unauthenticated"`},
		{"reader on a writer endpoint", tokens["reader"], 403, `"code":"forbidden"`},
		{"writer", tokens["writer"], 200, "static:writer"},
		{"admin has every role", tokens["admin"], 200, "static:admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, body, hdr := call(t, h, tc.token)
			if code != tc.code || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %s, want %d with %s", code, body, tc.code, tc.body)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if code >= 400 && (hdr.Get("Content-Type") != "application/problem+json" || hdr.Get("X-Content-Type-Options") != "nosniff") {
				t.Errorf("headers %v", hdr)
			}
			if strings.Contains(body, "token-0123456789") {
				t.Error("the answer echoes a token")
			}
		})
	}
}

func TestNew_Refuses(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]auth.Config{
		"unknown mode":           {Mode: "maybe"},
		"google, no audience":    {Mode: auth.ModeGoogle},
		"google, empty audience": {Mode: auth.ModeGoogle, Audiences: []string{"https://a.run.app", ""}},
		"static, no tokens":      {Mode: auth.ModeStatic},
		"static, bad role":       {Mode: auth.ModeStatic, Tokens: map[string]string{"root": "0123456789abcdef0"}},
		"static, short token":    {Mode: auth.ModeStatic, Tokens: map[string]string{"writer": "short"}},
	} {
		if _, err := auth.New(context.Background(), cfg, nil); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestOff(t *testing.T) {
	t.Parallel()
	g, err := auth.New(context.Background(), auth.Config{Mode: auth.ModeOff}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := call(t, g.Require(auth.Admin, ok), ""); code != 200 {
		t.Errorf("off mode answered %d", code)
	}
}

// googleKeys serves a JSON Web Key Set as Google's certificate endpoint
// does, for tokens signed with key.
type googleKeys struct{ key *rsa.PrivateKey }

func (g googleKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	jwks := map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test-key",
		"n": base64.RawURLEncoding.EncodeToString(g.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(g.key.E)).Bytes()),
	}}}
	body, _ := json.Marshal(jwks)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

func sign(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test-key"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(unsigned))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestGoogle(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const aud, aud2 = "https://insert-rows-abc-uc.a.run.app", "https://us-central1-p.cloudfunctions.net/insert-rows"
	cfg := auth.Config{Mode: auth.ModeGoogle, Audiences: []string{aud, aud2}, Writers: []string{"loader@p.iam.gserviceaccount.com"}, Readers: []string{"analyst@example.com"}}
	g, err := auth.New(context.Background(), cfg, nil, option.WithHTTPClient(&http.Client{Transport: googleKeys{key}}))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := g.Require(auth.Writer, ok)
	now := time.Now().Unix()
	claims := func(email, audience string, exp int64, verified bool, iss string) map[string]any {
		return map[string]any{"iss": iss, "aud": audience, "exp": exp, "iat": now, "sub": "1", "email": email, "email_verified": verified}
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		code  int
	}{
		{"writer", sign(t, key, claims("loader@p.iam.gserviceaccount.com", aud, now+600, true, "https://accounts.google.com")), 200},
		{"writer, the other URL", sign(t, key, claims("loader@p.iam.gserviceaccount.com", aud2, now+600, true, "https://accounts.google.com")), 200},
		{"reader on insert", sign(t, key, claims("analyst@example.com", aud, now+600, true, "https://accounts.google.com")), 403},
		{"unknown email", sign(t, key, claims("who@example.com", aud, now+600, true, "https://accounts.google.com")), 403},
		{"other audience", sign(t, key, claims("loader@p.iam.gserviceaccount.com", "https://metrics", now+600, true, "https://accounts.google.com")), 401},
		{"expired", sign(t, key, claims("loader@p.iam.gserviceaccount.com", aud, now-600, true, "https://accounts.google.com")), 401},
		{"unverified email", sign(t, key, claims("loader@p.iam.gserviceaccount.com", aud, now+600, false, "https://accounts.google.com")), 401},
		{"not issued by Google", sign(t, key, claims("loader@p.iam.gserviceaccount.com", aud, now+600, true, "https://evil.example")), 401},
		{"signed with another key", sign(t, other, claims("loader@p.iam.gserviceaccount.com", aud, now+600, true, "https://accounts.google.com")), 401},
		{"not a JWT", "abc.def", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, body, _ := call(t, h, tc.token)
			if code != tc.code {
				t.Errorf("got %d %s, want %d", code, body, tc.code)
			}
		})
	}
}
