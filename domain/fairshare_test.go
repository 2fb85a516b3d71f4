package domain

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestInFlightCapLeavesASlotForSomebodyElse(t *testing.T) {
	p := DefaultPolicy()
	for _, c := range []struct {
		tier  Tier
		slots int
		want  int
	}{
		{TierFree, 1, 1}, {TierFree, 2, 1}, {TierFree, 4, 2}, {TierFree, 16, 2},
		{TierPremium, 1, 1}, {TierPremium, 2, 1}, {TierPremium, 4, 3}, {TierPremium, 16, 4},
	} {
		if got := p.InFlightCap(c.tier, c.slots); got != c.want {
			t.Errorf("cap of %s with %d slots = %d, want %d", c.tier, c.slots, got, c.want)
		}
	}
}

// take runs Next n times and returns the users served.
func take(q *FairQueue[string], n int) []UserID {
	var out []UserID
	for range n {
		u, _, ok := q.Next()
		if !ok {
			break
		}
		out = append(out, u)
	}
	return out
}

func TestFairQueueTakesTurnsAndKeepsEachLineInOrder(t *testing.T) {
	q := NewFairQueue[string]()
	for i := range 6 {
		q.Add("heavy", 10, fmt.Sprintf("h%d", i))
	}
	q.Add("light", 10, "l0")
	q.Add("other", 10, "o0")
	q.Add("light", 10, "l1")
	var items []string
	for {
		_, it, ok := q.Next()
		if !ok {
			break
		}
		items = append(items, it)
	}
	want := []string{"h0", "l0", "o0", "h1", "l1", "h2", "h3", "h4", "h5"}
	if !slices.Equal(items, want) {
		t.Fatalf("served %v, want %v", items, want)
	}
}

func TestFairQueueCapsInFlightAndALightUserStartsAtOnce(t *testing.T) {
	q := NewFairQueue[string]()
	for i := range 6 {
		q.Add("heavy", 3, fmt.Sprintf("h%d", i))
	}
	if got := take(q, 6); len(got) != 3 {
		t.Fatalf("heavy user started %v, want 3 (its cap)", got)
	}
	if q.Ready() {
		t.Fatal("Ready with the only user at its cap")
	}
	q.Add("light", 2, "l0")
	if u, it, ok := q.Next(); !ok || u != "light" || it != "l0" {
		t.Fatalf("next = %s %s %v, want the light user's job at once", u, it, ok)
	}
	q.Done("heavy")
	if u, _, ok := q.Next(); !ok || u != "heavy" {
		t.Fatalf("after a heavy job ended, next = %s %v", u, ok)
	}
	lines := q.Lines()
	if len(lines) != 2 || lines[0].User != "heavy" || lines[0].Queued != 2 || lines[0].InFlight != 3 || lines[0].Eligible {
		t.Fatalf("lines %+v", lines)
	}
}

func TestFairQueueNewcomerWaitsForTheRoundNotForTheBacklog(t *testing.T) {
	q := NewFairQueue[string]()
	for _, u := range []UserID{"a", "b", "c"} {
		q.Add(u, 1, string(u)+"0")
		q.Add(u, 1, string(u)+"1")
	}
	if got := take(q, 3); !slices.Equal(got, []UserID{"a", "b", "c"}) {
		t.Fatalf("first round %v", got)
	}
	q.Done("a")
	q.Done("b")
	q.Add("n", 1, "n0") // joins behind b and c, who are waiting
	q.Done("c")
	if got := take(q, 4); !slices.Equal(got, []UserID{"a", "b", "c", "n"}) {
		t.Fatalf("second round %v, want the waiting users first, then the newcomer", got)
	}
}

func TestFairQueueReplaceKeepsThePlace(t *testing.T) {
	q := NewFairQueue[string]()
	q.Add("u", 1, "m1/r1")
	q.Add("u", 1, "m2/r1")
	same := func(a, b string) bool { return strings.Split(a, "/")[0] == strings.Split(b, "/")[0] }
	if !q.Replace("u", "m1/r2", same) || q.Replace("v", "m1/r3", same) || q.Replace("u", "m9/r1", same) {
		t.Fatal("Replace found the wrong items")
	}
	if _, it, _ := q.Next(); it != "m1/r2" {
		t.Fatalf("next %s, want the replaced delivery in its place", it)
	}
	if got := q.Drain(); !slices.Equal(got, []string{"m2/r1"}) || q.Queued() != 0 || q.Ready() {
		t.Fatalf("drained %v", got)
	}
}

// TestFairQueueNobodyWaitsTwoTurnsBehindAnother drives random adds, starts
// and ends and checks the rule the dispatcher promises: while a user has
// work queued and is under their cap, no other user starts twice.
func TestFairQueueNobodyWaitsTwoTurnsBehindAnother(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 7))
		q := NewFairQueue[int]()
		users := []UserID{"a", "b", "c", "d"}
		running := map[UserID]int{}
		// passed[y][x]: x started while y was waiting for a turn.
		passed := map[UserID]map[UserID]bool{}
		for step := range 400 {
			switch r := rng.IntN(10); {
			case r < 4:
				u := users[rng.IntN(len(users))]
				q.Add(u, 1+rng.IntN(3), step)
			case r < 7:
				before := q.Lines()
				u, _, ok := q.Next()
				if !ok {
					continue
				}
				running[u]++
				waiting := map[UserID]bool{}
				for _, l := range before {
					waiting[l.User] = l.Eligible && l.User != u
				}
				for y := range passed {
					if !waiting[y] {
						delete(passed, y)
					}
				}
				for _, l := range before {
					if !waiting[l.User] {
						continue
					}
					if passed[l.User][u] {
						t.Fatalf("seed %d step %d: %s started twice while %s waited (%+v)", seed, step, u, l.User, before)
					}
					if passed[l.User] == nil {
						passed[l.User] = map[UserID]bool{}
					}
					passed[l.User][u] = true
				}
			default:
				var busy []UserID
				for u, n := range running {
					if n > 0 {
						busy = append(busy, u)
					}
				}
				if len(busy) == 0 {
					continue
				}
				slices.Sort(busy)
				u := busy[rng.IntN(len(busy))]
				running[u]--
				q.Done(u)
			}
			for _, l := range q.Lines() {
				if l.InFlight != running[l.User] || l.Eligible != (l.Queued > 0 && l.InFlight < l.Cap) {
					t.Fatalf("seed %d step %d: line %+v, %d running", seed, step, l, running[l.User])
				}
			}
		}
	}
}
