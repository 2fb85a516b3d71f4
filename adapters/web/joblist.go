package web

import (
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
)

// listData is the job list page: a page of jobs, the search that chose
// them and the link to the next page.
type listData struct {
	Jobs     []*domain.Job
	Rows     template.HTML
	Next     string // URL of the next (older) page
	First    bool   // this is not the first page
	Search   listSearch
	Searched bool
	States   []string
}

// listSearch is the list's search form, as typed (dates as YYYY-MM-DD).
type listSearch struct {
	Name, State, From, To string
}

// listStates are the states the list can be searched by, as badges show them.
var listStates = []string{string(domain.StatusPending), string(domain.StatusRunning), string(domain.StatusCompleted),
	domain.StateArchived, domain.StateRestoring, string(domain.StatusFailed), string(domain.StatusCancelled)}

const dateForm = "2006-01-02"

// parseListSearch reads the search form; dates are whole UTC days, To
// included. Values it cannot read are dropped, not guessed.
func parseListSearch(q url.Values) (listSearch, domain.JobFilter) {
	ls := listSearch{Name: strings.TrimSpace(q.Get("name")), State: q.Get("state")}
	f := domain.JobFilter{Name: ls.Name}
	for _, st := range listStates {
		if ls.State == st {
			f.State = st
		}
	}
	if f.State == "" {
		ls.State = ""
	}
	if t, err := time.Parse(dateForm, q.Get("from")); err == nil {
		ls.From, f.From = q.Get("from"), t
	}
	if t, err := time.Parse(dateForm, q.Get("to")); err == nil {
		ls.To, f.To = q.Get("to"), t.AddDate(0, 0, 1)
	}
	return ls, f
}

func (ls listSearch) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"name": ls.Name, "state": ls.State, "from": ls.From, "to": ls.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// jobRows renders the list's table rows in Go: the list is the hottest page
// (a user with thousands of jobs reloads it), and per-field template
// reflection was two thirds of its cost. Every value is HTML-escaped here.
func jobRows(js []*domain.Job) template.HTML {
	var b strings.Builder
	b.Grow(len(js) * 500)
	for _, j := range js {
		id := html.EscapeString(string(j.ID()))
		if j.Status().Terminal() && j.Storage() != domain.StorageRestoring {
			b.WriteString("  <tr>\n")
		} else {
			b.WriteString(`  <tr data-job="` + id + "\">\n")
		}
		b.WriteString(`    <td class="nowrap">` + j.SubmittedAt().UTC().Format("2006-01-02 15:04 UTC") + "</td>\n")
		b.WriteString(`    <td><a href="/annotations/` + id + `">` + html.EscapeString(j.Name()) + "</a>")
		if j.Name() != j.InputName() {
			b.WriteString(`<br><span class="muted small">` + html.EscapeString(j.InputName()) + "</span>")
		}
		b.WriteString("</td>\n")
		b.WriteString(`    <td><span class="badge badge-` + badgeClass(j) + `" data-status>` + statusText(j) + "</span></td>\n")
		if j.Status() == domain.StatusCompleted {
			b.WriteString(`    <td class="num">` + domain.Thousands(j.Counts().Variants) + "</td>\n")
		} else {
			b.WriteString("    <td class=\"num\"><span class=\"muted\">—</span></td>\n")
		}
		if ref := j.Reference(); ref != "" {
			b.WriteString("    <td>" + html.EscapeString(ref) + "</td>\n")
		} else {
			b.WriteString("    <td><span class=\"muted\">—</span></td>\n")
		}
		b.WriteString("  </tr>\n")
	}
	return template.HTML(b.String()) // every dynamic part escaped above
}

// annotations lists the user's jobs newest first, a page at a time, all
// of them or those the search selects.
func (s *Server) annotations(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	q := r.URL.Query()
	cursor := q.Get("cursor")
	ls, f := parseListSearch(q)
	var js []*domain.Job
	var next string
	var err error
	if f.Any() {
		js, next, err = s.d.Jobs.List(r.Context(), u.ID(), cursor, s.o.PageSize)
	} else {
		js, next, err = s.d.Manage.Search(r.Context(), u.ID(), f, cursor, s.o.PageSize)
	}
	if err != nil {
		if cursor != "" {
			s.errorPage(w, r, http.StatusBadRequest, "Bad page link", "This page link is not valid. Start from the newest jobs.")
			return
		}
		s.serverError(w, r, err)
		return
	}
	d := listData{Jobs: js, Rows: jobRows(js), First: cursor != "", Search: ls, Searched: !f.Any(), States: listStates}
	if next != "" {
		v := ls.values()
		v.Set("cursor", next)
		d.Next = "/annotations?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "annotations", view{Title: "Annotations", Nav: "annotations", Data: d})
}
