package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

const (
	sessionCookie = "gas_session"
	flowCookie    = "gas_flow"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
	// flowTTL bounds a sign-in in progress and a flash message.
	flowTTL = 30 * time.Minute
)

// session is one request's view of its browser. Two cookies carry it:
//
//   - gas_session holds only the secret of a signed-in session; the server
//     keeps the session (ports.SessionStore, under the secret's hash) and
//     looks it up on every request, so signing out ends it at once on every
//     copy of the cookie and nothing a cookie says outlives its record.
//   - gas_flow holds what a browser needs before or around a sign-in and
//     that grants nothing: the CSRF token of an anonymous browser, an OIDC
//     sign-in in progress, where to go after it, a one-time message.
//
// A signed-in session's CSRF token derives from its secret, so it changes
// at every sign-in (no fixation) and needs no storage.
type session struct {
	User   domain.UserID
	CSRF   string
	secret string // the signed-in session's, "" when anonymous

	flow      flow
	fresh     bool // a new anonymous browser: its flow is not yet sent
	changed   bool // the flow cookie must be written
	signedIn  bool // the session cookie must be written (a new sign-in)
	signedOut bool // the session cookie must be cleared
	// err is set when the session store could not be asked: pages that
	// need to know who is signed in fail instead of guessing.
	err error
}

// flow is the gas_flow cookie.
type flow struct {
	CSRF  string             `json:"c,omitempty"`
	Auth  *ports.AuthRequest `json:"a,omitempty"`
	Next  string             `json:"n,omitempty"`
	Flash string             `json:"f,omitempty"`
	// Submitted marks Flash as the news that this job was submitted,
	// which a page showing the job failed drops.
	Submitted domain.JobID `json:"j,omitempty"`
}

// stored is the gas_session cookie: the session's secret, nothing else.
type stored struct {
	Secret string `json:"s"`
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

// sessionID is what the store keeps of a secret: its SHA-256.
func sessionID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// loadSession reads the request's cookies and looks its session up in the
// store. A cookie that does not verify, or whose session was ended or has
// expired, leaves the browser anonymous.
func (s *Server) loadSession(r *http.Request) *session {
	if v, ok := r.Context().Value(sessionKey).(*session); ok {
		return v
	}
	sess := &session{}
	if c, err := r.Cookie(flowCookie); err == nil {
		_ = s.flows.Decode(flowCookie, c.Value, &sess.flow)
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		var st stored
		if err := s.cookies.Decode(sessionCookie, c.Value, &st); err == nil && st.Secret != "" {
			rec, err := s.d.Sessions.Get(r.Context(), sessionID(st.Secret), s.d.Clock.Now())
			switch {
			case err == nil:
				sess.User, sess.secret, sess.CSRF = rec.User, st.Secret, s.csrfOf(st.Secret)
				return sess
			case !isNotFound(err):
				// The store is unreachable: say so, and keep the cookie,
				// whose session may well be alive.
				sess.err = fmt.Errorf("look up session: %w", err)
			}
		}
		sess.signedOut = sess.err == nil // clear a cookie whose session has ended
	}
	if sess.flow.CSRF == "" {
		sess.flow.CSRF = randomToken(32)
		sess.fresh = true
	}
	sess.CSRF = sess.flow.CSRF
	return sess
}

// csrfOf is a signed-in session's CSRF token.
func (s *Server) csrfOf(secret string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// saveSession writes the cookies that changed. It must run before the
// response body is written.
func (s *Server) saveSession(w http.ResponseWriter, sess *session) {
	if sess.signedIn || sess.signedOut {
		c := &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1}
		if sess.signedIn {
			v, err := s.cookies.Encode(sessionCookie, stored{Secret: sess.secret})
			if err != nil {
				s.log.Error("encode session", "err", err)
				return
			}
			c.Value, c.MaxAge = v, int(s.o.SessionTTL.Seconds())
		}
		http.SetCookie(w, c)
		sess.signedIn, sess.signedOut = false, false
	}
	if !sess.fresh && !sess.changed {
		return
	}
	v, err := s.flows.Encode(flowCookie, sess.flow)
	if err != nil {
		s.log.Error("encode flow", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: flowCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.o.Secure,
		// Lax, not Strict: the identity provider's redirect back to
		// /auth/callback is a cross-site top-level GET that must carry it.
		SameSite: http.SameSiteLaxMode, MaxAge: int(flowTTL.Seconds()),
	})
	sess.fresh, sess.changed = false, false
}

// signIn starts a server-side session for u with a new secret, ending the
// browser's previous one, so a token or cookie seen before sign-in
// (session fixation) is worthless after it.
func (s *Server) signIn(ctx context.Context, sess *session, u domain.UserID) error {
	if sess.secret != "" {
		if err := s.d.Sessions.Delete(ctx, sessionID(sess.secret)); err != nil {
			return err
		}
	}
	secret, now := randomToken(32), s.d.Clock.Now()
	if err := s.d.Sessions.Create(ctx, ports.Session{ID: sessionID(secret), User: u, CreatedAt: now, ExpiresAt: now.Add(s.o.SessionTTL)}); err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	sess.User, sess.secret, sess.CSRF = u, secret, s.csrfOf(secret)
	sess.signedIn, sess.signedOut = true, false
	sess.flow = flow{Flash: sess.flow.Flash, Submitted: sess.flow.Submitted}
	sess.changed = true
	return nil
}

// signOut ends the browser's session in the store, so every copy of its
// cookie is signed out at once, and starts an anonymous flow.
func (s *Server) signOut(ctx context.Context, sess *session) error {
	if sess.secret != "" {
		if err := s.d.Sessions.Delete(ctx, sessionID(sess.secret)); err != nil {
			return err
		}
	}
	*sess = session{flow: flow{CSRF: randomToken(32)}, changed: true, signedOut: true}
	sess.CSRF = sess.flow.CSRF
	return nil
}

func (sess *session) flash(msg string) {
	sess.flow.Flash, sess.flow.Submitted = msg, ""
	sess.changed = true
}

func (sess *session) takeFlash() string {
	f := sess.flow.Flash
	if f != "" {
		sess.flow.Flash, sess.flow.Submitted = "", ""
		sess.changed = true
	}
	return f
}

// dropSubmitted forgets the flash if it is the news that job was
// submitted; other news (a refused retry, say) stays for the page.
func (sess *session) dropSubmitted(job domain.JobID) {
	if sess.flow.Submitted == job && sess.flow.Flash != "" {
		sess.takeFlash()
	}
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
		if sess.err != nil {
			s.serverError(w, r, sess.err)
			return
		}
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
		if sess.err != nil {
			s.serverError(w, r, sess.err)
			return
		}
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
					sess.flow.Next = r.URL.RequestURI()
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
