package domain

import (
	"errors"
	"testing"
	"time"
)

func TestRestoreLapsedKeepsArchive(t *testing.T) {
	j := state(t, "restoring")
	if err := j.RestoreLapsed(); err != nil {
		t.Fatal(err)
	}
	if j.Storage() != StorageArchived || j.ArchiveID() != "a1" || j.RetrievalID() != "" ||
		j.RetrievalTier() != TierNone || !j.RestoreExpectedBy().IsZero() {
		t.Fatalf("lapsed restore: %+v", j.Snapshot())
	}
	if err := j.RestoreStarted("r2", RetrievalStandard, live.Add(5*time.Hour)); err != nil || j.RetrievalID() != "r2" {
		t.Fatalf("new retrieval after lapse: %v", err)
	}
	var te *TransitionError
	if err := state(t, "archived").RestoreLapsed(); !errors.As(err, &te) || te.Action != "lapse restore" {
		t.Fatalf("lapse of an archived job: %v", err)
	}
}

// A notice is held by one notifier, taken over after its hold lapses, and
// recorded once; recording clears the hold.
