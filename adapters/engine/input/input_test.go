package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/ports"
)

func vcfText(n int) []byte {
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "chr1\t%d\t.\tA\tG\t50\tPASS\tDP=%d\n", 1000+i*7, i%90)
	}
	return b.Bytes()
}

func gz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func bgz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := bgzf.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(t testing.TB, data []byte, l Limits) ([]byte, Format, error) {
	t.Helper()
	rc, err := Open(bytes.NewReader(data), l)
	if err != nil {
		return nil, Plain, err
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	return got, rc.(*Stream).Format(), err
}

func TestFormats(t *testing.T) {
	data := vcfText(20000)
	half := len(data) / 2
	multi := append(gz(data[:half]), gz(data[half:])...)
	cases := []struct {
		name string
		in   []byte
		want Format
	}{
		{"plain", data, Plain},
		{"gzip", gz(data), Gzip},
		{"multi-member gzip", multi, Gzip},
		{"bgzf", bgz(t, data), BGZF},
		{"concatenated bgzf", append(bgz(t, data[:half]), bgz(t, data[half:])...), BGZF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, f, err := readAll(t, c.in, Limits{MaxInflated: int64(len(data))})
			if err != nil {
				t.Fatal(err)
			}
			if f != c.want {
				t.Errorf("format %v want %v", f, c.want)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("content differs (%d vs %d bytes)", len(got), len(data))
			}
		})
	}
	got, f, err := readAll(t, nil, Limits{})
	if err != nil || f != Plain || len(got) != 0 {
		t.Errorf("empty input: %v %v %d", err, f, len(got))
	}
	// BOM and CRLF pass through untouched
	in := []byte("\ufeff##fileformat=VCFv4.2\r\n")
	got, _, _ = readAll(t, gz(in), Limits{})
	if !bytes.Equal(got, in) {
		t.Errorf("bytes were altered: %q", got)
	}
}

func TestLimit(t *testing.T) {
	data := vcfText(5000)
	for name, in := range map[string][]byte{"plain": data, "gzip": gz(data), "bgzf": bgz(t, data)} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := readAll(t, in, Limits{MaxInflated: int64(len(data))}); err != nil {
				t.Fatalf("exactly at the limit: %v", err)
			}
			got, _, err := readAll(t, in, Limits{MaxInflated: int64(len(data)) - 1})
			if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ports.ErrBadInput) {
				t.Fatalf("one byte over: got %v", err)
			}
			if len(got) != len(data)-1 {
				t.Errorf("delivered %d bytes before refusing, want %d", len(got), len(data)-1)
			}
		})
	}
}

// TestBombRefusedEarly: a small gzip that inflates hugely is refused as soon
// as it crosses the limit, having read only a little of the compressed input.
func TestBombRefusedEarly(t *testing.T) {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 256; i++ { // 256 MiB of zeros, ~260 KB compressed
		w.Write(zeros)
	}
	w.Close()
	bomb := b.Bytes()
	src := &countingReader{r: bytes.NewReader(bomb)}
	rc, err := Open(src, Limits{MaxInflated: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if n != 1<<20 {
		t.Errorf("delivered %d bytes, want exactly the limit", n)
	}
	if src.n > 128<<10 {
		t.Errorf("read %d of %d compressed bytes before refusing; should stop early", src.n, len(bomb))
	}
	if !strings.Contains(err.Error(), "1048576") {
		t.Errorf("message should name the limit: %v", err)
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	data := vcfText(30000)
	g := gz(data)
	bz := bgz(t, data)
	eof := len(bgzf.EOFBlock())
	cases := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"gzip cut", g[:len(g)/2], ErrTruncated, "gzip stream truncated after"},
		{"gzip cut in trailer", g[:len(g)-3], ErrTruncated, "gzip stream truncated after"},
		{"gzip cut in header", g[:5], ErrTruncated, "truncated"},
		{"bgzf cut mid-block", bz[:len(bz)/2], ErrTruncated, "BGZF stream truncated after"},
		{"bgzf cut at block boundary", bz[:len(bz)-eof], ErrTruncated, "end-of-file block"},
		{"gzip corrupt", flip(g, len(g)/2), ErrCorrupt, "damaged"},
		{"bgzf corrupt", flip(bz, len(bz)/2), ErrCorrupt, "damaged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(t, c.in, Limits{})
			if !errors.Is(err, c.want) || !errors.Is(err, ports.ErrBadInput) {
				t.Fatalf("got %v want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q lacks %q", err, c.msg)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x55
	return c
}

// FuzzOpen: any input either decodes or fails with one of the package's
// sentinels; never a panic, never more than the limit.
func FuzzOpen(f *testing.F) {
	data := vcfText(50)
	f.Add(data)
	f.Add(gz(data))
	f.Add(bgz(f, data))
	f.Add(gz(data)[:40])
	f.Add(bgz(f, data)[:30])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 4096
		rc, err := Open(bytes.NewReader(in), Limits{MaxInflated: max})
		if err != nil {
			if !errors.Is(err, ports.ErrBadInput) {
				t.Fatalf("Open error not a bad-input error: %v", err)
			}
			return
		}
		defer rc.Close()
		n, err := io.Copy(io.Discard, rc)
		if n > max {
			t.Fatalf("delivered %d > limit", n)
		}
		if err != nil && !errors.Is(err, ports.ErrBadInput) {
			t.Fatalf("read error not a bad-input error: %v", err)
		}
	})
}
