package domain

import (
	"testing"
	"time"
)

// TestNoticeStatesTheFactsOfEachOutcome: a free user is told when results
// go to cold storage, a premium user is not, and a failure carries its
// reason and neither summary nor window.
func TestNoticeStatesTheFactsOfEachOutcome(t *testing.T) {
	p := DefaultPolicy()
	s := &Summary{Records: 3}
	free := NewNotice(state(t, "available"), newUser(t, false), s, p)
	if want := t0.Add(time.Minute).Add(p.FreeWindow); !free.ArchiveAt.Equal(want) || free.Summary != s || free.Failed {
		t.Errorf("free: %+v, want archive at %s", free, want)
	}
	if free.To != "ada@example.org" || free.Name != "Ada" || free.Job != "j1" || free.Input != "in.vcf" {
		t.Errorf("free notice addressed wrongly: %+v", free)
	}
	if premium := NewNotice(state(t, "available"), newUser(t, true), s, p); !premium.ArchiveAt.IsZero() {
		t.Errorf("premium told of an archive at %s", premium.ArchiveAt)
	}
	failed := NewNotice(state(t, "failed"), newUser(t, false), s, p)
	if !failed.Failed || failed.Reason != "bad input" || failed.Summary != nil || !failed.ArchiveAt.IsZero() {
		t.Errorf("failed: %+v", failed)
	}
}
