package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseServeFlags(t *testing.T) {
	c, err := parseServe([]string{"--addr", "127.0.0.1:0", "--window", "30s", "--data", "/tmp/x", "--workers", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" || c.Window != 30*time.Second || c.Data != "/tmp/x" || c.Workers != 3 {
		t.Fatalf("parsed %+v", c)
	}
	d, err := parseServe(nil)
	if err != nil || d.Addr != "127.0.0.1:8080" || d.Window != 5*time.Minute || d.OIDC.Issuer != "https://auth.globus.org" {
		t.Fatalf("defaults %+v %v", d, err)
	}
	for _, bad := range [][]string{{"--window", "-1s"}, {"--workers", "0"}, {"extra"}, {"--nope"}} {
		if _, err := parseServe(bad); !errors.Is(err, errUsage) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

// TestDefaultReferenceBuiltOnceAndSamples checks first start builds the
// synthetic database into --data, later starts load it, and the samples
// bracket the free limit.
func TestDefaultReferenceBuiltOnceAndSamples(t *testing.T) {
	dir := t.TempDir()
	r1, err := localReference(serveConfig{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "synthetic-small-v1.gasdb")
	st1, err := os.Stat(path)
	if err != nil {
		t.Fatalf("database not built: %v", err)
	}
	r2, err := localReference(serveConfig{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(path)
	if !st1.ModTime().Equal(st2.ModTime()) {
		t.Fatal("database rebuilt on second start")
	}
	if r1.Engine.Reference() != syntheticName || r2.Engine.Reference() != syntheticName {
		t.Fatalf("reference %q", r1.Engine.Reference())
	}
	if len(r1.Samples) != 3 {
		t.Fatalf("%d samples", len(r1.Samples))
	}
	const limit = 150 << 10
	if r1.Samples[0].Size() >= limit || r1.Samples[1].Size() >= limit || r1.Samples[2].Size() <= limit {
		t.Fatalf("sample sizes %d %d %d around %d", r1.Samples[0].Size(), r1.Samples[1].Size(), r1.Samples[2].Size(), limit)
	}
	if string(r1.Samples[0].Data) != string(r2.Samples[0].Data) {
		t.Fatal("samples are not deterministic")
	}
}
