package download

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBSDSumMatchesSumCommand(t *testing.T) {
	sum, err := exec.LookPath("sum")
	if err != nil {
		t.Skip("sum (coreutils) not installed; skipping the BSD sum cross-check")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 1023, 1024, 1025, 300001} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		path := filepath.Join(t.TempDir(), "f")
		os.WriteFile(path, data, 0o644)
		out, err := exec.Command(sum, "-r", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		s, b, _ := BSDSumOf(bytes.NewReader(data))
		f := strings.Fields(string(out))
		if got := fmt.Sprintf("%05d %d", s, b); f[0]+" "+strings.TrimLeft(f[1], " ") != got {
			t.Errorf("n=%d: ours %s, sum -r %s %s", n, got, f[0], f[1])
		}
	}
}

func TestLayouts(t *testing.T) {
	p, err := Ensembl("", "GRCh38", 113, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"https://ftp.ensembl.org/pub/release-113/gff3/homo_sapiens/Homo_sapiens.GRCh38.113.gff3.gz",
		"https://ftp.ensembl.org/pub/release-113/gff3/homo_sapiens/CHECKSUMS",
		"https://ftp.ensembl.org/pub/release-113/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz",
		"https://ftp.ensembl.org/pub/release-113/fasta/homo_sapiens/dna/CHECKSUMS",
		"https://ftp.ensembl.org/pub/release-113/variation/vcf/homo_sapiens/homo_sapiens.vcf.gz",
	}
	got := []string{p.GFF3.URL, p.GFF3.ChecksumURL, p.FASTA.URL, p.FASTA.ChecksumURL, p.Known.URL}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Ensembl GRCh38 layout:\n%s", strings.Join(got, "\n"))
	}
	p, _ = Ensembl("http://mirror/x/", "GRCh37", 87, false)
	if p.GFF3.URL != "http://mirror/x/grch37/release-87/gff3/homo_sapiens/Homo_sapiens.GRCh37.87.gff3.gz" || p.Label != "ensembl-GRCh37-87" {
		t.Errorf("Ensembl GRCh37 layout: %s %s", p.GFF3.URL, p.Label)
	}
	p, _ = Gencode("", "GRCh38", 47)
	if p.GFF3.URL != GencodeBase+"/release_47/gencode.v47.annotation.gff3.gz" ||
		p.FASTA.URL != GencodeBase+"/release_47/GRCh38.primary_assembly.genome.fa.gz" ||
		p.GFF3.ChecksumURL != GencodeBase+"/release_47/MD5SUMS" {
		t.Errorf("GENCODE layout: %+v", p)
	}
	p, _ = Gencode("", "GRCh37", 47)
	if p.GFF3.URL != GencodeBase+"/release_47/GRCh37_mapping/gencode.v47lift37.annotation.gff3.gz" {
		t.Errorf("GENCODE GRCh37 layout: %s", p.GFF3.URL)
	}
	for _, bad := range []func() error{
		func() error { _, err := Ensembl("", "hg19", 100, false); return err },
		func() error { _, err := Ensembl("", "GRCh37", 75, false); return err },
		func() error { _, err := Gencode("", "GRCh38", 3); return err },
	} {
		if err := bad(); !errors.Is(err, ErrLayout) {
			t.Errorf("bad layout accepted: %v", err)
		}
	}
}

// tree is a tiny provider mirror: files by path, with hooks to cut a
// transfer short and to count requests.
type tree struct {
	mu       sync.Mutex
	files    map[string][]byte
	cutOnce  map[string]bool // first full GET of these paths is cut in half
	ranges   []string        // Range headers seen
	requests map[string]int
	noRange  bool // ignore Range headers (a server without resume support)
}

func (tr *tree) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	data, ok := tr.files[r.URL.Path]
	tr.requests[r.URL.Path]++
	cut := tr.cutOnce[r.URL.Path] && r.Header.Get("Range") == ""
	if cut {
		delete(tr.cutOnce, r.URL.Path)
	}
	if rg := r.Header.Get("Range"); rg != "" {
		tr.ranges = append(tr.ranges, rg)
	}
	noRange := tr.noRange
	tr.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if cut {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-transfer
	}
	if noRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func bsdLine(name string, data []byte) string {
	s, b, _ := BSDSumOf(bytes.NewReader(data))
	return fmt.Sprintf("%05d %5d %s\n", s, b, name)
}

func newTree(t *testing.T) (*tree, *httptest.Server, Plan, []byte, []byte) {
	rng := rand.New(rand.NewPCG(3, 4))
	gff := []byte(strings.Repeat("##gff-version 3\n", 2000))
	fa := make([]byte, 1<<20)
	for i := range fa {
		fa[i] = "ACGT"[rng.IntN(4)]
	}
	tr := &tree{files: map[string][]byte{}, cutOnce: map[string]bool{}, requests: map[string]int{}}
	srv := httptest.NewServer(tr)
	t.Cleanup(srv.Close)
	p, err := Ensembl(srv.URL+"/pub", "GRCh38", 110, false)
	if err != nil {
		t.Fatal(err)
	}
	path := func(u string) string { return strings.TrimPrefix(u, srv.URL) }
	tr.files[path(p.GFF3.URL)] = gff
	tr.files[path(p.GFF3.ChecksumURL)] = []byte(bsdLine("README", []byte("x")) + bsdLine(p.GFF3.Name, gff))
	tr.files[path(p.FASTA.URL)] = fa
	tr.files[path(p.FASTA.ChecksumURL)] = []byte(bsdLine(p.FASTA.Name, fa))
	return tr, srv, p, gff, fa
}

func quiet() FetcherOption { return WithLogger(slog.New(slog.DiscardHandler)) }

func TestFetchResumesAndVerifies(t *testing.T) {
	tr, srv, p, _, fa := newTree(t)
	tr.cutOnce[strings.TrimPrefix(p.FASTA.URL, srv.URL)] = true
	dir := t.TempDir()
	var progress int
	f := NewFetcher(WithAttempts(3, time.Millisecond), quiet(), WithProgress(func(string, int64, int64) { progress++ }))
	path, err := f.Fetch(context.Background(), p.FASTA, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, fa) {
		t.Fatal("resumed download differs from the source")
	}
	if len(tr.ranges) != 1 || tr.ranges[0] != fmt.Sprintf("bytes=%d-", len(fa)/2) {
		t.Errorf("resume should ask for the second half once, saw Range headers %v", tr.ranges)
	}
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Error(".part file left behind")
	}
	if progress == 0 {
		t.Error("no progress reported")
	}
	// second run: verified file kept, nothing downloaded
	before := tr.requests[strings.TrimPrefix(p.FASTA.URL, srv.URL)]
	if _, err := f.Fetch(context.Background(), p.FASTA, dir); err != nil {
		t.Fatal(err)
	}
	if tr.requests[strings.TrimPrefix(p.FASTA.URL, srv.URL)] != before {
		t.Error("a verified file was downloaded again")
	}
}

func TestFetchResumeWithoutRangeSupport(t *testing.T) {
	tr, srv, p, gff, _ := newTree(t)
	tr.noRange = true
	dir := t.TempDir()
	// a stale partial from an earlier run
	os.WriteFile(filepath.Join(dir, p.GFF3.Name+".part"), []byte("garbage"), 0o644)
	path, err := NewFetcher(quiet(), WithAttempts(2, time.Millisecond)).Fetch(context.Background(), p.GFF3, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, gff) {
		t.Fatal("download over a server without Range support differs")
	}
	_ = srv
}

func TestFetchChecksumMismatch(t *testing.T) {
	tr, srv, p, gff, _ := newTree(t)
	bad := append([]byte(nil), gff...)
	bad[10] ^= 1
	tr.files[strings.TrimPrefix(p.GFF3.ChecksumURL, srv.URL)] = []byte(bsdLine(p.GFF3.Name, bad))
	dir := t.TempDir()
	_, err := NewFetcher(quiet(), WithAttempts(2, time.Millisecond)).Fetch(context.Background(), p.GFF3, dir)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v want ErrChecksum", err)
	}
	if _, err := os.Stat(filepath.Join(dir, p.GFF3.Name)); !os.IsNotExist(err) {
		t.Error("unverified file was given its final name")
	}
}

func TestFetchMD5AndMissing(t *testing.T) {
	tr := &tree{files: map[string][]byte{}, cutOnce: map[string]bool{}, requests: map[string]int{}}
	srv := httptest.NewServer(tr)
	defer srv.Close()
	p, _ := Gencode(srv.URL+"/g", "GRCh38", 47)
	gff := []byte("##gff-version 3\n")
	m, _ := MD5Of(bytes.NewReader(gff))
	path := func(u string) string { return strings.TrimPrefix(u, srv.URL) }
	tr.files[path(p.GFF3.URL)] = gff
	tr.files[path(p.GFF3.ChecksumURL)] = []byte(m + "  " + p.GFF3.Name + "\n")
	f := NewFetcher(quiet(), WithAttempts(2, time.Millisecond))
	out, err := f.Fetch(context.Background(), p.GFF3, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, gff) {
		t.Fatal("content differs")
	}
	if _, err := f.Fetch(context.Background(), p.FASTA, t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not list") {
		t.Fatalf("a file missing from MD5SUMS: %v", err)
	}
	_ = io.Discard
}
