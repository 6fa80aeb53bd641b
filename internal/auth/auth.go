// Package auth guards the HTTP functions: it authenticates the caller (a
// Google-signed ID token in the cloud, a static bearer token on a laptop)
// and checks that the caller has the role an endpoint needs. Deployed, Cloud
// Run's IAM check runs first; this is defence in depth.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// Role is what a caller may do.
type Role string

// The roles. An admin has every role.
const (
	// Reader may read metrics.
	Reader Role = "reader"
	// Writer may insert rows.
	Writer Role = "writer"
	// Admin may restore tables, and do what the others do.
	Admin Role = "admin"
)

// Roles lists the roles.
var Roles = []Role{Reader, Writer, Admin}

// The modes of Config.Mode.
const (
	// ModeGoogle verifies Google-signed ID tokens whose audience is one of
	// Config.Audiences and maps the caller's email to roles.
	ModeGoogle = "google"
	// ModeStatic accepts the bearer tokens of Config.Tokens, one per role:
	// for the local stack (hiring dev --auth).
	ModeStatic = "static"
	// ModeOff checks nothing: for the local stack only.
	ModeOff = "off"
)

// Config configures the checks, from HIRING_* variables.
type Config struct {
	// Mode is google, static or off.
	Mode string `env:"AUTH_MODE, default=google"`
	// Audiences are the audiences an ID token may carry: the function's
	// URLs (a Cloud Run function has a cloudfunctions.net and a run.app
	// URL), comma separated.
	Audiences []string `env:"AUTH_AUDIENCE"`
	// Readers, Writers and Admins are the emails (users or service
	// accounts) that have each role.
	Readers []string `env:"READERS"`
	Writers []string `env:"WRITERS"`
	Admins  []string `env:"ADMINS"`
	// Tokens maps each role to its bearer token in static mode, as
	// reader:TOKEN,writer:TOKEN,admin:TOKEN.
	Tokens map[string]string `env:"AUTH_TOKENS"`
}

// Caller is an authenticated caller.
type Caller struct {
	// Email is the caller's email, or "static:<role>" for a static token.
	Email string
	Roles []Role
}

// Has reports whether the caller has role; admins have every role.
func (c Caller) Has(role Role) bool {
	return slices.Contains(c.Roles, role) || slices.Contains(c.Roles, Admin)
}

// Guard authenticates requests and checks roles.
type Guard struct {
	cfg       Config
	validator *idtoken.Validator
	log       *slog.Logger
}

// New returns a Guard for cfg. In google mode, opts configure how Google's
// signing keys are fetched (tests pass an HTTP client).
func New(ctx context.Context, cfg Config, logger *slog.Logger, opts ...option.ClientOption) (*Guard, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: cfg, log: logger}
	switch cfg.Mode {
	case ModeOff:
	case ModeStatic:
		for role, tok := range cfg.Tokens {
			if !slices.Contains(Roles, Role(role)) {
				return nil, fmt.Errorf("auth.New: AUTH_TOKENS names role %q; roles are reader, writer, admin", role)
			}
			if len(tok) < 16 {
				return nil, fmt.Errorf("auth.New: the %s token is shorter than 16 characters", role)
			}
		}
		if len(cfg.Tokens) == 0 {
			return nil, errors.New("auth.New: static mode needs AUTH_TOKENS")
		}
	case ModeGoogle:
		if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
			return nil, errors.New("auth.New: google mode needs AUTH_AUDIENCE, the function's URLs, comma separated and none empty")
		}
		v, err := idtoken.NewValidator(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("idtoken.NewValidator: %w", err)
		}
		g.validator = v
	default:
		return nil, fmt.Errorf("auth.New: AUTH_MODE %q is not one of google, static, off", cfg.Mode)
	}
	return g, nil
}

type callerKey struct{}

// CallerFrom returns the caller that Require authenticated.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Require serves next only to callers with role: 401 without valid
// credentials, 403 without the role. In off mode it serves everyone.
func (g *Guard) Require(role Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.cfg.Mode == ModeOff {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(r)
		if !ok {
			unauthenticated(w, "send an Authorization: Bearer header")
			return
		}
		caller, err := g.authenticate(r.Context(), token)
		if err != nil {
			g.log.Warn("request refused: invalid credentials", "path", r.URL.Path, "error", err)
			unauthenticated(w, "the bearer token is not valid")
			return
		}
		if !caller.Has(role) {
			g.log.Warn("request refused: missing role", "path", r.URL.Path, "caller", caller.Email, "role", role)
			httpapi.RenderProblem(httpapi.Errorf(http.StatusForbidden, "forbidden", "%s does not have the %s role", caller.Email, role)).Write(w)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller)))
	})
}

func unauthenticated(w http.ResponseWriter, detail string) {
	httpapi.RenderProblem(httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "%s", detail).
		WithHeader("WWW-Authenticate", `Bearer realm="hiring-pipeline"`)).Write(w)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (g *Guard) authenticate(ctx context.Context, token string) (Caller, error) {
	if g.cfg.Mode == ModeStatic {
		for role, want := range g.cfg.Tokens {
			if subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1 {
				return Caller{Email: "static:" + role, Roles: []Role{Role(role)}}, nil
			}
		}
		return Caller{}, errors.New("unknown static token")
	}
	// An empty audience makes Validate skip its check; the audience is
	// checked against the list here.
	payload, err := g.validator.Validate(ctx, token, "")
	if err != nil {
		return Caller{}, err
	}
	if !slices.Contains(g.cfg.Audiences, payload.Audience) {
		return Caller{}, fmt.Errorf("the ID token's audience %q is none of the function's URLs", payload.Audience)
	}
	if payload.Issuer != "https://accounts.google.com" && payload.Issuer != "accounts.google.com" {
		return Caller{}, fmt.Errorf("the ID token was issued by %q, not Google", payload.Issuer)
	}
	email, _ := payload.Claims["email"].(string)
	if verified, _ := payload.Claims["email_verified"].(bool); email == "" || !verified {
		return Caller{}, errors.New("the ID token has no verified email")
	}
	c := Caller{Email: email}
	for role, list := range map[Role][]string{Reader: g.cfg.Readers, Writer: g.cfg.Writers, Admin: g.cfg.Admins} {
		if slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), email) }) {
			c.Roles = append(c.Roles, role)
		}
	}
	return c, nil
}
