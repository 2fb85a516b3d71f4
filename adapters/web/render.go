package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/templates"
)

// view is what every page template receives.
type view struct {
	Title     string
	Nav       string
	Active    activeNav
	Me        *me
	User      *domain.User
	CSRF      string
	Flash     string
	Reference string
	Local     bool
	Outbox    bool
	Admin     bool
	Data      any
}

// activeNav marks the current navigation entry (plain fields: the layout
// is rendered on every page, and field access is cheaper than calls).
type activeNav struct{ Annotate, Annotations, Subscribe, Outbox, About, Profile, Admin bool }

// me is the signed-in user as the layout shows it.
type me struct{ Name, Tier string }

var funcs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"fmtBytes": domain.HumanBytes,
	"num":      domain.Thousands,
	"lower":    strings.ToLower,
	"pct":      func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"duration": func(a, b time.Time) string { return humanDuration(b.Sub(a)) },
	"consText": func(s string) string {
		if s == "" {
			return "—"
		}
		return strings.ReplaceAll(s, "_", " ")
	},
	"statusText": statusText,
	"warnings":   shownWarnings,
	"warnLabel":  warningLabel,
	"af":         afText,
	"stageTime":  stageTime,
	"adminPath":  adminPath,
	"badgeClass": badgeClass,
}

// statusText is the badge label: a completed job's storage state matters
// more to the user than "COMPLETED" once it is archived or restoring.
func statusText(j *domain.Job) string { return j.State() }

func badgeClass(j *domain.Job) string { return strings.ToLower(statusText(j)) }

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templates.Pages, "*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		if n == "layout.html" {
			continue
		}
		t, err := template.New(n).Funcs(funcs).ParseFS(templates.Pages, "layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[strings.TrimSuffix(n, ".html")] = t
	}
	return out, nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	sess := s.loadSession(r)
	v.CSRF = sess.CSRF
	if v.User == nil {
		v.User = currentUser(r)
	}
	if v.Flash == "" {
		v.Flash = sess.takeFlash()
	}
	if v.User != nil {
		v.Me = &me{Name: v.User.Name(), Tier: string(v.User.Tier())}
	}
	switch v.Nav {
	case "annotate":
		v.Active.Annotate = true
	case "annotations":
		v.Active.Annotations = true
	case "subscribe":
		v.Active.Subscribe = true
	case "outbox":
		v.Active.Outbox = true
	case "about":
		v.Active.About = true
	case "profile":
		v.Active.Profile = true
	case "admin":
		v.Active.Admin = true
	}
	v.Reference = s.o.Reference
	v.Local = s.o.DevSignIn
	v.Outbox = s.o.Outbox != nil
	v.Admin = s.isAdmin(v.User)
	t, ok := s.pages[page]
	if !ok {
		s.log.Error("no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.saveSession(w, sess)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

var bufPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

type errorData struct {
	Heading, Message string
	OfferUpgrade     bool
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	s.render(w, r, status, "error", view{Title: heading, Data: errorData{Heading: heading, Message: msg}})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Not found", "There is nothing here, or it is not yours to see.")
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The service could not complete this request. Please try again in a moment.")
}

func isNotFound(err error) bool { return errors.Is(err, ports.ErrNotFound) }

// page adapts a handler that needs no sign-in but shows the user if there is one.
func (s *Server) page(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.loadSession(r)
		ctx := withSession(r, sess).Context()
		if sess.User != "" {
			if u, err := s.d.Accounts.Profile(r.Context(), sess.User); err == nil {
				ctx = contextWithUser(ctx, u)
			}
		}
		h(w, r.WithContext(ctx))
	}
}
