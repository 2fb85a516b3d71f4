// Package oidctest is a small but real OpenID Connect provider for tests: it
// serves discovery, an authorize endpoint that signs a configured user in at
// once, a token endpoint that enforces PKCE (S256), single-use codes and
// client authentication, RS256-signed ID tokens, JWKS and userinfo — on
// 127.0.0.1 inside the test process. Knobs make it misbehave (unknown
// signing key, wrong audience, expired token, wrong nonce) so relying
// parties can prove they refuse such tokens.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is who the provider signs in.
type User struct {
	Subject, Name, Email, Organization string
}

// Misbehaviour makes the next tokens wrong in one way.
type Misbehaviour struct {
	UnknownKey      bool          // sign with a key absent from JWKS
	Audience        string        // if set, the aud claim instead of the client id
	Issuer          string        // if set, the iss claim instead of the issuer
	ExpiresIn       time.Duration // if non-zero, exp = now + this (negative: expired)
	Nonce           string        // if set, the nonce claim instead of the request's
	OmitProfile     bool          // leave name/email/organization out of the ID token (userinfo has them)
	OmitIDToken     bool          // token response without id_token
	RejectVerifiers bool          // answer every token request with invalid_grant
}

type grant struct {
	clientID, redirect, challenge, nonce string
	user                                 User
	used                                 bool
}

// Provider is the running test provider.
type Provider struct {
	Server       *httptest.Server
	Issuer       string
	ClientID     string
	ClientSecret string

	key, other *rsa.PrivateKey

	mu     sync.Mutex
	user   User
	mis    Misbehaviour
	grants map[string]*grant
	tokens map[string]User
	// TokenRequests counts token endpoint calls, for assertions.
	TokenRequests int
}

var (
	keysOnce   sync.Once
	keyA, keyB *rsa.PrivateKey
	keyErr     error
)

// testKeys generates the signing keys once per process: RSA generation is
// slow and a test key needs no freshness.
func testKeys() (*rsa.PrivateKey, *rsa.PrivateKey, error) {
	keysOnce.Do(func() {
		keyA, keyErr = rsa.GenerateKey(rand.Reader, 2048)
		if keyErr == nil {
			keyB, keyErr = rsa.GenerateKey(rand.Reader, 2048)
		}
	})
	return keyA, keyB, keyErr
}

// New starts a provider on 127.0.0.1 with a client registered.
func New(clientID, clientSecret string) (*Provider, error) {
	key, other, err := testKeys()
	if err != nil {
		return nil, err
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, key: key, other: other,
		grants: map[string]*grant{}, tokens: map[string]User{},
		user: User{Subject: "sub-alice", Name: "Alice Researcher", Email: "alice@example.org", Organization: "Example University"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.Server = httptest.NewServer(mux)
	p.Issuer = p.Server.URL
	return p, nil
}

// Close stops the server.
func (p *Provider) Close() { p.Server.Close() }

// SetUser chooses who the next sign-in is.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// Misbehave sets how the next tokens are wrong (zero value: correct).
func (p *Provider) Misbehave(m Misbehaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mis = m
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/jwks",
		"userinfo_endpoint":                     p.Issuer + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
	})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "authorization code with PKCE S256 required", http.StatusBadRequest)
		return
	}
	code := randomString()
	p.mu.Lock()
	p.grants[code] = &grant{clientID: p.ClientID, redirect: redirect.String(), challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), user: p.user}
	p.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.TokenRequests++
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		tokenError(w, "invalid_client")
		return
	}
	g := p.grants[r.PostForm.Get("code")]
	if r.PostForm.Get("grant_type") != "authorization_code" || g == nil || g.used || g.redirect != r.PostForm.Get("redirect_uri") {
		tokenError(w, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge || p.mis.RejectVerifiers {
		tokenError(w, "invalid_grant")
		return
	}
	g.used = true
	access := randomString()
	p.tokens[access] = g.user
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	if !p.mis.OmitIDToken {
		idt, err := p.idToken(g)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp["id_token"] = idt
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) idToken(g *grant) (string, error) {
	now := time.Now()
	exp := now.Add(time.Hour)
	if p.mis.ExpiresIn != 0 {
		exp = now.Add(p.mis.ExpiresIn)
	}
	c := map[string]any{
		"iss": p.Issuer, "sub": g.user.Subject, "aud": p.ClientID,
		"iat": now.Add(-time.Minute).Unix(), "exp": exp.Unix(), "nonce": g.nonce,
	}
	if p.mis.Audience != "" {
		c["aud"] = p.mis.Audience
	}
	if p.mis.Issuer != "" {
		c["iss"] = p.mis.Issuer
	}
	if p.mis.Nonce != "" {
		c["nonce"] = p.mis.Nonce
	}
	if !p.mis.OmitProfile {
		c["name"], c["email"], c["organization"] = g.user.Name, g.user.Email, g.user.Organization
	}
	key := p.key
	if p.mis.UnknownKey {
		key = p.other
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	writeJSON(w, http.StatusOK, set)
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	p.mu.Lock()
	u, ok := p.tokens[h[min(len(h), len(prefix)):]]
	p.mu.Unlock()
	if len(h) <= len(prefix) || !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": u.Subject, "name": u.Name, "email": u.Email, "organization": u.Organization})
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	if code != "invalid_client" {
		w.WriteHeader(http.StatusBadRequest)
	}
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
