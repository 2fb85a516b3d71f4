package message

import (
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
)

func TestRoundTripAndValidation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range []Body{
		JobRequest("j", "u"), JobResult("j", "u"), ArchiveJob("j", now), ThawUser("u"), RestoreCompleted("j"),
		RestoreCheck("j", now), RetrievalCheck("j", "r1", "a1", domain.RetrievalStandard, now),
	} {
		back, err := Decode(m.Encode())
		if err != nil || back != m {
			t.Errorf("%v: round trip gave %+v, %v", m, back, err)
		}
	}
	for _, body := range []string{"", "{", `{"kind":"nope","job_id":"j"}`, `{"kind":"job-request"}`, `{"kind":"thaw-user","job_id":"j"}`} {
		if _, err := Decode([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", body, err)
		}
	}
}

func TestRemainingCapsAtMaxDelay(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		due   time.Time
		want  time.Duration
		early bool
	}{
		{time.Time{}, 0, false},
		{now.Add(-time.Minute), 0, false},
		{now, 0, false},
		{now.Add(time.Minute), time.Minute, true},
		{now.Add(time.Hour), MaxDelay, true},
	}
	for _, c := range cases {
		m := ArchiveJob("j", c.due)
		if c.due.IsZero() {
			m.Due = time.Time{}
		}
		if got := m.Remaining(now); got != c.want || m.Early(now) != c.early {
			t.Errorf("due %s: remaining %s early %v", c.due, got, m.Early(now))
		}
	}
}
