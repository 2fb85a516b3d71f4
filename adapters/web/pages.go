package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func contextWithUser(ctx context.Context, u *domain.User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

type planData struct {
	FreeLimit, MaxSize, Window string
	LocalBilling               bool
	// Base is the site's URL, for the API examples on About.
	Base string
	// SelfService says users change their own plan (the open upgrade
	// policy); otherwise the operators do, and the page says so.
	SelfService bool
}

func (s *Server) plan() planData {
	p := s.d.Jobs.Policy()
	return planData{FreeLimit: domain.HumanBytes(p.FreeInputLimit), MaxSize: domain.HumanBytes(p.MaxInputSize),
		Window: humanDuration(p.FreeWindow), LocalBilling: s.o.LocalBilling, SelfService: s.d.Accounts.Upgrades() == domain.UpgradeOpen}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", view{Title: "Genomics Annotation Service", Nav: "home", Data: s.plan()})
}

func (s *Server) about(w http.ResponseWriter, r *http.Request) {
	d := s.plan()
	d.Base = s.baseURL(r)
	s.render(w, r, http.StatusOK, "about", view{Title: "About", Nav: "about", Data: d})
}

type signinData struct {
	Globus, Dev bool
	Error       string
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if currentUser(r) != nil {
		http.Redirect(w, r, "/annotations", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signinData{Globus: s.d.Identity != nil, Dev: s.o.DevSignIn}})
}

func (s *Server) signinFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "signin", view{Title: "Sign in", Data: signinData{Globus: s.d.Identity != nil, Dev: s.o.DevSignIn, Error: msg}})
}

// authLogin starts an OIDC sign-in: fresh state, nonce and PKCE verifier
// kept in the session, browser sent to the provider.
func (s *Server) authLogin(w http.ResponseWriter, r *http.Request) {
	if s.d.Identity == nil {
		s.notFound(w, r)
		return
	}
	sess := s.loadSession(r)
	req := ports.AuthRequest{State: randomToken(32), Nonce: randomToken(32), CodeVerifier: randomToken(48)}
	sess.flow.Auth = &req
	sess.changed = true
	s.saveSession(w, sess)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.d.Identity.AuthURL(req), http.StatusFound)
}

// authCallback finishes an OIDC sign-in. The state must match this
// browser's sign-in; the provider adapter verifies the code, ID token and
// nonce. First sign-in creates a FREE profile.
func (s *Server) authCallback(w http.ResponseWriter, r *http.Request) {
	if s.d.Identity == nil {
		s.notFound(w, r)
		return
	}
	sess := s.loadSession(r)
	q := r.URL.Query()
	req := sess.flow.Auth
	sess.flow.Auth = nil
	sess.changed = true
	switch {
	case req == nil:
		s.signinFailed(w, r, http.StatusBadRequest, "This sign-in link has expired. Please start again.")
		return
	case q.Get("error") != "":
		s.signinFailed(w, r, http.StatusBadRequest, "The identity provider did not sign you in ("+q.Get("error")+"). Please try again.")
		return
	case !constantEqual(q.Get("state"), req.State) || q.Get("code") == "":
		s.log.WarnContext(r.Context(), "OIDC state mismatch")
		s.signinFailed(w, r, http.StatusBadRequest, "The sign-in response did not match this browser's sign-in. Please start again.")
		return
	}
	id, err := s.d.Identity.Exchange(r.Context(), q.Get("code"), *req)
	if err != nil {
		s.log.WarnContext(r.Context(), "OIDC exchange failed", "err", err)
		s.signinFailed(w, r, http.StatusUnauthorized, "The sign-in could not be verified. Please try again.")
		return
	}
	s.finishSignIn(w, r, sess, id, "")
}

func constantEqual(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, sess *session, id ports.Identity, tier domain.Tier) {
	u, err := s.d.Accounts.SignIn(r.Context(), id)
	if err != nil {
		if errors.Is(err, domain.ErrInvalidUser) {
			s.signinFailed(w, r, http.StatusBadRequest, "Your profile could not be created: "+err.Error())
			return
		}
		s.serverError(w, r, err)
		return
	}
	switch {
	case s.d.Accounts.Upgrades() != domain.UpgradeOpen:
		// The plan is the operators' to change: the requested one is ignored.
	case tier == domain.TierPremium && !u.Premium():
		if _, err := s.d.Accounts.Upgrade(r.Context(), u.ID()); err != nil {
			s.serverError(w, r, err)
			return
		}
	case tier == domain.TierFree && u.Premium():
		if _, err := s.d.Accounts.Downgrade(r.Context(), u.ID()); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	next := sess.flow.Next
	sess.flow.Next = ""
	if err := s.signIn(r.Context(), sess, u.ID()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.saveSession(w, sess)
	s.log.InfoContext(r.Context(), "signed in", "user", u.ID())
	if !isSafeNext(next) {
		next = "/annotations"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// devSignIn is local mode's sign-in: any name, e-mail and plan. The user id
// derives from the e-mail so signing in again finds the same profile.
func (s *Server) devSignIn(w http.ResponseWriter, r *http.Request) {
	if !s.o.DevSignIn {
		s.notFound(w, r)
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if email == "" || name == "" {
		s.signinFailed(w, r, http.StatusBadRequest, "Name and e-mail are required.")
		return
	}
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	id := ports.Identity{Subject: domain.UserID("dev-" + hex.EncodeToString(sum[:8])), Name: name, Email: email,
		Institution: strings.TrimSpace(r.PostForm.Get("institution"))}
	tier := domain.TierFree
	if r.PostForm.Get("tier") == string(domain.TierPremium) {
		tier = domain.TierPremium
	}
	s.finishSignIn(w, r, s.loadSession(r), id, tier)
}

// signOutHere ends this browser's session; every copy of its cookie is
// signed out at once.
func (s *Server) signOutHere(w http.ResponseWriter, r *http.Request) {
	sess := s.loadSession(r)
	if err := s.signOut(r.Context(), sess); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.saveSession(w, sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOutEverywhere ends every session of the signed-in user, in every
// browser, then this one's.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	if err := s.d.Sessions.DeleteUser(r.Context(), u.ID()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signed out everywhere", "user", u.ID())
	s.signOutHere(w, r)
}

type profileData struct {
	Tokens                 []APIToken
	NewToken, NewTokenName string
}

// profile shows the profile and tokens; right after createToken it shows
// the new token's secret, which the session carried here once.
func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	toks, err := s.d.Tokens.List(r.Context(), u.ID())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	d := profileData{Tokens: toks}
	flash := s.loadSession(r).takeFlash()
	if name, secret, ok := parseReveal(flash); ok {
		d.NewTokenName, d.NewToken, flash = name, secret, ""
	}
	s.render(w, r, http.StatusOK, "profile", view{Title: "Profile", Nav: "profile", Flash: flash, Data: d})
}

// createToken makes a personal API token and shows its secret exactly once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, unicode.IsControl) {
		s.errorPage(w, r, http.StatusBadRequest, "Token not created", "Give the token a name of at most 64 characters.")
		return
	}
	secret := tokenPrefix + randomToken(32)
	t := APIToken{ID: randomToken(9), User: u.ID(), Name: name, Hash: hashToken(secret), CreatedAt: s.d.Clock.Now()}
	if err := s.d.Tokens.Create(r.Context(), t); err != nil {
		s.serverError(w, r, err)
		return
	}
	// POST-redirect-GET: the secret rides the session (encrypted) to the
	// profile page once, so reloading that page neither re-posts the form
	// (a second token) nor shows the secret again.
	s.redirectFlash(w, r, "/profile#new-token", revealFlash(name, secret))
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	if err := s.d.Tokens.Delete(r.Context(), u.ID(), mux.Vars(r)["token"]); err != nil {
		if isNotFound(err) {
			s.notFound(w, r)
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/profile#tokens", "Token revoked.")
}

func (s *Server) subscribePage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "subscribe", view{Title: "Plan", Nav: "subscribe", Data: s.plan()})
}

// upgrade makes the user premium; the accounts service asks the thawer to
// restore every archived result, and the page says so.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	if _, err := s.d.Accounts.Upgrade(r.Context(), u.ID()); err != nil {
		if !s.operatorsOnly(w, r, err) {
			s.serverError(w, r, err)
		}
		return
	}
	s.redirectFlash(w, r, "/annotations", "You are now premium. Restoring your archived results has started; each result's page shows its retrieval tier and when it is expected back.")
}

func (s *Server) downgrade(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	if _, err := s.d.Accounts.Downgrade(r.Context(), u.ID()); err != nil {
		if !s.operatorsOnly(w, r, err) {
			s.serverError(w, r, err)
		}
		return
	}
	s.redirectFlash(w, r, "/subscribe", "Premium cancelled. Results of jobs completed from now on follow the free plan.")
}

type outboxData struct{ Emails []OutboxEmail }

// outbox shows, in local mode only, the e-mails sent to the signed-in user.
func (s *Server) outbox(w http.ResponseWriter, r *http.Request) {
	if s.o.Outbox == nil {
		s.notFound(w, r)
		return
	}
	mine, err := s.o.Outbox(r.Context(), currentUser(r).ID())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "outbox", view{Title: "Outbox", Nav: "outbox", Data: outboxData{Emails: mine}})
}

// redirectFlash redirects after a form, with a message for the next page.
func (s *Server) redirectFlash(w http.ResponseWriter, r *http.Request, to, msg string) {
	sess := s.loadSession(r)
	if msg != "" {
		sess.flash(msg)
	}
	s.saveSession(w, sess)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// redirectSubmitted redirects to a job just submitted with the news of
// it, which the job's page drops should the job already have failed.
func (s *Server) redirectSubmitted(w http.ResponseWriter, r *http.Request, j *domain.Job, msg string) {
	sess := s.loadSession(r)
	sess.flash(msg)
	sess.flow.Submitted = j.ID()
	s.saveSession(w, sess)
	http.Redirect(w, r, "/annotations/"+url.PathEscape(string(j.ID())), http.StatusSeeOther)
}
