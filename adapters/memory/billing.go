package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// FreeBilling is the local-mode ports.Billing: upgrading costs nothing and
// needs no card, so the whole upgrade/restore protocol can be tried on one
// machine. It remembers who is subscribed so tests can check the calls.
type FreeBilling struct {
	mu   sync.Mutex
	subs map[domain.UserID]bool
}

// NewFreeBilling returns a billing adapter with no subscribers.
func NewFreeBilling() *FreeBilling {
	return &FreeBilling{subs: map[domain.UserID]bool{}}
}

// Subscribe records user as paying; it never fails for a valid user.
func (b *FreeBilling) Subscribe(ctx context.Context, user domain.UserID) error {
	if user == "" {
		return fmt.Errorf("subscribe: empty user id")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[user] = true
	return nil
}

// Cancel ends user's subscription; cancelling twice is not an error.
func (b *FreeBilling) Cancel(ctx context.Context, user domain.UserID) error {
	if user == "" {
		return fmt.Errorf("cancel subscription: empty user id")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, user)
	return nil
}

// Subscribed reports whether user currently has a subscription.
func (b *FreeBilling) Subscribed(user domain.UserID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subs[user]
}

var _ ports.Billing = (*FreeBilling)(nil)
