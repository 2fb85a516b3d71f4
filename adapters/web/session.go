package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

const (
	sessionCookie = "gas_session"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
)

// session is what the signed, encrypted cookie carries: who is signed in,
// the CSRF token of this browser, and an OIDC sign-in in progress.
type session struct {
	User  domain.UserID      `json:"u,omitempty"`
	CSRF  string             `json:"c"`
	Auth  *ports.AuthRequest `json:"a,omitempty"`
	Next  string             `json:"n,omitempty"`
	Flash string             `json:"f,omitempty"`

	fresh   bool // not yet sent to the browser
	changed bool
}

type ctxKey int

const (
	sessionKey ctxKey = iota
	userKey
)

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadSession decodes the cookie, or starts a fresh anonymous session when
// there is none or it does not verify (tampered, expired, old key).
func (s *Server) loadSession(r *http.Request) *session {
	if v, ok := r.Context().Value(sessionKey).(*session); ok {
		return v
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess, ok := s.sessions.get(c.Value); ok {
			return &sess
		}
		var sess session
		if err := s.cookies.Decode(sessionCookie, c.Value, &sess); err == nil && sess.CSRF != "" {
			s.sessions.put(c.Value, sess)
			return &sess
		}
	}
	return &session{CSRF: randomToken(32), fresh: true}
}

// saveSession writes the cookie if the session is new or changed. It must
// run before the response body is written.
func (s *Server) saveSession(w http.ResponseWriter, sess *session) {
	if !sess.fresh && !sess.changed {
		return
	}
	v, err := s.cookies.Encode(sessionCookie, sess)
	if err != nil {
		s.log.Error("encode session", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.o.Secure,
		// Lax, not Strict: the identity provider's redirect back to
		// /auth/callback is a cross-site top-level GET that must carry it.
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.o.SessionTTL.Seconds()),
	})
	sess.fresh, sess.changed = false, false
}

// signIn binds the session to a user with a new CSRF token, so a token seen
// before sign-in (session fixation) is worthless after it.
func (sess *session) signIn(u domain.UserID) {
	sess.User = u
	sess.CSRF = randomToken(32)
	sess.Auth = nil
	sess.changed = true
}

func (sess *session) flash(msg string) {
	sess.Flash = msg
	sess.changed = true
}

func (sess *session) takeFlash() string {
	f := sess.Flash
	if f != "" {
		sess.Flash = ""
		sess.changed = true
	}
	return f
}

// csrfOK compares a submitted token with the session's in constant time.
func (sess *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) == 1
}

// form wraps a state-changing form handler: it parses the (small,
// url-encoded) form and refuses it with 403 unless the CSRF token matches
// and the request comes from this site.
func (s *Server) form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		sess := s.loadSession(r)
		token := r.PostForm.Get(csrfField)
		if token == "" {
			token = r.Header.Get(csrfHeader)
		}
		if sess.fresh || !sess.csrfOK(token) || !s.sameOrigin(r) {
			s.log.WarnContext(r.Context(), "CSRF check failed", "path", r.URL.Path)
			s.errorPage(w, r, http.StatusForbidden, "This form has expired",
				"The form was not accepted because it did not come from this page or your session changed. Go back, reload the page and try again.")
			return
		}
		next(w, withSession(r, sess))
	}
}

func withSession(r *http.Request, sess *session) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sessionKey, sess))
}

// currentUser is the signed-in user loaded by signedIn.
func currentUser(r *http.Request) *domain.User {
	u, _ := r.Context().Value(userKey).(*domain.User)
	return u
}

// signedIn wraps a page that needs a user: anonymous browsers are sent to
// sign in (GET) or refused (other methods).
func (s *Server) signedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.loadSession(r)
		var u *domain.User
		if sess.User != "" {
			var err error
			u, err = s.d.Accounts.Profile(r.Context(), sess.User)
			if err != nil {
				u = nil
				if !isNotFound(err) {
					s.serverError(w, r, err)
					return
				}
			}
		}
		if u == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if isSafeNext(r.URL.RequestURI()) {
					sess.Next = r.URL.RequestURI()
					sess.changed = true
				}
				s.saveSession(w, sess)
				http.Redirect(w, r, "/signin", http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "Please sign in", "Your session has ended. Sign in and try again.")
			return
		}
		// A signed-in page shows one user's jobs, inputs, results,
		// summaries and logs: no cache may keep it.
		w.Header().Set("Cache-Control", "no-store")
		ctx := context.WithValue(context.WithValue(r.Context(), sessionKey, sess), userKey, u)
		next(w, r.WithContext(ctx))
	}
}

// isSafeNext accepts only local paths as a post-sign-in destination, so the
// sign-in flow cannot be used as an open redirect.
func isSafeNext(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") &&
		!strings.HasPrefix(p, "/auth/") && !strings.HasPrefix(p, "/api/")
}

// sessionCache remembers recently verified cookies for a short while, so a
// busy page does not pay for HMAC, AES and JSON on every request. Entries
// are copies: handlers change their own session, never the cached one.
type sessionCache struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]cachedSession
}

type cachedSession struct {
	sess    session
	expires time.Time
}

func newSessionCache(ttl time.Duration, max int) *sessionCache {
	return &sessionCache{ttl: ttl, max: max, m: map[string]cachedSession{}}
}

func (c *sessionCache) get(cookie string) (session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[cookie]
	if !ok || time.Now().After(e.expires) {
		return session{}, false
	}
	cp := e.sess
	if cp.Auth != nil {
		a := *cp.Auth
		cp.Auth = &a
	}
	return cp, true
}

func (c *sessionCache) put(cookie string, sess session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	if sess.Auth != nil {
		a := *sess.Auth
		sess.Auth = &a
	}
	c.m[cookie] = cachedSession{sess: sess, expires: time.Now().Add(c.ttl)}
}
