// Package scalesim is a discrete-event simulation of GAS's autoscaled
// farms: arrivals, per-job annotation time, CloudWatch metric periods and
// alarm evaluation, cooldowns, instance boot and warm-up, the group's
// bounds, and for the web farm request latency as a function of load per
// instance. Scaling decisions come from domain/scaling, the same rules
// local mode and the CloudFormation template use. A run is a pure
// function of its scenario, policy and seed.
package scalesim

import (
	"container/heap"
	"time"
)

// epoch is simulated time zero: midnight, so metric periods align as
// CloudWatch aligns them to the clock.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// event is something that happens at a simulated instant; seq keeps
// simultaneous events in the order they were scheduled, so runs repeat.
type event struct {
	at  time.Duration
	seq uint64
	do  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// clock runs events in time order.
type clock struct {
	now    time.Duration
	seq    uint64
	events eventHeap
}

// at schedules do at simulated time t (not before now).
func (c *clock) at(t time.Duration, do func()) {
	c.seq++
	heap.Push(&c.events, event{at: max(t, c.now), seq: c.seq, do: do})
}

// after schedules do d from now.
func (c *clock) after(d time.Duration, do func()) { c.at(c.now+d, do) }

// runUntil runs every event due up to end, then sets the clock to end.
func (c *clock) runUntil(end time.Duration) {
	for len(c.events) > 0 && c.events[0].at <= end {
		e := heap.Pop(&c.events).(event)
		c.now = e.at
		e.do()
	}
	c.now = end
}

// wall is the simulated instant as a time, for the domain's series.
func (c *clock) wall() time.Time { return epoch.Add(c.now) }
