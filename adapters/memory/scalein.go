package memory

import (
	"context"
	"sync"

	"github.com/gasproject/gas/ports"
)

// ScaleIn is an instance of an autoscaling group in memory: tests read
// its protection and tell it the group is terminating it.
type ScaleIn struct {
	mu          sync.Mutex
	protected   bool
	changes     int
	terminating bool
	proceeded   bool
	// Err, when set, fails every call (an unreachable Auto Scaling API).
	Err error
}

var _ ports.ScaleIn = (*ScaleIn)(nil)

// NewScaleIn is an unprotected instance the group is not terminating.
func NewScaleIn() *ScaleIn { return &ScaleIn{} }

// Protect implements ports.ScaleIn.
func (s *ScaleIn) Protect(_ context.Context, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.protected = on
	s.changes++
	return nil
}

// Terminating implements ports.ScaleIn.
func (s *ScaleIn) Terminating(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.terminating, s.Err
}

// Proceed implements ports.ScaleIn.
func (s *ScaleIn) Proceed(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	s.proceeded = true
	return nil
}

// Terminate makes the group terminate the instance.
func (s *ScaleIn) Terminate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.terminating = true
}

// State reports the protection, how many times it was set or cleared,
// and whether a termination was let go on.
func (s *ScaleIn) State() (protected bool, changes int, proceeded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protected, s.changes, s.proceeded
}
