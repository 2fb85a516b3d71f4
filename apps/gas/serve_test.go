package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseServeFlags(t *testing.T) {
	c, err := parseServe([]string{"--addr", "127.0.0.1:0", "--window", "30s", "--data", "/tmp/x", "--cache", "/tmp/c", "--workers", "3", "--lease", "5s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" || c.Window != 30*time.Second || c.Data != "/tmp/x" || c.Cache != "/tmp/c" || c.Workers != 3 || c.Lease != 5*time.Second || c.Ephemeral {
		t.Fatalf("parsed %+v", c)
	}
	t.Setenv("XDG_DATA_HOME", "/srv/data")
	d, err := parseServe(nil)
	if err != nil || d.Addr != "127.0.0.1:8080" || d.Window != 5*time.Minute || d.OIDC.Issuer != "https://auth.globus.org" ||
		d.Data != "/srv/data/gas" || d.Lease != 2*time.Minute {
		t.Fatalf("defaults %+v %v", d, err)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/ada")
	if d, _ := parseServe([]string{"--ephemeral"}); d.Data != "/home/ada/.local/share/gas" || !d.Ephemeral {
		t.Fatalf("default data directory without XDG_DATA_HOME: %+v", d)
	}
	for _, bad := range [][]string{{"--window", "-1s"}, {"--workers", "0"}, {"--lease", "10ms"}, {"extra"}, {"--nope"}} {
		if _, err := parseServe(bad); !errors.Is(err, errUsage) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

// TestDefaultReferenceBuiltOnceAndSamples checks first start builds the
// synthetic database and its indexed known-variants VCF into --cache, later
// starts load them, and the samples bracket the free limit.
func TestDefaultReferenceBuiltOnceAndSamples(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := time.Now()
	r1, close1, err := localReference(ctx, serveConfig{Cache: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer close1()
	t.Logf("first start (build + load): %v", time.Since(start).Round(time.Millisecond))
	var stats []os.FileInfo
	for _, name := range []string{"synthetic-small-v3.gasdb", "synthetic-small-v3-known.vcf.gz", "synthetic-small-v3-known.vcf.gz.tbi"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s not built: %v", name, err)
		}
		stats = append(stats, st)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	start = time.Now()
	r2, close2, err := localReference(ctx, serveConfig{Cache: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer close2()
	t.Logf("later start (load): %v", time.Since(start).Round(time.Millisecond))
	for i, name := range []string{"synthetic-small-v3.gasdb", "synthetic-small-v3-known.vcf.gz", "synthetic-small-v3-known.vcf.gz.tbi"} {
		st, _ := os.Stat(filepath.Join(dir, name))
		if !stats[i].ModTime().Equal(st.ModTime()) {
			t.Fatalf("%s rebuilt on second start", name)
		}
	}
	if r1.Engines[0].Reference() != syntheticName || r2.Engines[0].Reference() != syntheticName {
		t.Fatalf("reference %q", r1.Engines[0].Reference())
	}
	if want := filepath.Join(dir, "synthetic-small-v3-known.vcf.gz"); r1.Known[0] != want || r2.Known[0] != want {
		t.Fatalf("known-variants source %q, %q; want the recorded %s", r1.Known, r2.Known, want)
	}
	if len(r1.Samples) != 3 {
		t.Fatalf("%d samples", len(r1.Samples))
	}
	const limit = 150 << 10
	if r1.Samples[0].Size() >= limit || r1.Samples[1].Size() >= limit || r1.Samples[2].Size() <= limit || r1.Samples[2].Size() > limit+100 {
		t.Fatalf("sample sizes %d %d %d around %d", r1.Samples[0].Size(), r1.Samples[1].Size(), r1.Samples[2].Size(), limit)
	}
	for i := range r1.Samples {
		if string(r1.Samples[i].Data) != string(r2.Samples[i].Data) {
			t.Fatal("samples are not deterministic")
		}
	}

	// A missing index (or known file) is rebuilt on the next start; the
	// database is left alone.
	os.Remove(filepath.Join(dir, "synthetic-small-v3-known.vcf.gz.tbi"))
	r3, close3, err := localReference(ctx, serveConfig{Cache: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer close3()
	if _, err := os.Stat(filepath.Join(dir, "synthetic-small-v3-known.vcf.gz.tbi")); err != nil {
		t.Fatalf("index not rebuilt: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "synthetic-small-v3.gasdb")); !stats[0].ModTime().Equal(st.ModTime()) {
		t.Fatal("database rebuilt although only the index was missing")
	}
	if string(r3.Samples[1].Data) != string(r1.Samples[1].Data) {
		t.Fatal("samples changed after rebuilding the known-variants file")
	}
}

// TestSamplesAnnotateWithKnownVariants annotates every sample with the
// default reference as local mode does: a realistic share of each is
// known, with the rsID in the ID column and KNOWN_AF in INFO, and the
// summary's Known count is exactly the generator's answer key.
func TestSamplesAnnotateWithKnownVariants(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r, closeRef, err := localReference(ctx, serveConfig{Cache: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRef()
	samples, built, err := ensureSynthetic(dir)
	if err != nil || built {
		t.Fatalf("samples: built again %v, %v", built, err)
	}
	for _, s := range samples {
		var out bytes.Buffer
		sum, err := r.Engines[0].Annotate(ctx, bytes.NewReader(s.Data), &out)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		share := float64(s.KnownRecords) / float64(s.Records)
		t.Logf("%s: %d records, %d known (%.0f%%); summary known %d of %d alleles", s.Name, s.Records, s.KnownRecords, 100*share, sum.Known, sum.Variants)
		if share < 0.3 || share > 0.6 {
			t.Errorf("%s: %.0f%% of records known, want 30-60%%", s.Name, 100*share)
		}
		// The answer key is exact, and so is the matcher (known alleles
		// written with extra left padding included).
		if sum.Known == 0 || sum.Known != int64(s.KnownAlleles) {
			t.Errorf("%s: summary Known %d, want the answer key's %d", s.Name, sum.Known, s.KnownAlleles)
		}
		if rate := sum.KnownRate(); rate < 0.3 || rate > 0.6 {
			t.Errorf("%s: known-variant rate %.2f, want 0.3-0.6", s.Name, rate)
		}
		if !strings.Contains(s.Description, "known") {
			t.Errorf("%s: description %q does not mention the known share", s.Name, s.Description)
		}
		var withID, withAF int
		for line := range strings.Lines(out.String()) {
			if strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Split(line, "\t")
			if strings.HasPrefix(f[2], "rs") {
				withID++
				if !strings.Contains(f[7], "KNOWN_AF=") {
					t.Fatalf("%s: known record without KNOWN_AF: %s", s.Name, line)
				}
			}
			if strings.Contains(f[7], "KNOWN_AF=") {
				withAF++
			}
		}
		if withID != s.KnownRecords || withAF < withID {
			t.Errorf("%s: %d records got an rsID and %d KNOWN_AF, want %d", s.Name, withID, withAF, s.KnownRecords)
		}
	}
}

// TestServeDBHonoursRecordedKnownVariants: `gas serve --db` uses the
// known-variants source the database recorded (and --known overrides or,
// with "none", turns it off), like `gas annotate --db`.
func TestServeDBHonoursRecordedKnownVariants(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db := filepath.Join(dir, syntheticDB)
	knownPath := filepath.Join(dir, syntheticKnown)
	samples, _, err := ensureSynthetic(dir)
	if err != nil {
		t.Fatal(err)
	}
	sample := samples[0].Data
	for _, c := range []struct {
		known, want string
	}{{"", knownPath}, {knownPath, knownPath}, {"none", ""}} {
		r, closeRef, err := localReference(ctx, serveConfig{DBs: []string{db}, Known: c.known})
		if err != nil {
			t.Fatalf("--known %q: %v", c.known, err)
		}
		sum, err := r.Engines[0].Annotate(ctx, bytes.NewReader(sample), io.Discard)
		closeRef()
		if err != nil {
			t.Fatal(err)
		}
		if r.Known[0] != c.want || (sum.Known > 0) != (c.want != "") || len(r.Samples) != 0 {
			t.Fatalf("--known %q: source %q, %d known, %d samples", c.known, r.Known, sum.Known, len(r.Samples))
		}
	}
	if _, _, err := localReference(ctx, serveConfig{DBs: []string{db}, Known: filepath.Join(dir, "missing.vcf.gz")}); err == nil {
		t.Fatal("a missing --known file was accepted")
	}
	// A database whose recorded source is gone still serves, without
	// known variants.
	moved := filepath.Join(t.TempDir(), "moved.gasdb")
	b, _ := os.ReadFile(db)
	os.WriteFile(moved, b, 0o644)
	r, closeRef, err := localReference(ctx, serveConfig{DBs: []string{moved}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRef()
	if r.Known[0] != "" {
		t.Fatalf("known source %q for a database moved away from it", r.Known)
	}
}

// TestLocalModeAnnotatesKnownVariants runs local mode in-process (the
// wiring `gas serve` uses), submits the upload page's small sample through
// the API and checks the result: rsIDs in the ID column with KNOWN_AF, a
// summary with Known > 0, and a detail page whose known filter finds them.
func TestLocalModeAnnotatesKnownVariants(t *testing.T) {
	cfg, err := parseServe([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--workers", "1", "--quiet"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, cleanup, err := initLocal(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("local mode stopped with %v", err)
		}
		cleanup()
	}()
	base := app.Settings.BaseURL
	c := signInForLoad(t, base, "known@example.org", false)
	get := func(path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, sample := get("/samples/sample-small.vcf")
	if code != http.StatusOK || !bytes.HasPrefix(sample, []byte("##fileformat=VCF")) {
		t.Fatalf("sample download: %d %.80q", code, sample)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "sample-small.vcf")
	fw.Write(sample)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/jobs", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var job struct{ ID, Status string }
	json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || job.ID == "" {
		t.Fatalf("submit: %s %+v", resp.Status, job)
	}
	deadline := time.Now().Add(30 * time.Second)
	for job.Status != "COMPLETED" {
		if job.Status == "FAILED" || time.Now().After(deadline) {
			t.Fatalf("job %s is %s", job.ID, job.Status)
		}
		time.Sleep(50 * time.Millisecond)
		_, b := get("/api/v1/jobs/" + job.ID)
		json.Unmarshal(b, &job)
	}
	_, b := get("/api/v1/jobs/" + job.ID + "/summary")
	var sum struct{ Variants, Known int64 }
	if err := json.Unmarshal(b, &sum); err != nil || sum.Known == 0 || sum.Variants == 0 {
		t.Fatalf("summary: known %d of %d (%v): %.200s", sum.Known, sum.Variants, err, b)
	}
	_, vcf := get("/api/v1/jobs/" + job.ID + "/result")
	if !bytes.Contains(vcf, []byte("##INFO=<ID=KNOWN_AF")) {
		t.Fatalf("result VCF does not declare KNOWN_AF:\n%.600s", vcf)
	}
	var withID int64
	for line := range strings.Lines(string(vcf)) {
		f := strings.Split(line, "\t")
		if len(f) > 7 && strings.HasPrefix(f[2], "rs") && strings.Contains(f[7], "KNOWN_AF=") {
			withID++
		}
	}
	if withID == 0 || withID > sum.Known {
		t.Fatalf("%d records with an rsID and KNOWN_AF; summary says %d known alleles", withID, sum.Known)
	}
	// The detail page shows the count, and its known filter lists rows.
	_, page := get("/annotations/" + job.ID)
	if !bytes.Contains(page, fmt.Appendf(nil, "<dt>Known</dt><dd>%d ", sum.Known)) {
		t.Fatalf("detail page does not show %d known variants", sum.Known)
	}
	// A known row's Known cell names its rsID (or says yes); a novel one
	// says novel.
	_, filtered := get("/annotations/" + job.ID + "?known=known")
	novel := []byte(`<span class="muted">novel</span>`)
	if n := bytes.Count(filtered, []byte(`<td><span class="mono small">rs`)) + bytes.Count(filtered, []byte("<td>yes</td>")); n == 0 || bytes.Contains(filtered, novel) {
		t.Fatalf("known filter: %d known rows (novel rows present: %v)", n, bytes.Contains(filtered, novel))
	}
	if _, all := get("/annotations/" + job.ID); !bytes.Contains(all, novel) {
		t.Fatal("the unfiltered table shows no novel row: the known filter test proves nothing")
	}
	t.Logf("local mode: %d of %d alleles known, %d records with rsID + KNOWN_AF", sum.Known, sum.Variants, withID)
}

// TestSpareProcAddsOneUnlessSet: local mode runs one P more than CPUs
// (see spareProc), but GOMAXPROCS set by the operator wins.
func TestSpareProcAddsOneUnlessSet(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	before := runtime.GOMAXPROCS(0)
	spareProc()
	if got := runtime.GOMAXPROCS(0); got != before+1 {
		t.Fatalf("GOMAXPROCS %d after spareProc, want %d", got, before+1)
	}
	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	spareProc()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d after spareProc with GOMAXPROCS=1 set, want 1", got)
	}
}
