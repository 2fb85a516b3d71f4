package contract

import (
	"errors"
	"testing"

	"github.com/gasproject/gas/ports"
)

// MailerFixture is a mailer under test and a way to read back what it
// sent (the memory outbox, or moto's SES data for the AWS adapter).
type MailerFixture struct {
	Mailer ports.Mailer
	// Sent returns every e-mail sent so far through this mailer, in any order.
	Sent func(t *testing.T) []ports.Email
}

// TestMailer checks a ports.Mailer: a valid e-mail is sent with its
// recipient, subject and bodies intact; an invalid recipient is refused.
func TestMailer(t *testing.T, newMailer func(t *testing.T) MailerFixture) {
	t.Run("SendsWhatItIsGiven", func(t *testing.T) {
		fx, ctx := newMailer(t), ctxFor(t)
		to := uniq("user") + "@example.org"
		e := ports.Email{
			To:      to,
			Subject: "Your GAS job sample.vcf has completed — 12 variants",
			Text:    "Results: https://gas.example.org/jobs/123\nHIGH impact: 2\n",
			HTML:    "<p>Results: <a href=\"https://gas.example.org/jobs/123\">job 123</a></p>",
		}
		must(t, fx.Mailer.Send(ctx, e))
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
	t.Run("RefusesInvalidRecipientForGood", func(t *testing.T) {
		fx, ctx := newMailer(t), ctxFor(t)
		for _, to := range []string{"", "not an address", "missing-at.example.org"} {
			err := fx.Mailer.Send(ctx, ports.Email{To: to, Subject: "s", Text: "t"})
			var re *ports.RejectedError
			if !errors.Is(err, ports.ErrRejected) || !errors.As(err, &re) || re.Reason == "" {
				t.Errorf("Send to %q: %v, want a ports.RejectedError with a reason (no retry can deliver it)", to, err)
			}
		}
	})
}
