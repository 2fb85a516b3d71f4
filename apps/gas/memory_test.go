package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine/synth"
)

// TestLoadMemory checks the memory figures against the real
// `gas serve` with its default durable storage: a 300 MB upload and its
// job (a result of about 1.7 GB and its index) leave the server's peak RSS
// under 400 MB; five compressed uploads whose results are about 300 MB
// each, submitted at once, leave it under 500 MB. Peak RSS is the
// process's VmHWM from /proc. Inputs come from the project's generator on
// the benchmark genome. Opt-in (GAS_LOAD=1): it writes a few gigabytes.
func TestLoadMemory(t *testing.T) {
	requireLoad(t)
	bin := buildGas(t)
	dir := t.TempDir()
	ref, _ := benchInput(t, bin, dir, 1<<10)
	t.Run("OneUploadOf300MB", func(t *testing.T) {
		input := variantsFile(t, filepath.Join(dir, "300mb.vcf"), 10_400_000, false)
		srv := startGas(t, bin, "--db", ref, "--quiet")
		c := signInForLoad(t, srv.URL, "big@example.org", true)
		took := timeJob(t, c, input)
		rss := peakRSS(t, srv.cmd.Process.Pid)
		st, _ := os.Stat(input)
		t.Logf("%d MB upload annotated in %.1f s; server peak RSS %d MB", st.Size()>>20, took.Seconds(), rss>>10)
		if rss > 400<<10 {
			t.Errorf("peak RSS %d MB, want under 400 MB", rss>>10)
		}
	})
	t.Run("FiveCompressedUploadsOf300MBResults", func(t *testing.T) {
		input := variantsFile(t, filepath.Join(dir, "50mb.vcf.gz"), 1_800_000, true)
		srv := startGas(t, bin, "--db", ref, "--quiet")
		c := signInForLoad(t, srv.URL, "five@example.org", true)
		start := time.Now()
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() { timeJob(t, c, input) })
		}
		wg.Wait()
		rss := peakRSS(t, srv.cmd.Process.Pid)
		size := resultSize(t, c)
		st, _ := os.Stat(input)
		t.Logf("five %d MB compressed uploads, results of %d MB each, annotated in %.1f s; server peak RSS %d MB",
			st.Size()>>20, size>>20, time.Since(start).Seconds(), rss>>10)
		if size < 250<<20 {
			t.Fatalf("results of %d MB: the test does not exercise ~300 MB results", size>>20)
		}
		if rss > 500<<10 {
			t.Errorf("peak RSS %d MB, want under 500 MB", rss>>10)
		}
	})
}

// variantsFile writes n generated variants on the benchmark genome to
// path, gzip-compressed if asked.
func variantsFile(t *testing.T, path string, n int, compress bool) string {
	g, err := synth.New(synth.Benchmark(n))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out io.Writer = f
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if compress {
		out = zw
	}
	if _, err := g.WriteVariants(out, synth.VariantOptions{}); err != nil {
		t.Fatal(err)
	}
	if compress {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// resultSize is the size of the annotated VCF of one of the user's jobs.
func resultSize(t *testing.T, c *loadClient) int64 {
	for id := range c.allJobs() {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/jobs/%s/result", c.base, id), nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Fatal("no jobs")
	return 0
}
