package domain

import (
	"errors"
	"testing"
	"time"
)

func TestOptionsAreChosenBeforeTheFirstRun(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j, err := NewJob("j1", "u1", "a.vcf", "inputs/u1/j1/a.vcf", 10, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Choose(JobOptions{Reference: "GRCh37\n"}); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("control character in a reference name: %v", err)
	}
	o := JobOptions{Reference: "GRCh37", SkipMalformed: true}
	if err := j.Choose(o); err != nil || j.Options() != o {
		t.Fatalf("choose: %v, %+v", err, j.Options())
	}
	back, err := JobFromSnapshot(j.Snapshot())
	if err != nil || back.Options() != o {
		t.Fatalf("snapshot round trip: %v, %+v", err, back.Options())
	}
	if err := j.Claim(now, time.Minute, 3); err != nil {
		t.Fatal(err)
	}
	if err := j.Choose(JobOptions{}); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("options changed while running: %v", err)
	}
}

// TestSuspectReference: a handful of REF mismatches in a large file is
// noise; one in twenty records (or a small file of them) is a wrong
// reference.
func TestSuspectReference(t *testing.T) {
	for _, c := range []struct {
		c    Counts
		want bool
	}{
		{Counts{Records: 10000, RefMismatches: 3}, false},
		{Counts{Records: 10000, RefMismatches: 499}, false},
		{Counts{Records: 10000, RefMismatches: 300, UnknownChromosome: 150, PastChromosomeEnd: 50}, true},
		{Counts{Records: 2, RefMismatches: 2}, true},
		{Counts{Records: 40, RefMismatches: 2}, false},
		{Counts{Records: 40, UnknownChromosome: 3}, true},
		{Counts{}, false},
	} {
		if got := c.c.SuspectReference(); got != c.want {
			t.Errorf("%+v: %v, want %v", c.c, got, c.want)
		}
	}
}
