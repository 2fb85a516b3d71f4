package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/oidc/oidctest"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/ports"
)

// lateIdP lets the test create the relying party after the web server has
// its URL (the redirect URL needs it).
type lateIdP struct{ p ports.IdentityProvider }

func (l *lateIdP) AuthURL(req ports.AuthRequest) string { return l.p.AuthURL(req) }
func (l *lateIdP) Exchange(ctx context.Context, code string, req ports.AuthRequest) (ports.Identity, error) {
	return l.p.Exchange(ctx, code, req)
}

func oidcHarness(t *testing.T) (*harness, *oidctest.Provider) {
	op, err := oidctest.New("gas-web", "web-secret")
	must(t, err)
	t.Cleanup(op.Close)
	late := &lateIdP{}
	h := newHarness(t, func(o *web.Options, d *web.Deps) { o.DevSignIn = false; d.Identity = late })
	rp, err := oidc.New(context.Background(), oidc.Config{Issuer: op.Issuer, ClientID: "gas-web", ClientSecret: "web-secret",
		RedirectURL: h.ts.URL + "/auth/callback"})
	must(t, err)
	late.p = rp
	return h, op
}

// toProvider follows /auth/login to the provider and returns the callback
// URL the provider sends the browser back to.
func toProvider(t *testing.T, b *browser) *url.URL {
	t.Helper()
	r := b.get("/auth/login")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", r.StatusCode)
	}
	authz := r.Header.Get("Location")
	for _, want := range []string{"code_challenge_method=S256", "nonce=", "state=", "client_id=gas-web"} {
		if !strings.Contains(authz, want) {
			t.Fatalf("authorize URL lacks %s: %s", want, authz)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, authz, nil)
	pr := b.do(req)
	if pr.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d %s", pr.StatusCode, pr.body)
	}
	cb, err := url.Parse(pr.Header.Get("Location"))
	must(t, err)
	return cb
}

func TestOIDCSignInThroughWeb(t *testing.T) {
	h, op := oidcHarness(t)
	op.SetUser(oidctest.User{Subject: "globus-123", Name: "Grace Hopper", Email: "grace@example.org", Organization: "Navy"})
	b := h.browser()
	b.get("/annotations") // remembered destination
	if p := b.get("/signin"); !strings.Contains(p.body, "Sign in with Globus") || strings.Contains(p.body, "Development sign-in") {
		t.Fatal("sign-in page")
	}
	cb := toProvider(t, b)
	r := b.get(cb.RequestURI())
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/annotations" {
		t.Fatalf("callback: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	p := b.get("/profile")
	for _, want := range []string{"Grace Hopper", "grace@example.org", "Navy", "FREE"} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("profile lacks %q", want)
		}
	}
	// Replaying the callback fails: the sign-in request was consumed.
	if r := b.get(cb.RequestURI()); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", r.StatusCode)
	}
}

func TestOIDCRefusalsThroughWeb(t *testing.T) {
	cases := []struct {
		name   string
		mis    oidctest.Misbehaviour
		tamper func(q url.Values)
		status int
	}{
		{"wrong state", oidctest.Misbehaviour{}, func(q url.Values) { q.Set("state", "forged") }, http.StatusBadRequest},
		{"provider error", oidctest.Misbehaviour{}, func(q url.Values) { q.Set("error", "access_denied") }, http.StatusBadRequest},
		{"bad signature", oidctest.Misbehaviour{UnknownKey: true}, nil, http.StatusUnauthorized},
		{"wrong audience", oidctest.Misbehaviour{Audience: "other-client"}, nil, http.StatusUnauthorized},
		{"expired token", oidctest.Misbehaviour{ExpiresIn: -time.Hour}, nil, http.StatusUnauthorized},
		{"wrong nonce", oidctest.Misbehaviour{Nonce: "n"}, nil, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, op := oidcHarness(t)
			op.Misbehave(c.mis)
			b := h.browser()
			cb := toProvider(t, b)
			q := cb.Query()
			if c.tamper != nil {
				c.tamper(q)
			}
			r := b.get("/auth/callback?" + q.Encode())
			if r.StatusCode != c.status || !strings.Contains(r.body, "Sign in") {
				t.Fatalf("callback: %d, want %d", r.StatusCode, c.status)
			}
			if r := b.get("/profile"); r.StatusCode != http.StatusSeeOther {
				t.Fatal("signed in despite a refused callback")
			}
		})
	}
	// A callback in a browser that never started a sign-in.
	h, _ := oidcHarness(t)
	if r := h.browser().get("/auth/callback?code=x&state=y"); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("unsolicited callback: %d", r.StatusCode)
	}
}
