package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/mocks"
)

// cookie returns the browser's cookie called name.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.h.ts.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// replay is a fresh browser holding copies of b's cookies and CSRF token,
// as an attacker who copied them would.
func (b *browser) replay() *browser {
	c := b.h.browser()
	u, _ := url.Parse(b.h.ts.URL)
	c.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	c.csrf = b.csrf
	return c
}

// Issue 9 item 4: a cookie replayed after sign-out opens nothing and
// cannot mint an API token that would outlive the session.
func TestReplayedCookieAfterSignOutIsSignedOut(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	b.get("/profile")
	stolen := b.replay()
	if r := stolen.get("/profile"); r.StatusCode != http.StatusOK {
		t.Fatalf("a copy of a live cookie: %d", r.StatusCode)
	}
	user := b.userID()
	before, _ := h.tokens.List(context.Background(), user)
	if r := b.postCSRF("/signout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	if r := stolen.get("/profile"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Fatalf("replayed cookie after sign-out: %d %s, want the sign-in redirect", r.StatusCode, r.Header.Get("Location"))
	}
	stolen = b.replay() // the cookie as it was, before the redirect above cleared it
	r := stolen.post("/profile/tokens", url.Values{"name": {"backdoor"}, "csrf_token": {stolen.csrf}})
	if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token creation with a revoked session: %d, want 401 or 403", r.StatusCode)
	}
	if after, _ := h.tokens.List(context.Background(), user); len(after) != len(before) {
		t.Fatalf("a revoked session created a token: %d tokens, had %d", len(after), len(before))
	}
	if r := stolen.get("/annotations"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed cookie opens the job list: %d", r.StatusCode)
	}
}

func TestSignOutEverywhereEndsEveryBrowser(t *testing.T) {
	h := newHarness(t)
	laptop := h.signIn("Ann", "ann@example.org", domain.TierFree)
	phone := h.signIn("Ann", "ann@example.org", domain.TierFree)
	other := h.signIn("Bob", "bob@example.org", domain.TierFree)
	laptop.get("/profile")
	if r := laptop.postCSRF("/signout/everywhere", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d %s", r.StatusCode, r.body)
	}
	for name, b := range map[string]*browser{"this browser": laptop, "the other browser": phone} {
		if r := b.get("/profile"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("%s is still signed in after signing out everywhere: %d", name, r.StatusCode)
		}
	}
	if r := other.get("/profile"); r.StatusCode != http.StatusOK {
		t.Fatalf("another user was signed out: %d", r.StatusCode)
	}
}

// A plan change made in one browser holds at once in every other: nothing
// about the user is kept in the cookie or cached by the server.
func TestPlanChangeHoldsAtOnceInEveryBrowser(t *testing.T) {
	h := newHarness(t)
	a := h.signIn("Ann", "ann@example.org", domain.TierFree)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	b.get("/profile")
	a.get("/subscribe")
	a.postCSRF("/subscribe", nil)
	if p := b.get("/profile"); !strings.Contains(p.body, ">PREMIUM<") {
		t.Fatal("the other browser does not show the upgrade at once")
	}
	big := strings.Repeat("chr1\t100\t.\tA\tG\t50\tPASS\t.\n", 7000) // > 150 KB: premium only
	// Both an accepted and a refused upload redirect (POST-redirect-GET):
	// to the new job, or back to the form with the refusal.
	if r := b.upload("/annotate", b.csrf, "big.vcf", []byte(sampleVCF+big)); !strings.HasPrefix(r.Header.Get("Location"), "/annotations/") {
		t.Fatalf("premium upload from the other browser: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	a.get("/subscribe")
	a.postCSRF("/subscribe/cancel", nil)
	b.get("/annotate")
	if r := b.upload("/annotate", b.csrf, "big.vcf", []byte(sampleVCF+big)); !strings.Contains(r.Header.Get("Location"), "refused=size") {
		t.Fatalf("the other browser still uploads as premium after the downgrade: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestSessionsExpireOnTheServer(t *testing.T) {
	h := newHarness(t, func(o *web.Options, _ *web.Deps) { o.SessionTTL = time.Hour })
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	h.clock.Advance(59 * time.Minute)
	if r := b.get("/profile"); r.StatusCode != http.StatusOK {
		t.Fatalf("before expiry: %d", r.StatusCode)
	}
	h.clock.Advance(2 * time.Minute)
	if r := b.get("/profile"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the session's expiry: %d", r.StatusCode)
	}
}

// A new server with the same key and session store (a restart) accepts
// the cookies the old one issued.
func TestSessionsSurviveARestart(t *testing.T) {
	h := newHarness(t)
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	restarted, err := web.New(web.Deps{Jobs: h.jobs, Manage: h.manage, Accounts: h.accounts, Objects: h.objects, Tokens: h.tokens, Sessions: h.sessions, Clock: h.clock},
		web.Options{SessionKey: []byte(strings.Repeat("k", 32)), DevSignIn: true, InputPrefix: "inputs/"})
	must(t, err)
	h.ts.Config.Handler = restarted
	if r := b.get("/profile"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "ann@example.org") {
		t.Fatalf("after a restart: %d", r.StatusCode)
	}
	// Signing in again ends the browser's previous session (no fixation).
	old := b.replay()
	b.get("/signin")
	b.postCSRF("/auth/dev", url.Values{"name": {"Ann"}, "email": {"ann@example.org"}})
	if r := old.get("/profile"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session before a new sign-in still works: %d", r.StatusCode)
	}
}

// When the session store cannot be reached, signed-in pages fail with an
// error page instead of signing the browser out, and its cookie is kept:
// once the store is back, so is the session.
func TestSessionStoreOutageKeepsTheSession(t *testing.T) {
	var down atomic.Bool
	var store *memory.SessionStore
	h := newHarness(t, func(_ *web.Options, d *web.Deps) {
		store = d.Sessions.(*memory.SessionStore)
		d.Sessions = &mocks.SessionStoreMock{
			CreateFunc:     store.Create,
			DeleteFunc:     store.Delete,
			DeleteUserFunc: store.DeleteUser,
			GetFunc: func(ctx context.Context, id string, now time.Time) (ports.Session, error) {
				if down.Load() {
					return ports.Session{}, errors.New("connection refused")
				}
				return store.Get(ctx, id, now)
			},
		}
	})
	b := h.signIn("Ann", "ann@example.org", domain.TierFree)
	down.Store(true)
	r := b.get("/profile")
	if r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("profile while the session store is down: %d, want 500", r.StatusCode)
	}
	for _, c := range r.Cookies() {
		if c.Name == "gas_session" {
			t.Fatalf("the outage cleared the session cookie: %+v", c)
		}
	}
	if r := b.postCSRF("/profile/tokens", url.Values{"name": {"x"}}); r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("form while the session store is down: %d", r.StatusCode)
	}
	down.Store(false)
	if r := b.get("/profile"); r.StatusCode != http.StatusOK {
		t.Fatalf("profile once the store is back: %d", r.StatusCode)
	}
}
