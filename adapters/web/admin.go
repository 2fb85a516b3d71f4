package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
)

// isAdmin reports whether u is one of the operators (Options.Admins).
func (s *Server) isAdmin(u *domain.User) bool {
	return u != nil && slices.Contains(s.o.Admins, u.ID())
}

// admin wraps an operators' page: anybody else gets the 404 of a page
// that does not exist.
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(currentUser(r)) {
			s.notFound(w, r)
			return
		}
		next(w, r)
	}
}

type adminData struct {
	Users    []*domain.User
	Next     string
	First    bool
	Upgrades domain.UpgradePolicy
}

// adminUsers lists every profile with its plan, a page at a time, with
// the buttons that grant and revoke premium.
func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	cursor := r.URL.Query().Get("cursor")
	us, next, err := s.d.Accounts.Users(r.Context(), cursor, 50)
	if err != nil {
		if cursor != "" {
			s.errorPage(w, r, http.StatusBadRequest, "Bad page link", "This page link is not valid. Start from the first page.")
			return
		}
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "admin", view{Title: "Users", Nav: "admin",
		Data: adminData{Users: us, Next: next, First: cursor != "", Upgrades: s.d.Accounts.Upgrades()}})
}

// adminChange grants or revokes premium; a grant restores the user's
// archived results, as an upgrade does.
func (s *Server) adminChange(w http.ResponseWriter, r *http.Request) {
	id := domain.UserID(mux.Vars(r)["user"])
	var err error
	if mux.Vars(r)["change"] == "grant" {
		_, err = s.d.Accounts.Grant(r.Context(), id)
	} else {
		_, err = s.d.Accounts.Revoke(r.Context(), id)
	}
	if isNotFound(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "plan changed by an operator", "user", id, "change", mux.Vars(r)["change"], "by", currentUser(r).ID())
	s.redirectFlash(w, r, "/admin/users", "Premium "+map[string]string{"grant": "granted to ", "revoke": "revoked from "}[mux.Vars(r)["change"]]+string(id)+".")
}

// operatorsOnly explains a plan change refused under the admin policy.
func (s *Server) operatorsOnly(w http.ResponseWriter, r *http.Request, err error) bool {
	if !errors.Is(err, accounts.ErrOperatorsOnly) {
		return false
	}
	s.errorPage(w, r, http.StatusForbidden, "Plans are changed by the operators",
		"On this service premium is granted and revoked by its operators. Contact them to change your plan.")
	return true
}

// adminPath is the form action changing id's plan.
func adminPath(id domain.UserID, change string) string {
	return "/admin/users/" + url.PathEscape(string(id)) + "/" + change
}
