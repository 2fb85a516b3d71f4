// Package oidc signs researchers in with Globus Auth (or any OpenID Connect
// provider) using the authorization code flow with PKCE. It implements
// ports.IdentityProvider: the web layer keeps the per-sign-in state, nonce and
// PKCE verifier in its session, and this package turns the callback's code
// into an identity only after the ID token's signature (against the issuer's
// published keys), issuer, audience, expiry and nonce all check out.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Globus Auth defaults, so a deployment only has to supply its client.
const (
	// GlobusIssuer is Globus Auth's OpenID Connect issuer.
	GlobusIssuer = "https://auth.globus.org"
)

// DefaultScopes asks for the identity, name, e-mail and organisation.
var DefaultScopes = []string{gooidc.ScopeOpenID, "profile", "email"}

// Errors the web layer maps to a friendly "sign-in failed, try again" page.
var (
	// ErrConfig means the configuration cannot work (no client id, no redirect).
	ErrConfig = errors.New("invalid OIDC configuration")
	// ErrState means the callback's state does not match the one this browser
	// started with: a forged or replayed callback.
	ErrState = errors.New("sign-in state mismatch")
	// ErrDenied means the provider returned an error instead of a code.
	ErrDenied = errors.New("sign-in refused by the identity provider")
	// ErrToken means the ID token failed verification (signature, issuer,
	// audience, expiry, nonce) or is missing.
	ErrToken = errors.New("identity token rejected")
)

// Config is what a deployment supplies; empty fields take Globus defaults.
type Config struct {
	Issuer       string // default GlobusIssuer
	ClientID     string
	ClientSecret string
	RedirectURL  string // the app's /auth/callback URL, registered with the provider
	Scopes       []string
	// HTTPClient talks to the provider (tests inject one); default has a timeout.
	HTTPClient *http.Client
	// Now is the clock the ID token expiry is checked against (tests inject one).
	Now func() time.Time
}

// Provider is a discovered OpenID Connect provider ready to sign users in.
type Provider struct {
	oauth    oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	client   *http.Client
}

var _ ports.IdentityProvider = (*Provider)(nil)

// New discovers the issuer's endpoints and keys location. It fails when
// discovery fails, so a misconfigured deployment stops at start-up rather
// than at the first sign-in.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = GlobusIssuer
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: client id is required", ErrConfig)
	}
	if _, err := url.ParseRequestURI(cfg.RedirectURL); err != nil || cfg.RedirectURL == "" {
		return nil, fmt.Errorf("%w: redirect URL %q", ErrConfig, cfg.RedirectURL)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	dctx := gooidc.ClientContext(ctx, client)
	prov, err := gooidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover OIDC issuer %s: %w", cfg.Issuer, err)
	}
	vcfg := &gooidc.Config{ClientID: cfg.ClientID}
	if cfg.Now != nil {
		vcfg.Now = cfg.Now
	}
	return &Provider{
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: prov.Endpoint(), Scopes: cfg.Scopes,
		},
		provider: prov,
		verifier: prov.Verifier(vcfg),
		client:   client,
	}, nil
}

// NewAuthRequest makes fresh random state, nonce and PKCE verifier for one
// sign-in; the web layer stores it in the session until the callback.
func NewAuthRequest() (ports.AuthRequest, error) {
	state, err := randomToken()
	if err != nil {
		return ports.AuthRequest{}, err
	}
	nonce, err := randomToken()
	if err != nil {
		return ports.AuthRequest{}, err
	}
	return ports.AuthRequest{State: state, Nonce: nonce, CodeVerifier: oauth2.GenerateVerifier()}, nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// AuthURL is the provider's authorize URL with state, nonce and the PKCE
// S256 challenge.
func (p *Provider) AuthURL(req ports.AuthRequest) string {
	return p.oauth.AuthCodeURL(req.State, gooidc.Nonce(req.Nonce), oauth2.S256ChallengeOption(req.CodeVerifier))
}

// Callback checks a callback's query against the sign-in it belongs to
// (provider error, state) and then exchanges its code.
func (p *Provider) Callback(ctx context.Context, query url.Values, req ports.AuthRequest) (ports.Identity, error) {
	if err := CheckCallback(query, req); err != nil {
		return ports.Identity{}, err
	}
	return p.Exchange(ctx, query.Get("code"), req)
}

// CheckCallback refuses a callback that carries a provider error or whose
// state differs from the sign-in's (compared in constant time).
func CheckCallback(query url.Values, req ports.AuthRequest) error {
	if e := query.Get("error"); e != "" {
		return fmt.Errorf("%w: %s %s", ErrDenied, e, query.Get("error_description"))
	}
	got := query.Get("state")
	if req.State == "" || subtle.ConstantTimeCompare([]byte(got), []byte(req.State)) != 1 {
		return ErrState
	}
	if query.Get("code") == "" {
		return fmt.Errorf("%w: callback has no code", ErrDenied)
	}
	return nil
}

// claims are the ID token / userinfo fields GAS uses. Globus Auth puts the
// institution in "organization".
type claims struct {
	Subject           string `json:"sub"`
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	Organization      string `json:"organization"`
}

// Exchange trades the code (with the PKCE verifier) for tokens, verifies
// the ID token and its nonce, and reads the profile from the ID token,
// completing it from the userinfo endpoint when name or e-mail are absent.
func (p *Provider) Exchange(ctx context.Context, code string, req ports.AuthRequest) (ports.Identity, error) {
	hctx := context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.oauth.Exchange(hctx, code, oauth2.VerifierOption(req.CodeVerifier))
	if err != nil {
		return ports.Identity{}, fmt.Errorf("exchange sign-in code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ports.Identity{}, fmt.Errorf("%w: token response has no id_token", ErrToken)
	}
	idt, err := p.verifier.Verify(gooidc.ClientContext(ctx, p.client), raw)
	if err != nil {
		return ports.Identity{}, fmt.Errorf("%w: %v", ErrToken, err)
	}
	if req.Nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(req.Nonce)) != 1 {
		return ports.Identity{}, fmt.Errorf("%w: nonce mismatch", ErrToken)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return ports.Identity{}, fmt.Errorf("%w: claims: %v", ErrToken, err)
	}
	if (c.Email == "" || c.Name == "") && p.provider.UserInfoEndpoint() != "" {
		ui, err := p.provider.UserInfo(gooidc.ClientContext(ctx, p.client), oauth2.StaticTokenSource(tok))
		if err != nil {
			return ports.Identity{}, fmt.Errorf("read userinfo: %w", err)
		}
		var u claims
		if err := ui.Claims(&u); err != nil {
			return ports.Identity{}, fmt.Errorf("read userinfo claims: %w", err)
		}
		if u.Subject != "" && u.Subject != idt.Subject {
			return ports.Identity{}, fmt.Errorf("%w: userinfo subject differs from the ID token's", ErrToken)
		}
		c.Email = firstNonEmpty(c.Email, u.Email)
		c.Name = firstNonEmpty(c.Name, u.Name, u.PreferredUsername)
		c.Organization = firstNonEmpty(c.Organization, u.Organization)
	}
	return ports.Identity{
		Subject:     domain.UserID(idt.Subject),
		Name:        firstNonEmpty(c.Name, c.PreferredUsername, c.Email, idt.Subject),
		Email:       c.Email,
		Institution: strings.TrimSpace(c.Organization),
	}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
