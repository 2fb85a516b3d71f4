package domain

import "slices"

// Fair share between users (ARCHITECTURE.md, Fair share): users are
// tenants of one annotator pool. Each user's requests wait in their own
// line; users take turns, round-robin, so a light user's job starts at once
// whatever another user has queued; and no user runs more jobs at once
// than their plan's in-flight cap, so one user's backlog never takes every
// slot. FairQueue is that rule as data; the annotator's dispatcher
// (domain/workers) feeds it deliveries and runs what it hands out.

// InFlightCap is how many of one user's jobs a pool of slots (jobs
// annotated at once; 0 when unknown) may run together: the plan's cap, and
// never the last slot of a pool of more than one, so a job of anybody else starts at once
// while only one user is busy. Premium's larger cap is its larger share:
// under contention users take turns, but a premium user may hold more of
// the slots the turns hand out.
func (p Policy) InFlightCap(t Tier, slots int) int {
	c := p.FreeInFlight
	if t == TierPremium {
		c = p.PremiumInFlight
	}
	if slots > 0 {
		c = min(c, max(slots-1, 1))
	}
	return max(c, 1)
}

// FairQueue holds queued work per user and hands it out round-robin
// between users, never more than a user's cap in flight. It is not safe
// for concurrent use; the dispatcher guards it.
type FairQueue[T any] struct {
	lines map[UserID]*line[T]
	// ring is the users with queued work in turn order; ring[next] is the
	// user whose turn comes next.
	ring []UserID
	next int
}

type line[T any] struct {
	queued   []T
	inFlight int
	cap      int
}

// NewFairQueue makes an empty queue.
func NewFairQueue[T any]() *FairQueue[T] {
	return &FairQueue[T]{lines: map[UserID]*line[T]{}}
}

// Add queues item at the back of user's line, whose cap is now cap (at
// least 1). A user whose line was empty joins at the end of the round:
// everybody already waiting has a turn first, and nobody a second one
// before the newcomer's. While slots are free (the caps keep one free
// whenever only one user is busy) the newcomer's turn is at once.
func (q *FairQueue[T]) Add(user UserID, cap int, item T) {
	l := q.lines[user]
	if l == nil {
		l = &line[T]{}
		q.lines[user] = l
	}
	l.cap = max(cap, 1)
	if len(l.queued) == 0 {
		q.ring = slices.Insert(q.ring, q.next, user)
		q.next = (q.next + 1) % len(q.ring)
	}
	l.queued = append(l.queued, item)
}

// Replace swaps the first queued item of user's line that same reports
// equal to item for item, keeping its place; it reports whether one was
// found (a redelivery of a message already waiting).
func (q *FairQueue[T]) Replace(user UserID, item T, same func(a, b T) bool) bool {
	l := q.lines[user]
	if l == nil {
		return false
	}
	for i := range l.queued {
		if same(l.queued[i], item) {
			l.queued[i] = item
			return true
		}
	}
	return false
}

// Next takes the front item of the first user in turn order who has work
// queued and fewer than their cap in flight, counts it in flight and
// moves the turn past that user. ok is false when nobody may start.
func (q *FairQueue[T]) Next() (user UserID, item T, ok bool) {
	for i := range q.ring {
		at := (q.next + i) % len(q.ring)
		u := q.ring[at]
		l := q.lines[u]
		if l.inFlight >= l.cap {
			continue
		}
		item, l.queued = l.queued[0], l.queued[1:]
		l.inFlight++
		if len(l.queued) == 0 {
			q.ring = slices.Delete(q.ring, at, at+1)
			q.next = at
		} else {
			q.next = at + 1
		}
		if q.next >= len(q.ring) {
			q.next = 0
		}
		return u, item, true
	}
	return "", item, false
}

// Ready reports whether Next would hand out an item.
func (q *FairQueue[T]) Ready() bool {
	return slices.ContainsFunc(q.ring, func(u UserID) bool { l := q.lines[u]; return l.inFlight < l.cap })
}

// Done ends one of user's items in flight.
func (q *FairQueue[T]) Done(user UserID) {
	l := q.lines[user]
	if l == nil || l.inFlight == 0 {
		return
	}
	l.inFlight--
	if l.inFlight == 0 && len(l.queued) == 0 {
		delete(q.lines, user)
	}
}

// Drain removes and returns every queued item (nothing in flight changes).
func (q *FairQueue[T]) Drain() []T {
	var out []T
	for _, u := range q.ring {
		l := q.lines[u]
		out = append(out, l.queued...)
		l.queued = nil
		if l.inFlight == 0 {
			delete(q.lines, u)
		}
	}
	q.ring, q.next = nil, 0
	return out
}

// Waiting lists every queued item, in no particular order.
func (q *FairQueue[T]) Waiting() []T {
	var out []T
	for _, u := range q.ring {
		out = append(out, q.lines[u].queued...)
	}
	return out
}

// Queued is how many items wait in all lines.
func (q *FairQueue[T]) Queued() int {
	n := 0
	for _, u := range q.ring {
		n += len(q.lines[u].queued)
	}
	return n
}

// Line is one user's state in a FairQueue.
type Line struct {
	User               UserID
	Queued, InFlight   int
	Cap                int
	Eligible, HasQueue bool
}

// Lines reports every user with work queued or in flight, in turn order
// first (from the next turn), then users with work in flight only.
func (q *FairQueue[T]) Lines() []Line {
	var out []Line
	seen := map[UserID]bool{}
	for i := range q.ring {
		u := q.ring[(q.next+i)%len(q.ring)]
		seen[u] = true
		out = append(out, q.lineOf(u))
	}
	users := make([]UserID, 0, len(q.lines))
	for u := range q.lines {
		if !seen[u] {
			users = append(users, u)
		}
	}
	slices.Sort(users)
	for _, u := range users {
		out = append(out, q.lineOf(u))
	}
	return out
}

func (q *FairQueue[T]) lineOf(u UserID) Line {
	l := q.lines[u]
	return Line{User: u, Queued: len(l.queued), InFlight: l.inFlight, Cap: l.cap,
		HasQueue: len(l.queued) > 0, Eligible: len(l.queued) > 0 && l.inFlight < l.cap}
}
