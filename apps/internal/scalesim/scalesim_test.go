package scalesim

import (
	"reflect"
	"testing"
	"time"
)

func run(t *testing.T, scenario, policy string, seed uint64) *Result {
	t.Helper()
	sc, err := Lookup(scenario, Calibration{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(sc, policy, seed)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSameSeedSameRun(t *testing.T) {
	for _, sc := range Scenarios() {
		a, b := run(t, sc, PolicyTargetTracking, 7), run(t, sc, PolicyTargetTracking, 7)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with seed 7 differ", sc)
		}
		if c := run(t, sc, PolicyTargetTracking, 8); reflect.DeepEqual(a.Waits, c.Waits) && a.Farm == Annotator {
			t.Errorf("%s: seeds 7 and 8 gave identical waits: the seed is not used", sc)
		}
	}
}

// The original's annotator graph: the seed policy climbs one instance per
// cooldown from 2 to exactly 10, holds, and falls back to 2.
func TestSeedAnnotatorClimbsTo10AndBackTo2(t *testing.T) {
	r := run(t, "seed-annotator", PolicySeed, 1)
	if r.MaxInstances != 10 || r.FinalInstances != 2 {
		t.Fatalf("seed policy went to %d and ended at %d, want 10 and 2", r.MaxInstances, r.FinalInstances)
	}
	want := 2
	for i, e := range r.Events {
		step := +1
		if i >= 8 {
			step = -1
		}
		if e.From != want || e.To != want+step {
			t.Fatalf("event %d: %d -> %d, want %d -> %d (events %+v)", i, e.From, e.To, want, want+step, r.Events)
		}
		want += step
	}
	if len(r.Events) != 16 {
		t.Fatalf("%d scaling events, want 8 out and 8 in: %+v", len(r.Events), r.Events)
	}
	for i := 1; i < 8; i++ {
		if gap := r.Events[i].AtS - r.Events[i-1].AtS; gap < 300 {
			t.Errorf("scale-outs %d and %d %v s apart, inside the 300 s cooldown", i-1, i, gap)
		}
	}
}

// Target tracking on the same load waits less and pays no more.
func TestTargetTrackingBeatsSeedOnAnnotators(t *testing.T) {
	seed, tt := run(t, "seed-annotator", PolicySeed, 1), run(t, "seed-annotator", PolicyTargetTracking, 1)
	if seed.Jobs != tt.Jobs || tt.Unstarted != 0 {
		t.Fatalf("runs saw %d and %d jobs (%d never started)", seed.Jobs, tt.Jobs, tt.Unstarted)
	}
	if tt.P95WaitS >= seed.P95WaitS || tt.InstanceHours > seed.InstanceHours {
		t.Fatalf("target tracking p95 wait %.0f s, %.2f instance-hours; seed %.0f s, %.2f: not better",
			tt.P95WaitS, tt.InstanceHours, seed.P95WaitS, seed.InstanceHours)
	}
	if tt.Flaps != 0 {
		t.Errorf("target tracking flapped %d times: %+v", tt.Flaps, tt.Events)
	}
}

// The original's web graph: under steady load the seed policy scales in
// (its response-time alarm is always under 10 ms) between scale-outs.
func TestSeedWebFlapsTargetTrackingDoesNot(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		s, tt := run(t, "seed-web", PolicySeed, seed), run(t, "seed-web", PolicyTargetTracking, seed)
		if s.ScaleInsDuringLoad == 0 || s.Flaps == 0 {
			t.Errorf("seed %d: seed web policy did not flap: %+v", seed, s.Events)
		}
		if tt.Flaps != 0 || tt.ScaleInsDuringLoad != 0 || tt.Errors != 0 {
			t.Errorf("seed %d: target tracking flapped %d times, %d scale-ins under load, %d errors", seed, tt.Flaps, tt.ScaleInsDuringLoad, tt.Errors)
		}
	}
}

// Replay against the exact first-in-first-out recursion for a pool of
// two: the waits must be identical.
func TestReplayMatchesFIFORecursion(t *testing.T) {
	var trace []Arrival
	for i := range 200 {
		trace = append(trace, Arrival{At: time.Duration(i) * 700 * time.Millisecond, Service: time.Duration(1000+(i*37)%900) * time.Millisecond})
	}
	r, err := Replay(trace, 2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	free := []time.Duration{0, 0}
	for i, a := range trace {
		k := 0
		if free[1] < free[0] {
			k = 1
		}
		start := max(a.At, free[k])
		free[k] = start + a.Service
		if got := r.Waits[i]; got != start-a.At {
			t.Fatalf("job %d waited %v, want %v", i, got, start-a.At)
		}
	}
}

func TestFairQueueServesUsersInTurn(t *testing.T) {
	q := newFairQueue()
	for i := range 5 {
		q.push(job{user: "heavy", arrived: time.Duration(i)})
	}
	q.push(job{user: "light", arrived: 10})
	if a, b := q.pop(), q.pop(); a.user != "heavy" || b.user != "light" {
		t.Fatalf("popped %s then %s, want heavy then light", a.user, b.user)
	}
	if q.len() != 4 {
		t.Fatalf("%d left, want 4", q.len())
	}
}

func TestBadInputsAreRefused(t *testing.T) {
	if _, err := Lookup("nope", Calibration{}); err == nil {
		t.Error("unknown scenario accepted")
	}
	sc, _ := Lookup("seed-web", Calibration{})
	if _, err := Run(sc, "nope", 1); err == nil {
		t.Error("unknown policy accepted")
	}
	sc.Max = 0
	if _, err := Run(sc, PolicySeed, 1); err == nil {
		t.Error("group without room accepted")
	}
	if _, err := Lookup("seed-annotator", Calibration{PerVariant: -1}); err == nil {
		t.Error("negative calibration accepted")
	}
}
