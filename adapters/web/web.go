// Package web is the driving adapter people and scripts use: the GAS web
// application (gorilla/mux handlers over html/template pages), its JSON API
// with personal tokens, sign-in (OpenID Connect through ports.IdentityProvider,
// or a development sign-in in local mode), signed and encrypted cookie
// sessions, CSRF protection, security headers, health and readiness
// endpoints, request logs and Prometheus metrics.
//
// The handler does not know whether it runs in local mode or on AWS: local
// features (dev sign-in, outbox page, streaming uploads through the app,
// sample files) are switched on by Options, so the AWS web role reuses it
// unchanged with presigned uploads straight to S3.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/gorilla/securecookie"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/templates"
)

// Jobs is the part of the jobs service (domain/jobs) the web layer drives.
type Jobs interface {
	NewUpload(ctx context.Context, user domain.UserID, redirect string) (ports.UploadForm, domain.JobID, error)
	Submit(ctx context.Context, user domain.UserID, id domain.JobID, inputName string, opts domain.JobOptions) (*domain.Job, error)
	Upload(ctx context.Context, user domain.UserID, inputName string, r io.Reader) (*domain.Job, error)
	UploadWith(ctx context.Context, user domain.UserID, inputName string, opts domain.JobOptions, r io.Reader) (*domain.Job, error)
	Rerun(ctx context.Context, user domain.UserID, id domain.JobID, opts domain.JobOptions) (*domain.Job, error)
	References() []string
	Get(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, error)
	List(ctx context.Context, user domain.UserID, cursor string, limit int) ([]*domain.Job, string, error)
	Cancel(ctx context.Context, user domain.UserID, id domain.JobID) error
	Download(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, domain.DownloadDecision, error)
	DownloadURL(ctx context.Context, j *domain.Job, d domain.DownloadDecision) (string, error)
	Retry(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, error)
	Policy() domain.Policy
}

// Manage is the owner's housekeeping of their jobs (domain/jobs.Manager).
type Manage interface {
	Delete(ctx context.Context, user domain.UserID, id domain.JobID) error
	Rename(ctx context.Context, user domain.UserID, id domain.JobID, name string) (*domain.Job, error)
	Search(ctx context.Context, user domain.UserID, f domain.JobFilter, cursor string, limit int) ([]*domain.Job, string, error)
}

// Accounts is the part of the accounts service (domain/accounts) the web
// layer drives: a user's own sign-in and plan changes (refused with
// accounts.ErrOperatorsOnly under the admin upgrade policy), and the
// operators' list, grant and revoke.
type Accounts interface {
	SignIn(ctx context.Context, id ports.Identity) (*domain.User, error)
	Profile(ctx context.Context, id domain.UserID) (*domain.User, error)
	Upgrade(ctx context.Context, id domain.UserID) (*domain.User, error)
	Downgrade(ctx context.Context, id domain.UserID) (*domain.User, error)
	Upgrades() domain.UpgradePolicy
	Users(ctx context.Context, cursor string, limit int) ([]*domain.User, string, error)
	Grant(ctx context.Context, id domain.UserID) (*domain.User, error)
	Revoke(ctx context.Context, id domain.UserID) (*domain.User, error)
}

// OutboxEmail is one e-mail the local notifier kept, for the outbox page.
type OutboxEmail struct {
	To, Subject, Text string
	SentAt            time.Time
}

// Sample is a VCF offered on the upload page.
type Sample struct {
	Name, Description string
	Data              []byte
}

// Size is the sample's length in bytes, shown on the page.
func (s Sample) Size() int64 { return int64(len(s.Data)) }

// Deps are the services and ports the handlers use.
type Deps struct {
	Jobs     Jobs
	Manage   Manage
	Accounts Accounts
	// Objects reads results: summary, log, index ranges, VCF and inputs.
	Objects ports.ObjectStore
	Tokens  TokenStore
	// Sessions keeps signed-in sessions, looked up on every request.
	Sessions ports.SessionStore
	Clock    ports.Clock
	// Identity is the OIDC sign-in; nil disables it.
	Identity ports.IdentityProvider
	// Metrics is where request and pipeline metrics go; nil makes one.
	Metrics *Metrics
	// Ready reports whether dependencies are reachable, for /readyz.
	Ready func(ctx context.Context) error
}

// Options switch features on and configure security.
type Options struct {
	// SessionKey (at least 32 bytes) derives the cookie signing and
	// encryption keys; keep it stable across restarts and web servers.
	SessionKey []byte
	// Secure marks cookies Secure and sends HSTS; set when served over HTTPS.
	Secure bool
	// BaseURL is the externally visible URL ("https://gas.example.org"),
	// used for the presigned upload's redirect; default: from the request.
	BaseURL string
	// DevSignIn enables the development sign-in form (local mode only).
	DevSignIn bool
	// StreamUploads makes the upload form post to the app, which streams the
	// file into object storage enforcing the tier limit (local mode).
	// Otherwise the form posts straight to object storage (presigned).
	StreamUploads bool
	// InputPrefix is the jobs service's input key prefix (jobs.Config), so
	// the page a presigned upload returns to can read the job from the key.
	InputPrefix string
	// Outbox, when set, enables the outbox page (local mode only): the
	// e-mails sent to user, newest first.
	Outbox func(ctx context.Context, user domain.UserID) ([]OutboxEmail, error)
	// LocalBilling says upgrading needs no card (shown on the plan page).
	LocalBilling bool
	// Scaling, when set, enables the /scaling status page of an elastic
	// annotator pool (local mode).
	Scaling func() ScalingStatus
	// JobChanged, when set, returns a channel closed at a job's next
	// change, and the func to call once no longer waiting: a GET that
	// waits for the job's end (?wait=) then learns of it at once. Only
	// where every change goes through one process (local mode).
	JobChanged func(domain.JobID) (<-chan struct{}, func())
	// Samples are offered on the upload page.
	Samples []Sample
	// Reference names the annotation database, shown on every page.
	Reference string
	// Logger receives request logs; default slog.Default().
	Logger *slog.Logger
	// Mounts are extra handlers by path prefix (local mode: "/objects" for
	// the object store's presigned URLs).
	Mounts map[string]http.Handler
	// SessionTTL is how long a sign-in lasts (default 12 h).
	SessionTTL time.Duration
	// PageSize is the number of jobs per list page (default 25).
	PageSize int
	// BodyTimeout bounds how long a request body may take to arrive, and
	// how long a streaming upload may go without progress (default
	// DefaultBodyTimeout).
	BodyTimeout time.Duration
	// MetricsToken, when set, serves /metrics to requests bearing it;
	// otherwise the site serves no /metrics (the role serves it on its
	// operations listener).
	MetricsToken string
	// Admins are the operators' user ids: the admin page (/admin/users,
	// grant and revoke premium) is theirs alone.
	Admins []domain.UserID
}

// Server is the web application; it is an http.Handler.
type Server struct {
	d       Deps
	o       Options
	log     *slog.Logger
	cookies *securecookie.SecureCookie
	pages   map[string]*template.Template
	handler http.Handler
	router  *mux.Router
	indexes *indexCache
	samples map[string]Sample
	// flows signs and encrypts the gas_flow cookie; csrfKey derives
	// signed-in sessions' CSRF tokens; cspDefault is the usual CSP.
	flows      *securecookie.SecureCookie
	csrfKey    []byte
	cspDefault string
	// waiting counts the API requests waiting for a job's end, per user.
	waiting waiters
}

// ErrConfig is returned by New for unusable dependencies or options.
var ErrConfig = errors.New("invalid web configuration")

// New builds the application. It fails on missing dependencies or a short
// session key rather than serving an insecure or broken site.
func New(d Deps, o Options) (*Server, error) {
	if d.Jobs == nil || d.Manage == nil || d.Accounts == nil || d.Objects == nil || d.Tokens == nil || d.Sessions == nil || d.Clock == nil {
		return nil, fmt.Errorf("%w: jobs, manage, accounts, objects, tokens, sessions and clock are required", ErrConfig)
	}
	if len(o.SessionKey) < 32 {
		return nil, fmt.Errorf("%w: session key must be at least 32 bytes", ErrConfig)
	}
	if o.InputPrefix == "" {
		return nil, fmt.Errorf("%w: the input key prefix is required", ErrConfig)
	}
	if o.BaseURL != "" {
		o.BaseURL = strings.TrimRight(o.BaseURL, "/")
		if strings.HasPrefix(o.BaseURL, "https://") {
			o.Secure = true
		}
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.PageSize <= 0 {
		o.PageSize = 25
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	s := &Server{d: d, o: o, log: o.Logger, indexes: newIndexCache(16), samples: map[string]Sample{},
		csrfKey: deriveKey(o.SessionKey, "gas session csrf")}
	s.cspDefault = s.csp("")
	for _, sm := range o.Samples {
		if err := domain.ValidateInputName(sm.Name); err != nil {
			return nil, fmt.Errorf("%w: sample %q: %v", ErrConfig, sm.Name, err)
		}
		s.samples[sm.Name] = sm
	}
	s.cookies = securecookie.New(deriveKey(o.SessionKey, "gas session signing"), deriveKey(o.SessionKey, "gas session encryption")[:32])
	s.cookies.SetSerializer(securecookie.JSONEncoder{})
	s.cookies.MaxAge(int(o.SessionTTL / time.Second))
	s.flows = securecookie.New(deriveKey(o.SessionKey, "gas flow signing"), deriveKey(o.SessionKey, "gas flow encryption")[:32])
	s.flows.SetSerializer(securecookie.JSONEncoder{})
	s.flows.MaxAge(int(flowTTL / time.Second))
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("%w: templates: %v", ErrConfig, err)
	}
	s.pages = pages
	s.handler = s.routes()
	return s, nil
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	k := m.Sum(nil)
	m.Reset()
	m.Write(k)
	m.Write([]byte(purpose))
	return append(k, m.Sum(nil)...) // 64 bytes
}

// ServeHTTP serves the application.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Metrics is the server's metrics (the one passed in Deps or its own).
func (s *Server) Metrics() *Metrics { return s.d.Metrics }

func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.StrictSlash(false)
	r.Use(s.observe)

	static, _ := fs.Sub(templates.Static, "static")
	fileServer := http.StripPrefix("/static/", http.FileServer(http.FS(noListing{static})))
	r.PathPrefix("/static/").Methods(http.MethodGet, http.MethodHead).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/metrics", s.metrics).Methods(http.MethodGet)

	r.HandleFunc("/", s.page(s.home)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/about", s.page(s.about)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/signin", s.page(s.signinPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/auth/login", s.authLogin).Methods(http.MethodGet)
	r.HandleFunc("/auth/callback", s.authCallback).Methods(http.MethodGet)
	if s.o.DevSignIn {
		r.HandleFunc("/auth/dev", s.form(s.devSignIn)).Methods(http.MethodPost)
	}
	r.HandleFunc("/signout", s.form(s.signOutHere)).Methods(http.MethodPost)
	r.HandleFunc("/signout/everywhere", s.form(s.signedIn(s.signOutEverywhere))).Methods(http.MethodPost)

	r.HandleFunc("/profile", s.signedIn(s.profile)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/profile/tokens", s.form(s.signedIn(s.createToken))).Methods(http.MethodPost)
	r.HandleFunc("/profile/tokens/{token}/delete", s.form(s.signedIn(s.deleteToken))).Methods(http.MethodPost)

	r.HandleFunc("/annotate", s.signedIn(s.annotatePage)).Methods(http.MethodGet, http.MethodHead)
	if s.o.StreamUploads {
		r.HandleFunc("/annotate", s.signedIn(s.streamUpload)).Methods(http.MethodPost) // checks CSRF itself, streaming
	}
	r.HandleFunc("/annotate/uploaded", s.signedIn(s.uploaded)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/samples/{name}", s.sampleFile).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/samples/{name}/submit", s.form(s.signedIn(s.submitSample))).Methods(http.MethodPost)

	r.HandleFunc("/annotations", s.signedIn(s.annotations)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/status", s.signedIn(s.statuses)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}", s.signedIn(s.withJob(s.annotation))).Methods(http.MethodGet, http.MethodHead)
	// /jobs/{id} is the link the notifier's e-mails carry.
	r.HandleFunc("/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/annotations/"+url.PathEscape(mux.Vars(r)["id"]), http.StatusMovedPermanently)
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/status", s.signedIn(s.withJob(s.status))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/log", s.signedIn(s.withJob(s.logPage))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/input", s.signedIn(s.withJob(s.inputFile))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/download/{format}", s.signedIn(s.withJob(s.download))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/variants.{format}", s.signedIn(s.withJob(s.subset))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/variants/{ord:[0-9]+}", s.signedIn(s.withJob(s.variantPage))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/charts/{chart}.svg", s.signedIn(s.withJob(s.chartSVG))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/annotations/{id}/cancel", s.form(s.signedIn(s.withJob(s.cancel)))).Methods(http.MethodPost)
	r.HandleFunc("/annotations/{id}/retry", s.form(s.signedIn(s.withJob(s.retry)))).Methods(http.MethodPost)
	r.HandleFunc("/annotations/{id}/delete", s.form(s.signedIn(s.withJob(s.deleteJob)))).Methods(http.MethodPost)
	r.HandleFunc("/annotations/{id}/rename", s.form(s.signedIn(s.withJob(s.renameJob)))).Methods(http.MethodPost)
	r.HandleFunc("/annotations/{id}/rerun", s.form(s.signedIn(s.withJob(s.rerunJob)))).Methods(http.MethodPost)

	r.HandleFunc("/subscribe", s.signedIn(s.subscribePage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/subscribe", s.form(s.signedIn(s.upgrade))).Methods(http.MethodPost)
	r.HandleFunc("/subscribe/cancel", s.form(s.signedIn(s.downgrade))).Methods(http.MethodPost)
	if s.o.Outbox != nil {
		r.HandleFunc("/outbox", s.signedIn(s.outbox)).Methods(http.MethodGet, http.MethodHead)
	}
	r.HandleFunc("/admin/users", s.signedIn(s.admin(s.adminUsers))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/users/{user}/{change:grant|revoke}", s.form(s.signedIn(s.admin(s.adminChange)))).Methods(http.MethodPost)
	if s.o.Scaling != nil {
		r.HandleFunc("/scaling", s.page(s.scaling)).Methods(http.MethodGet)
	}

	s.apiRoutes(r.PathPrefix("/api/v1").Subrouter())

	for prefix, h := range s.o.Mounts {
		r.PathPrefix(strings.TrimRight(prefix, "/") + "/").Handler(h)
	}
	r.NotFoundHandler = s.observe(http.HandlerFunc(s.noRoute))
	r.MethodNotAllowedHandler = s.observe(http.HandlerFunc(s.noRoute))
	s.router = r
	return s.recoverer(s.headers(s.guard(r)))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.d.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.d.Ready(ctx); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
	}
	io.WriteString(w, "ready\n")
}
