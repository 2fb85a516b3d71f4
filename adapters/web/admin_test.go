package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/web"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
)

// devID is the user id the development sign-in gives an e-mail address.
func devID(email string) domain.UserID {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return domain.UserID("dev-" + hex.EncodeToString(sum[:8]))
}

// Under the admin upgrade policy (the AWS web role's default) the plan
// page says the operators change plans and offers no upgrade, a posted
// upgrade is refused, and only an operator's page grants and revokes.
func TestAdminUpgradePolicy(t *testing.T) {
	h := newHarness(t, func(o *web.Options, d *web.Deps) {
		d.Accounts.(*accounts.Service).WithUpgrades(domain.UpgradeAdmin)
		o.Admins = []domain.UserID{devID("op@example.org")}
	})
	ada := h.signIn("Ada", "ada@example.org", domain.TierPremium) // the plan asked for is ignored
	plan := ada.get("/subscribe")
	if !strings.Contains(plan.body, `id="plan-policy"`) || strings.Contains(plan.body, `id="upgrade"`) || !strings.Contains(plan.body, "FREE") {
		t.Fatalf("plan page under admin policy:\n%s", plan.body)
	}
	if r := ada.postCSRF("/subscribe", nil); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "operators") {
		t.Fatalf("self upgrade: %d", r.StatusCode)
	}
	if r := ada.get("/admin/users"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("admin page for a non-operator: %d", r.StatusCode)
	}
	if r := ada.postCSRF("/admin/users/"+url.PathEscape(string(devID("ada@example.org")))+"/grant", nil); r.StatusCode != http.StatusNotFound {
		t.Fatalf("grant by a non-operator: %d", r.StatusCode)
	}
	if u, _ := h.users.Get(context.Background(), devID("ada@example.org")); u.Premium() {
		t.Fatal("Ada became premium without an operator")
	}
	op := h.signIn("Operator", "op@example.org", domain.TierFree)
	list := op.get("/admin/users")
	if list.StatusCode != http.StatusOK || !strings.Contains(list.body, "ada@example.org") || !strings.Contains(list.body, `href="/admin/users"`) {
		t.Fatalf("admin page: %d\n%s", list.StatusCode, list.body)
	}
	grant := "/admin/users/" + url.PathEscape(string(devID("ada@example.org"))) + "/grant"
	if r := op.postCSRF(grant, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: %d %s", r.StatusCode, r.body)
	}
	if u, _ := h.users.Get(context.Background(), devID("ada@example.org")); !u.Premium() {
		t.Fatal("grant did not make Ada premium")
	}
	if st, _ := h.thaws.Stats(context.Background()); st.Visible != 1 {
		t.Fatalf("grant did not ask for Ada's archived results back: thaw queue %+v", st)
	}
	if r := op.postCSRF(strings.Replace(grant, "/grant", "/revoke", 1), nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if u, _ := h.users.Get(context.Background(), devID("ada@example.org")); u.Premium() {
		t.Fatal("revoke left Ada premium")
	}
}
