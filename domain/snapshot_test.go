package domain

import (
	"errors"
	"reflect"
	"testing"
)

func TestSnapshotRoundTripAndRestoreValidation(t *testing.T) {
	for _, name := range []string{"pending", "running", "available", "archived", "restoring", "restored", "noticing", "notified", "failed", "cancelled"} {
		j := state(t, name)
		back, err := JobFromSnapshot(j.Snapshot())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(back.Snapshot(), j.Snapshot()) {
			t.Errorf("%s: round trip changed the job", name)
		}
	}
	base := state(t, "archived").Snapshot()
	bad := map[string]func(s *JobSnapshot){
		"no id":                func(s *JobSnapshot) { s.ID = "" },
		"no owner":             func(s *JobSnapshot) { s.Owner = "" },
		"no input key":         func(s *JobSnapshot) { s.InputKey = "" },
		"unknown status":       func(s *JobSnapshot) { s.Status = "DONE" },
		"unknown storage":      func(s *JobSnapshot) { s.Storage = "FROZEN" },
		"completed no storage": func(s *JobSnapshot) { s.Storage = StorageNone },
		"pending with storage": func(s *JobSnapshot) { s.Status = StatusPending },
		"archived without id":  func(s *JobSnapshot) { s.ArchiveID = "" },
		"restoring without retrieval": func(s *JobSnapshot) {
			s.Storage = StorageRestoring
			s.RetrievalID = ""
		},
		"running with a notice": func(s *JobSnapshot) {
			s.Status, s.Storage, s.ArchiveID = StatusRunning, StorageNone, ""
			s.NotifiedAt = t0
		},
		"pending with a notice hold": func(s *JobSnapshot) {
			s.Status, s.Storage, s.ArchiveID = StatusPending, StorageNone, ""
			s.NoticeUntil = t0
		},
	}
	for name, mutate := range bad {
		s := base
		mutate(&s)
		if _, err := JobFromSnapshot(s); !errors.Is(err, ErrInvalidJob) {
			t.Errorf("%s: %v, want ErrInvalidJob", name, err)
		}
	}
}
