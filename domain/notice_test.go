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
	free := NewNotice(state(t, "available"), newUser(t, false), p)
	if want := t0.Add(time.Minute).Add(p.FreeWindow); !free.ArchiveAt.Equal(want) || free.Counts.Records != 2 || free.Failed {
		t.Errorf("free: %+v, want archive at %s", free, want)
	}
	if free.To != "ada@example.org" || free.Name != "Ada" || free.Job != "j1" || free.Input != "in.vcf" {
		t.Errorf("free notice addressed wrongly: %+v", free)
	}
	if premium := NewNotice(state(t, "available"), newUser(t, true), p); !premium.ArchiveAt.IsZero() {
		t.Errorf("premium told of an archive at %s", premium.ArchiveAt)
	}
	failed := NewNotice(state(t, "failed"), newUser(t, false), p)
	if !failed.Failed || failed.Reason != "bad input" || failed.Counts.Records != 0 || !failed.ArchiveAt.IsZero() {
		t.Errorf("failed: %+v", failed)
	}
}
