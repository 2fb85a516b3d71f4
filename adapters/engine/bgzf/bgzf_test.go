package bgzf

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testData makes compressible text-like data with some random runs.
func testData(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(10) == 0 {
			for i := 0; i < 200; i++ {
				b.WriteByte(byte(rng.Uint32()))
			}
		} else {
			fmt.Fprintf(&b, "chr%d\t%d\t.\tA\tG\t50\tPASS\tDP=%d\n", rng.IntN(3)+1, rng.IntN(1e6), rng.IntN(100))
		}
	}
	return b.Bytes()[:n]
}

func compress(t testing.TB, data []byte, opts ...WriterOption) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// write in odd-sized pieces to exercise buffering
	for p := data; len(p) > 0; {
		k := min(len(p), 7777)
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, BlockDataSize - 1, BlockDataSize, BlockDataSize + 1, 1 << 20} {
		data := testData(n, uint64(n))
		for _, ww := range []int{1, 3} {
			for _, rw := range []int{1, 3} {
				t.Run(fmt.Sprintf("n%d_w%d_r%d", n, ww, rw), func(t *testing.T) {
					z := compress(t, data, WithWriterWorkers(ww))
					if !bytes.HasSuffix(z, eofBlock) {
						t.Fatal("no EOF block at end")
					}
					r := NewReader(bytes.NewReader(z), WithWorkers(rw))
					defer r.Close()
					got, err := io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("round trip differs: got %d bytes want %d", len(got), len(data))
					}
					if !r.EOFMarker() {
						t.Error("EOF marker not detected")
					}
					// the standard library gzip reader must accept it too
					gz, err := gzip.NewReader(bytes.NewReader(z))
					if err != nil {
						t.Fatal(err)
					}
					got2, err := io.ReadAll(gz)
					if err != nil || !bytes.Equal(got2, data) {
						t.Fatalf("compress/gzip disagrees: %v", err)
					}
				})
			}
		}
	}
}

func TestIncompressibleBlocksFit(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	data := make([]byte, 5*BlockDataSize+17)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	z := compress(t, data, WithLevel(9))
	got, err := io.ReadAll(NewReader(bytes.NewReader(z)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("incompressible round trip: %v", err)
	}
}

func TestMissingEOFMarker(t *testing.T) {
	data := testData(200000, 3)
	z := compress(t, data)
	cut := z[:len(z)-len(eofBlock)]
	r := NewReader(bytes.NewReader(cut))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read without EOF marker: %v", err)
	}
	if r.EOFMarker() {
		t.Error("EOFMarker true on a stream without the EOF block")
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	data := testData(300000, 4)
	z := compress(t, data)
	for _, rw := range []int{1, 4} {
		_, err := io.ReadAll(NewReader(bytes.NewReader(z[:len(z)/2]), WithWorkers(rw)))
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("workers %d: truncated stream: got %v, want ErrTruncated", rw, err)
		}
		bad := append([]byte(nil), z...)
		bad[100] ^= 0xff
		_, err = io.ReadAll(NewReader(bytes.NewReader(bad), WithWorkers(rw)))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("workers %d: corrupt stream: got %v, want ErrCorrupt", rw, err)
		}
	}
	var plain bytes.Buffer
	gz := gzip.NewWriter(&plain)
	gz.Write(data)
	gz.Close()
	_, err := io.ReadAll(NewReader(bytes.NewReader(plain.Bytes())))
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("plain gzip: got %v, want ErrCorrupt", err)
	}
	if IsBGZFHeader(plain.Bytes()) || !IsBGZFHeader(z) {
		t.Error("IsBGZFHeader misclassifies")
	}
}

func TestReadLineAndSeek(t *testing.T) {
	var src bytes.Buffer
	var lines []string
	for i := 0; src.Len() < 400000; i++ {
		l := fmt.Sprintf("line %d %s", i, bytes.Repeat([]byte{'x'}, i%300))
		lines = append(lines, l)
		src.WriteString(l + "\n")
	}
	long := string(bytes.Repeat([]byte("L"), 3*BlockDataSize)) // spans blocks
	lines = append(lines, long, "last-without-newline")
	src.WriteString(long + "\nlast-without-newline")
	z := compress(t, src.Bytes(), WithWriterWorkers(2))

	for _, rw := range []int{1, 2} {
		r := NewReader(bytes.NewReader(z), WithWorkers(rw))
		var offs []VirtualOffset
		for i := 0; ; i++ {
			l, v, err := r.ReadLine()
			if err == io.EOF {
				if i != len(lines) {
					t.Fatalf("got %d lines want %d", i, len(lines))
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(l) != lines[i] {
				t.Fatalf("line %d differs", i)
			}
			offs = append(offs, v)
		}
		// random access back to every 97th line
		for i := len(offs) - 1; i >= 0; i -= 97 {
			if err := r.Seek(offs[i]); err != nil {
				t.Fatal(err)
			}
			l, v, err := r.ReadLine()
			if err != nil || string(l) != lines[i] || v != offs[i] {
				t.Fatalf("after seek to %s: line %q.. err %v", offs[i], truncate(string(l)), err)
			}
		}
		r.Close()
	}
}

func truncate(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func TestReadLineLimit(t *testing.T) {
	z := compress(t, bytes.Repeat([]byte("x"), 300000))
	r := NewReader(bytes.NewReader(z), WithMaxLine(100000))
	if _, _, err := r.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("got %v want ErrLineTooLong", err)
	}
}

// TestHTSlibInterop checks our output with bgzip -t and reads bgzip's output.
func TestHTSlibInterop(t *testing.T) {
	bgzip, err := exec.LookPath("bgzip")
	if err != nil {
		t.Skip("bgzip (Debian package tabix) not installed; skipping htslib interop check")
	}
	dir := t.TempDir()
	data := testData(700000, 5)
	ours := filepath.Join(dir, "ours.gz")
	if err := os.WriteFile(ours, compress(t, data), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bgzip, "-t", ours).CombinedOutput(); err != nil {
		t.Fatalf("bgzip -t rejects our output: %v %s", err, out)
	}
	out, err := exec.Command(bgzip, "-dc", ours).Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("bgzip -d of our output differs: %v", err)
	}
	plain := filepath.Join(dir, "theirs")
	os.WriteFile(plain, data, 0o644)
	if out, err := exec.Command(bgzip, "-f", plain).CombinedOutput(); err != nil {
		t.Fatalf("bgzip: %v %s", err, out)
	}
	z, _ := os.ReadFile(plain + ".gz")
	r := NewReader(bytes.NewReader(z))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) || !r.EOFMarker() {
		t.Fatalf("reading bgzip output: %v eof=%v", err, r.EOFMarker())
	}
}

func BenchmarkReader(b *testing.B) {
	data := testData(32<<20, 1)
	z := compress(b, data)
	for _, w := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers%d", w), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				r := NewReader(bytes.NewReader(z), WithWorkers(w))
				io.Copy(io.Discard, r)
				r.Close()
			}
		})
	}
}

func BenchmarkWriter(b *testing.B) {
	data := testData(32<<20, 1)
	for _, w := range []int{1, 2} {
		for _, lvl := range []int{1, 6} {
			b.Run(fmt.Sprintf("workers%d_level%d", w, lvl), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					zw, _ := NewWriter(io.Discard, WithWriterWorkers(w), WithLevel(lvl))
					zw.Write(data)
					zw.Close()
				}
			})
		}
	}
}

// stallReader yields data then blocks until released, like a stalled upload.
type stallReader struct {
	data    []byte
	release chan struct{}
}

func (s *stallReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		<-s.release
		return 0, io.EOF
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

func TestCloseDoesNotWaitForStalledSource(t *testing.T) {
	z := compress(t, testData(3*BlockDataSize, 8))
	src := &stallReader{data: z[:len(z)/2], release: make(chan struct{})}
	defer close(src.release)
	r := NewReader(src, WithWorkers(2))
	buf := make([]byte, 1000)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked on a stalled source")
	}
}
