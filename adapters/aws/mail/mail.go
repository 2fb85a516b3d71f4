// Package mail sends GAS's e-mail (job completion notices) through Amazon
// SES v2, or through any SMTP relay for deployments without SES. Both
// implement ports.Mailer and refuse what a mail service would refuse
// before spending a request on it.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/ports"
)

// SESAPI is the part of the SES v2 client the notifier uses.
type SESAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SES sends through Amazon SES v2 from a verified identity. It sends the
// same raw MIME message the SMTP notifier does, so both carry the text and
// HTML bodies identically.
type SES struct {
	api  SESAPI
	from *mail.Address
	now  func() time.Time
}

var _ ports.Mailer = (*SES)(nil)

// NewSES sends as from, which must be an SES-verified identity (an address
// or its domain).
func NewSES(api SESAPI, from string) (*SES, error) {
	if api == nil {
		return nil, errors.New("ses notifier: nil client")
	}
	f, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("ses notifier: sender %q: %w", from, err)
	}
	return &SES{api: api, from: f, now: time.Now}, nil
}

// Send sends e as a multipart (text and HTML) UTF-8 message.
func (s *SES) Send(ctx context.Context, e ports.Email) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("notify %s: %w", e.To, err)
	}
	to, _ := mail.ParseAddress(e.To) // validated above
	msg, err := Compose(s.from, to, e, s.now())
	if err != nil {
		return fmt.Errorf("notify %s: %w", e.To, err)
	}
	if _, err := s.api.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from.Address),
		Destination:      &types.Destination{ToAddresses: []string{to.Address}},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: msg}},
	}); err != nil {
		return fmt.Errorf("notify %s via SES: %w", e.To, sesError(err))
	}
	return nil
}

// sesError turns SES's MessageRejected (an unverified recipient while the
// account is in the SES sandbox, a recipient on the suppression list) into
// ports.RejectedError with SES's own words: it is refused for good and no
// retry can deliver it. Other errors (throttling, outages) stay as they
// are, to be retried.
func sesError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "MessageRejected" {
		return fmt.Errorf("%w (%w)", &ports.RejectedError{Reason: ae.ErrorMessage()}, err)
	}
	return err
}
