package domain

import (
	"errors"
	"testing"
	"time"
)

// TestArchiveScheduleIsOneFact (issue 13 item 8): the job page, the e-mail
// and the archiver all read the schedule recorded at completion, so after
// a downgrade a result completed under premium is still said to be kept,
// and one completed under the free plan still says when it goes.
func TestArchiveScheduleIsOneFact(t *testing.T) {
	p := DefaultPolicy()
	downgraded := newUser(t, true)
	if err := downgraded.Downgrade(t0); err != nil {
		t.Fatal(err)
	}
	kept := state(t, "kept")
	if d := DecideDownload(kept, downgraded, p, kept.CompletedAt()); d.State != DownloadAllowed || !d.ArchiveAt.IsZero() {
		t.Errorf("completed under premium, owner now free: %+v, want kept", d)
	}
	if n := NewNotice(kept, downgraded, p); !n.ArchiveAt.IsZero() {
		t.Errorf("e-mail of a kept result names an archive time %s", n.ArchiveAt)
	}
	free := state(t, "available")
	due := free.CompletedAt().Add(p.FreeWindow)
	if got := free.ArchivesAt(downgraded); !got.Equal(due) || !free.ArchiveDue().Equal(due) {
		t.Errorf("free completion: archives at %s, want %s", got, due)
	}
	if got := free.ArchivesAt(newUser(t, true)); !got.IsZero() {
		t.Errorf("a premium owner's result archives at %s, want kept", got)
	}
	// Upgrading forgets the schedule for good.
	if !free.KeepResults() || free.KeepResults() || !free.ArchivesAt(downgraded).IsZero() {
		t.Error("KeepResults did not forget the schedule exactly once")
	}
	// Archiving ends the schedule; only hot results get one.
	archived := state(t, "available")
	if err := archived.Archived("a1"); err != nil || !archived.ArchiveDue().IsZero() {
		t.Fatalf("archived job keeps a schedule: %v %s", err, archived.ArchiveDue())
	}
	for _, name := range []string{"pending", "running", "failed", "archived", "restoring"} {
		if err := state(t, name).ScheduleArchive(due); !errors.Is(err, ErrIllegalTransition) {
			t.Errorf("%s: schedule archive: %v, want refused", name, err)
		}
	}
	if err := state(t, "kept").ScheduleArchive(time.Time{}); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("schedule at no time: %v", err)
	}
}

func TestArchiveScheduleSurvivesSnapshots(t *testing.T) {
	j := state(t, "available")
	back, err := JobFromSnapshot(j.Snapshot())
	if err != nil || !back.ArchiveDue().Equal(j.ArchiveDue()) {
		t.Fatalf("round trip: %v, due %s want %s", err, back.ArchiveDue(), j.ArchiveDue())
	}
	s := state(t, "archived").Snapshot()
	s.ArchiveDue = t0
	if _, err := JobFromSnapshot(s); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("archived job with a schedule accepted: %v", err)
	}
}
