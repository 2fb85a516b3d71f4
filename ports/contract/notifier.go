package contract

import (
	"testing"

	"github.com/gasproject/gas/ports"
)

// NotifierFixture is a notifier under test and a way to read back what it
// sent (the memory outbox, or moto's SES data for the AWS adapter).
type NotifierFixture struct {
	Notifier ports.Notifier
	// Sent returns every e-mail sent so far through this notifier, in any order.
	Sent func(t *testing.T) []ports.Email
}

// TestNotifier checks a ports.Notifier: a valid e-mail is sent with its
// recipient, subject and bodies intact; an invalid recipient is refused.
func TestNotifier(t *testing.T, newNotifier func(t *testing.T) NotifierFixture) {
	t.Run("SendsWhatItIsGiven", func(t *testing.T) {
		fx, ctx := newNotifier(t), ctxFor(t)
		to := uniq("user") + "@example.org"
		e := ports.Email{
			To:      to,
			Subject: "Your GAS job sample.vcf has completed — 12 variants",
			Text:    "Results: https://gas.example.org/jobs/123\nHIGH impact: 2\n",
			HTML:    "<p>Results: <a href=\"https://gas.example.org/jobs/123\">job 123</a></p>",
		}
		must(t, fx.Notifier.Notify(ctx, e))
		var found []ports.Email
		for _, s := range fx.Sent(t) {
			if s.To == to {
				found = append(found, s)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d e-mails to %s recorded, want 1", len(found), to)
		}
		got := found[0]
		if got.Subject != e.Subject || got.Text != e.Text || got.HTML != e.HTML {
			t.Fatalf("sent e-mail changed:\n got %+v\nwant %+v", got, e)
		}
	})
	t.Run("RefusesInvalidRecipient", func(t *testing.T) {
		fx, ctx := newNotifier(t), ctxFor(t)
		for _, to := range []string{"", "not an address", "missing-at.example.org"} {
			if err := fx.Notifier.Notify(ctx, ports.Email{To: to, Subject: "s", Text: "t"}); err == nil {
				t.Errorf("Notify to %q succeeded, want an error", to)
			}
		}
	})
}
