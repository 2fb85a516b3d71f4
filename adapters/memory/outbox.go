package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// SentEmail is one message the outbox accepted, with when it was sent.
type SentEmail struct {
	ports.Email
	// Seq numbers messages in sending order, so a page can link to one.
	Seq    int
	SentAt time.Time
}

// Outbox is the local-mode ports.Mailer: instead of mailing anyone
// it keeps sent e-mails so the local outbox page can show what a user
// would have received. It keeps the most recent messages only, so a
// long-running local server does not grow without bound.
type Outbox struct {
	clock ports.Clock
	keep  int
	mu    sync.Mutex
	seq   int
	sent  []SentEmail // oldest first
}

// DefaultOutboxSize is how many e-mails NewMemoryOutbox keeps when asked for 0.
const DefaultOutboxSize = 1000

// NewOutbox keeps up to keep e-mails (DefaultOutboxSize when keep is
// 0), timestamped with clock.
func NewOutbox(clock ports.Clock, keep int) (*Outbox, error) {
	if clock == nil {
		return nil, fmt.Errorf("memory outbox: nil clock")
	}
	if keep < 0 {
		return nil, fmt.Errorf("memory outbox: negative size %d", keep)
	}
	if keep == 0 {
		keep = DefaultOutboxSize
	}
	return &Outbox{clock: clock, keep: keep}, nil
}

// Send validates e the way a mail service would (a valid recipient
// address, a subject and a body) and keeps it.
func (o *Outbox) Send(ctx context.Context, e ports.Email) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify %s: %w", e.To, err)
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	o.sent = append(o.sent, SentEmail{Email: e, Seq: o.seq, SentAt: o.clock.Now()})
	if len(o.sent) > o.keep {
		o.sent = append([]SentEmail(nil), o.sent[len(o.sent)-o.keep:]...)
	}
	return nil
}

// Sent lists kept e-mails newest first, as the outbox page shows them.
func (o *Outbox) Sent() []SentEmail {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]SentEmail, len(o.sent))
	for i, e := range o.sent {
		out[len(o.sent)-1-i] = e
	}
	return out
}

// SentTo lists the e-mails kept for user, newest first, so a signed-in
// user sees only their own mail. It goes by user id, never by address:
// addresses compare loosely (case, Unicode folding), ids exactly.
func (o *Outbox) SentTo(user domain.UserID) []SentEmail {
	var out []SentEmail
	for _, e := range o.Sent() {
		if e.User == user {
			out = append(out, e)
		}
	}
	return out
}

var _ ports.Mailer = (*Outbox)(nil)
