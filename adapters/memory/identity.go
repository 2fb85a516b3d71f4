package memory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"

	"github.com/gasproject/gas/ports"
)

// ErrBadCode is returned by DevIdentityProvider.Exchange for a code it did
// not make.
var ErrBadCode = errors.New("invalid sign-in code")

// DevIdentityProvider signs people in without an external identity
// provider, for local mode on one machine: AuthURL sends the browser
// straight back to the callback with a code naming the identity, and
// Exchange decodes it. It vouches for nobody, so it must never be wired
// into a deployment reachable by others.
type DevIdentityProvider struct {
	callback string
	who      ports.Identity
}

// NewDevIdentityProvider signs everyone in as who via callbackURL (the web
// app's OAuth callback, which receives code and state as query parameters).
func NewDevIdentityProvider(callbackURL string, who ports.Identity) (*DevIdentityProvider, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || callbackURL == "" {
		return nil, fmt.Errorf("dev identity provider: bad callback URL %q", callbackURL)
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("dev identity provider: callback URL %q must not have a query", callbackURL)
	}
	if err := validIdentity(who); err != nil {
		return nil, fmt.Errorf("dev identity provider: %w", err)
	}
	return &DevIdentityProvider{callback: callbackURL, who: who}, nil
}

func validIdentity(id ports.Identity) error {
	if id.Subject == "" {
		return fmt.Errorf("%w: identity without subject", ErrBadCode)
	}
	if id.Email != "" {
		if _, err := mail.ParseAddress(id.Email); err != nil {
			return fmt.Errorf("%w: e-mail %q: %v", ErrBadCode, id.Email, err)
		}
	}
	return nil
}

// AuthURL is the callback itself, carrying the configured identity's code
// and the request's state, so sign-in completes with no page in between.
func (p *DevIdentityProvider) AuthURL(req ports.AuthRequest) string {
	return p.callback + "?" + url.Values{"code": {CodeFor(p.who)}, "state": {req.State}}.Encode()
}

// Exchange returns the identity a code names.
func (p *DevIdentityProvider) Exchange(ctx context.Context, code string, req ports.AuthRequest) (ports.Identity, error) {
	raw, err := base64.RawURLEncoding.DecodeString(code)
	if err != nil {
		return ports.Identity{}, fmt.Errorf("%w: %v", ErrBadCode, err)
	}
	var id ports.Identity
	if err := json.Unmarshal(raw, &id); err != nil {
		return ports.Identity{}, fmt.Errorf("%w: %v", ErrBadCode, err)
	}
	if err := validIdentity(id); err != nil {
		return ports.Identity{}, err
	}
	return id, nil
}

// CodeFor makes the code that Exchange turns into id, so a local sign-in
// form can let the person choose who they are.
func CodeFor(id ports.Identity) string {
	b, _ := json.Marshal(id) // strings only; cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

var _ ports.IdentityProvider = (*DevIdentityProvider)(nil)
