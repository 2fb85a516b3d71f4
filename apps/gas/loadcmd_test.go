package main

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// The loads refuse what could turn them into a denial of service or a
// surprise: remote URLs without --allow-remote, rates and durations past
// the bounds, missing token or file.
func TestLoadRefusesUnsafeOrIncompleteRuns(t *testing.T) {
	for _, args := range [][]string{
		{"web", "--url", "http://example.org"},
		{"web", "--url", "http://10.0.0.1:8080"},
		{"web", "--url", "ftp://127.0.0.1"},
		{"web", "--url", "http://127.0.0.1:1", "--rate", "100000"},
		{"web", "--url", "http://127.0.0.1:1", "--duration", "2h"},
		{"web", "--url", "http://127.0.0.1:1", "--users", "0"},
		{"jobs", "--url", "http://127.0.0.1:1", "--file", "x.vcf"},
		{"jobs", "--url", "http://127.0.0.1:1", "--token", "t"},
		{"jobs", "--url", "http://127.0.0.1:1", "--token", "t", "--file", "x.vcf", "--arrivals", "burst"},
		{"nope"},
	} {
		if err := dispatch(context.Background(), "load", args); !errors.Is(err, errUsage) {
			t.Errorf("gas load %v: %v, want a usage error", args, err)
		}
	}
	if _, err := loadTarget("http://example.org", true, 25, time.Minute); err != nil {
		t.Errorf("--allow-remote refused: %v", err)
	}
	if _, err := loadTarget("http://[::1]:8080", false, 25, time.Minute); err != nil {
		t.Errorf("IPv6 loopback refused: %v", err)
	}
}

func TestPoissonPacerIsSeededAndBounded(t *testing.T) {
	a, b := newPoissonPacer(10, time.Minute, 3), newPoissonPacer(10, time.Minute, 3)
	if len(a.at) != len(b.at) || len(a.at) < 500 || len(a.at) > 700 {
		t.Fatalf("%d and %d arrivals in a minute at 10/s", len(a.at), len(b.at))
	}
	for i := range a.at {
		if a.at[i] != b.at[i] {
			t.Fatal("same seed, different arrivals")
		}
	}
	if _, stop := a.Pace(time.Minute, uint64(len(a.at))); !stop {
		t.Fatal("pacer did not stop after its last arrival")
	}
}

func TestSimulateCommand(t *testing.T) {
	if err := runSimulateScaling([]string{"--scenario", "seed-web", "--json"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"--scenario", "nope"}, {"--scenario", "seed-web", "--policy", "nope"}} {
		if err := runSimulateScaling(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("gas simulate scaling %v: %v, want a usage error", args, err)
		}
	}
}
