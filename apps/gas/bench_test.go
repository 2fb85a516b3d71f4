package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1m,10k, 100K,5")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{5, 10_000, 100_000, 1_000_000}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if _, err := parseSizes("ten"); err == nil {
		t.Error("bad size accepted")
	}
	if err := runBench(context.Background(), []string{"--modes", "zip"}); !errors.Is(err, errUsage) {
		t.Errorf("bad mode: %v", err)
	}
}

func TestMeasure(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// a child that holds ~40 MB must be reported near that, and a failure
	// must be reported as such
	r := measure(context.Background(), sh, []string{"-c", "x=$(head -c 40000000 /dev/zero | tr '\\0' a); sleep 0.1"}, "")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.wall < 100*time.Millisecond {
		t.Errorf("wall %v", r.wall)
	}
	if r.rssKB < 30_000 {
		t.Errorf("peak RSS %d KB, want ~40 MB", r.rssKB)
	}
	if r := measure(context.Background(), sh, []string{"-c", "exit 3"}, ""); r.err == nil {
		t.Error("failure not reported")
	}
}

func TestBenchTable(t *testing.T) {
	rows := []benchRow{
		{variants: 1_000_000, mode: "plain", tool: "gas annotate", wall: 800 * time.Millisecond, rssKB: 40 << 10},
		{variants: 1_000_000, mode: "plain", tool: "bcftools csq -l", wall: 1600 * time.Millisecond, rssKB: 10 << 10},
		{variants: 1_000_000, mode: "bgzf", tool: "SnpEff ann", err: errors.New("x")},
	}
	out := benchTable(rows, []string{"note"}, "bcftools")
	for _, want := range []string{"| 1M | plain | gas annotate | 0.80 | 40 | 0.50× |", "| 1M | bgzf | SnpEff ann | failed |", "- note"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
