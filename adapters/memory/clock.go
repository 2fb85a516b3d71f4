package memory

import (
	"sort"
	"sync"
	"time"

	"github.com/gasproject/gas/ports"
)

// AlarmClock is a ports.Clock that can also call back when it reaches a
// time. Queues and archives wait through it, so with a FakeClock their
// delays, visibility timeouts and retrieval times pass when the test says,
// not when the wall clock does.
type AlarmClock interface {
	ports.Clock
	// AtFunc calls f once the clock reaches t (soon, in another goroutine,
	// if it already has). stop cancels a call that has not started and
	// reports whether it did.
	AtFunc(t time.Time, f func()) (stop func() bool)
}

// atFunc schedules f on clock's time when the clock can, and falls back to
// polling the clock every few milliseconds of real time when it cannot (a
// test double that only has Now), so any ports.Clock works.
func atFunc(clock ports.Clock, t time.Time, f func()) (stop func() bool) {
	if ac, ok := clock.(AlarmClock); ok {
		return ac.AtFunc(t, f)
	}
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if !clock.Now().Before(t) {
				fired := false
				once.Do(func() { fired = true })
				if fired {
					f()
				}
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() bool {
		stopped := false
		once.Do(func() { stopped = true; close(done) })
		return stopped
	}
}

// SystemClock is the wall clock, for local mode and real-time tests.
type SystemClock struct{}

// NewSystemClock returns the wall clock; it exists so Wire providers read
// like every other constructor.
func NewSystemClock() SystemClock { return SystemClock{} }

// Now is the current wall-clock time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// AtFunc calls f in its own goroutine at wall-clock time t.
func (SystemClock) AtFunc(t time.Time, f func()) (stop func() bool) {
	return time.AfterFunc(time.Until(t), f).Stop
}

// FakeClock is a clock that moves only when told, so protocol tests walk
// through a five-minute download window or a five-hour Standard retrieval
// in microseconds, deterministically.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	alarms []*alarm
}

type alarm struct {
	at  time.Time
	seq uint64
	f   func()
}

// NewFakeClock starts a fake clock at start (UTC); a zero start means
// 2026-01-01T00:00:00Z so tests need not invent one.
func NewFakeClock(start time.Time) *FakeClock {
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &FakeClock{now: start.UTC()}
}

// Now is the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves time forward by d (negative d is ignored: time does not run
// backwards) and runs every alarm that falls due, in time order,
// synchronously before returning — so after Advance the effects of the
// passed time (a restore completion published, a receiver woken) have
// happened.
func (c *FakeClock) Advance(d time.Duration) {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.advanceTo(target)
}

// Set moves the clock to t if t is later than now, running due alarms as
// Advance does.
func (c *FakeClock) Set(t time.Time) { c.advanceTo(t.UTC()) }

func (c *FakeClock) advanceTo(target time.Time) {
	for {
		c.mu.Lock()
		sort.Slice(c.alarms, func(i, j int) bool {
			if !c.alarms[i].at.Equal(c.alarms[j].at) {
				return c.alarms[i].at.Before(c.alarms[j].at)
			}
			return c.alarms[i].seq < c.alarms[j].seq
		})
		if len(c.alarms) == 0 || c.alarms[0].at.After(target) {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		a := c.alarms[0]
		c.alarms = c.alarms[1:]
		if a.at.After(c.now) {
			c.now = a.at
		}
		c.mu.Unlock()
		a.f()
	}
}

// AtFunc registers f to run when the fake time reaches t; if it already
// has, f runs at once in a new goroutine (the caller may hold locks f needs).
func (c *FakeClock) AtFunc(t time.Time, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.now) {
		go f()
		return func() bool { return false }
	}
	c.seq++
	a := &alarm{at: t, seq: c.seq, f: f}
	c.alarms = append(c.alarms, a)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.alarms {
			if x == a {
				c.alarms = append(c.alarms[:i], c.alarms[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Pending counts alarms not yet due, so a test can wait until a goroutine
// is blocked on the clock before advancing it.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.alarms)
}

var (
	_ AlarmClock = SystemClock{}
	_ AlarmClock = (*FakeClock)(nil)
)
