package memory_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
)

func TestFakeClockRunsAlarmsInOrderOnAdvance(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := memory.NewFakeClock(start)
	var mu sync.Mutex
	var fired []string
	var firedAt []time.Time
	record := func(name string) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			fired = append(fired, name)
			firedAt = append(firedAt, c.Now())
		}
	}
	c.AtFunc(start.Add(3*time.Second), record("c"))
	c.AtFunc(start.Add(1*time.Second), record("a"))
	stop := c.AtFunc(start.Add(2*time.Second), record("cancelled"))
	c.AtFunc(start.Add(2*time.Second), record("b"))
	c.AtFunc(start.Add(10*time.Second), record("later"))
	if !stop() {
		t.Fatalf("stopping a pending alarm reported false")
	}
	if stop() {
		t.Fatalf("stopping twice reported true")
	}
	if c.Pending() != 4 {
		t.Fatalf("pending %d, want 4", c.Pending())
	}
	c.Advance(3 * time.Second)
	if !slices.Equal(fired, []string{"a", "b", "c"}) {
		t.Fatalf("fired %v, want [a b c] in time order, synchronously", fired)
	}
	for i, want := range []time.Duration{1, 2, 3} {
		if !firedAt[i].Equal(start.Add(want * time.Second)) {
			t.Errorf("alarm %s saw time %s, want start+%ds", fired[i], firedAt[i], want)
		}
	}
	if got := c.Now(); !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("now %s after Advance(3s)", got)
	}
	c.Advance(-time.Hour)
	if got := c.Now(); !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("negative Advance moved time to %s", got)
	}
	c.Set(start.Add(10 * time.Second))
	if len(fired) != 4 || fired[3] != "later" || c.Pending() != 0 {
		t.Fatalf("Set did not run the due alarm: %v pending %d", fired, c.Pending())
	}
}

func TestFakeClockAlarmInThePastRunsSoon(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	done := make(chan struct{})
	c.AtFunc(c.Now(), func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("an alarm already due never ran")
	}
}

func TestFakeClockAlarmMayScheduleAnother(t *testing.T) {
	c := memory.NewFakeClock(time.Time{})
	start := c.Now()
	var got []time.Time
	c.AtFunc(start.Add(time.Second), func() {
		got = append(got, c.Now())
		c.AtFunc(start.Add(2*time.Second), func() { got = append(got, c.Now()) })
	})
	c.Advance(5 * time.Second)
	if len(got) != 2 || !got[1].Equal(start.Add(2*time.Second)) {
		t.Fatalf("chained alarms fired at %v", got)
	}
}

func TestSystemClockAlarm(t *testing.T) {
	c := memory.NewSystemClock()
	done := make(chan time.Time, 1)
	c.AtFunc(c.Now().Add(50*time.Millisecond), func() { done <- time.Now() })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("system alarm never fired")
	}
	stop := c.AtFunc(c.Now().Add(time.Hour), func() { t.Errorf("stopped alarm fired") })
	if !stop() {
		t.Fatalf("stop of a pending system alarm reported false")
	}
}
