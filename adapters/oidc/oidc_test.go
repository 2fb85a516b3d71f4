package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/oidc"
	"github.com/gasproject/gas/adapters/oidc/oidctest"
	"github.com/gasproject/gas/ports"
)

const redirect = "http://127.0.0.1:1/auth/callback"

func setup(t *testing.T) (*oidctest.Provider, *oidc.Provider) {
	t.Helper()
	op, err := oidctest.New("gas-client", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	rp, err := oidc.New(context.Background(), oidc.Config{Issuer: op.Issuer, ClientID: "gas-client", ClientSecret: "s3cret", RedirectURL: redirect})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return op, rp
}

// signIn plays the browser: follow AuthURL to the provider, which redirects
// back to the callback; return the callback query.
func signIn(t *testing.T, rp *oidc.Provider, req ports.AuthRequest) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u := rp.AuthURL(req)
	for _, want := range []string{"code_challenge_method=S256", "code_challenge=", "nonce=", "state=", "scope=openid"} {
		if !strings.Contains(u, want) {
			t.Fatalf("auth URL %s lacks %s", u, want)
		}
	}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect) {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

func newReq(t *testing.T) ports.AuthRequest {
	t.Helper()
	req, err := oidc.NewAuthRequest()
	if err != nil {
		t.Fatal(err)
	}
	if req.State == "" || req.Nonce == "" || len(req.CodeVerifier) < 43 || req.State == req.Nonce {
		t.Fatalf("weak auth request %+v", req)
	}
	return req
}

func TestSignInEndToEnd(t *testing.T) {
	_, rp := setup(t)
	req := newReq(t)
	q := signIn(t, rp, req)
	id, err := rp.Callback(context.Background(), q, req)
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	want := ports.Identity{Subject: "sub-alice", Name: "Alice Researcher", Email: "alice@example.org", Institution: "Example University"}
	if id != want {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	// The code is single use: a replayed callback fails.
	if _, err := rp.Callback(context.Background(), q, req); err == nil {
		t.Fatal("replayed code accepted")
	}
}

func TestProfileFromUserinfoWhenIDTokenIsBare(t *testing.T) {
	op, rp := setup(t)
	op.Misbehave(oidctest.Misbehaviour{OmitProfile: true})
	op.SetUser(oidctest.User{Subject: "sub-bob", Name: "Bob", Email: "bob@example.org", Organization: "Lab"})
	req := newReq(t)
	id, err := rp.Callback(context.Background(), signIn(t, rp, req), req)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "bob@example.org" || id.Name != "Bob" || id.Institution != "Lab" || id.Subject != "sub-bob" {
		t.Fatalf("identity %+v", id)
	}
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		mis     oidctest.Misbehaviour
		tamper  func(q url.Values, req *ports.AuthRequest)
		wantErr error
	}{
		{"wrong state", oidctest.Misbehaviour{}, func(q url.Values, _ *ports.AuthRequest) { q.Set("state", "forged") }, oidc.ErrState},
		{"missing state", oidctest.Misbehaviour{}, func(q url.Values, _ *ports.AuthRequest) { q.Del("state") }, oidc.ErrState},
		{"provider error", oidctest.Misbehaviour{}, func(q url.Values, _ *ports.AuthRequest) { q.Set("error", "access_denied") }, oidc.ErrDenied},
		{"bad signature", oidctest.Misbehaviour{UnknownKey: true}, nil, oidc.ErrToken},
		{"wrong audience", oidctest.Misbehaviour{Audience: "someone-else"}, nil, oidc.ErrToken},
		{"wrong issuer", oidctest.Misbehaviour{Issuer: "https://evil.example"}, nil, oidc.ErrToken},
		{"expired token", oidctest.Misbehaviour{ExpiresIn: -time.Minute}, nil, oidc.ErrToken},
		{"wrong nonce", oidctest.Misbehaviour{Nonce: "replayed-nonce"}, nil, oidc.ErrToken},
		{"no id token", oidctest.Misbehaviour{OmitIDToken: true}, nil, oidc.ErrToken},
		{"wrong PKCE verifier", oidctest.Misbehaviour{}, func(_ url.Values, req *ports.AuthRequest) { req.CodeVerifier = strings.Repeat("x", 43) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, rp := setup(t)
			op.Misbehave(c.mis)
			req := newReq(t)
			q := signIn(t, rp, req)
			if c.tamper != nil {
				c.tamper(q, &req)
			}
			id, err := rp.Callback(context.Background(), q, req)
			if err == nil {
				t.Fatalf("accepted: %+v", id)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if id != (ports.Identity{}) {
				t.Fatalf("identity leaked on refusal: %+v", id)
			}
		})
	}
}

func TestConfigRefused(t *testing.T) {
	ctx := context.Background()
	if _, err := oidc.New(ctx, oidc.Config{RedirectURL: redirect}); !errors.Is(err, oidc.ErrConfig) {
		t.Fatalf("no client id: %v", err)
	}
	if _, err := oidc.New(ctx, oidc.Config{ClientID: "x"}); !errors.Is(err, oidc.ErrConfig) {
		t.Fatalf("no redirect: %v", err)
	}
	// Discovery failure stops start-up.
	if _, err := oidc.New(ctx, oidc.Config{Issuer: "http://127.0.0.1:1", ClientID: "x", RedirectURL: redirect}); err == nil {
		t.Fatal("unreachable issuer accepted")
	}
}
