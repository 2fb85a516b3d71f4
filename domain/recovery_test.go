package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestExpireKeepsTheLostRunCharged: a lease that lapsed returns the job to
// PENDING without refunding the attempt (unlike Release), so a job that
// kills every worker runs out of attempts instead of looping forever.
func TestExpireKeepsTheLostRunCharged(t *testing.T) {
	j := state(t, "running")
	if err := j.Expire(expired, maxAttempts); err != nil {
		t.Fatal(err)
	}
	if j.Status() != StatusPending || j.Attempts() != 1 || !j.LeaseUntil().IsZero() {
		t.Fatalf("after expiry: %s, %d attempts, lease %s; want PENDING, 1 attempt, no lease", j.Status(), j.Attempts(), j.LeaseUntil())
	}
	last := state(t, "running-last")
	if err := last.Expire(expired, maxAttempts); !errors.Is(err, ErrAttemptsExhausted) {
		t.Fatalf("expire on the last attempt: %v, want ErrAttemptsExhausted", err)
	}
}

// TestFailedByServiceOnlyForServiceFailures: dead letters and runs
// interrupted too often are the service's fault and may be retried; a
// file the engine refused is not.
func TestFailedByServiceOnlyForServiceFailures(t *testing.T) {
	abandoned := state(t, "failed-service")
	exhausted := state(t, "running-last")
	if _, err := exhausted.Fail(live, "interrupted", false, maxAttempts); err != nil {
		t.Fatal(err)
	}
	badInput := state(t, "failed")
	for name, c := range map[string]struct {
		j    *Job
		want bool
	}{"abandoned": {abandoned, true}, "exhausted": {exhausted, true}, "bad input": {badInput, false}} {
		if got := c.j.FailedByService(); got != c.want {
			t.Errorf("%s: FailedByService = %v, want %v", name, got, c.want)
		}
	}
}

// TestRetryStartsAfresh: a retried job has every attempt back, no failure,
// and no notice, so its owner hears of the new outcome.
func TestRetryStartsAfresh(t *testing.T) {
	j := state(t, "failed-service")
	if err := j.BeginNotice(t0, lease); err != nil {
		t.Fatal(err)
	}
	if err := j.NoticeSent(t0); err != nil {
		t.Fatal(err)
	}
	if err := j.Retry(); err != nil {
		t.Fatal(err)
	}
	s := j.Snapshot()
	if s.Status != StatusPending || s.Attempts != 0 || s.FailureReason != "" || s.ServiceFailure ||
		!s.CompletedAt.IsZero() || !s.NotifiedAt.IsZero() || !s.NoticeUntil.IsZero() {
		t.Fatalf("after retry: %+v", s)
	}
	if _, err := JobFromSnapshot(s); err != nil {
		t.Fatalf("retried job does not round-trip: %v", err)
	}
	if err := j.Claim(t0.Add(time.Hour), lease, maxAttempts); err != nil {
		t.Fatalf("claim after retry: %v", err)
	}
}

// TestNoticeRejectedIsRecordedOnce: a refused address counts as handled,
// with the reason kept for the page.
func TestNoticeRejectedIsRecordedOnce(t *testing.T) {
	j := state(t, "available")
	if err := j.NoticeRejected(live, "MessageRejected: Email address is not verified"); err != nil {
		t.Fatal(err)
	}
	if !j.Notified() || j.NoticeError() != "MessageRejected: Email address is not verified" {
		t.Fatalf("notified %v, error %q", j.Notified(), j.NoticeError())
	}
	if err := j.NoticeRejected(live, "again"); !errors.Is(err, ErrAlreadyNotified) {
		t.Fatalf("second rejection: %v, want ErrAlreadyNotified", err)
	}
}

func TestSnapshotKeepsRecoveryFields(t *testing.T) {
	j := state(t, "failed-service")
	if err := j.NoticeRejected(live, "refused"); err != nil {
		t.Fatal(err)
	}
	back, err := JobFromSnapshot(j.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Snapshot(), j.Snapshot()) || !back.FailedByService() || back.NoticeError() != "refused" {
		t.Fatalf("round trip lost fields: %+v", back.Snapshot())
	}
	bad := state(t, "pending").Snapshot()
	bad.ServiceFailure = true
	if _, err := JobFromSnapshot(bad); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("PENDING marked failed by the service: %v, want ErrInvalidJob", err)
	}
	bad = state(t, "available").Snapshot()
	bad.NoticeError = "refused"
	if _, err := JobFromSnapshot(bad); !errors.Is(err, ErrInvalidJob) {
		t.Errorf("notice error without a notice: %v, want ErrInvalidJob", err)
	}
}
