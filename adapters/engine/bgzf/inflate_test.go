package bgzf

import (
	"bytes"
	"compress/flate"
	"io"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// stdInflate decodes with compress/flate, limited like the Reader: at most
// limit bytes of output.
func stdInflate(src []byte, limit int) ([]byte, bool) {
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(src)), int64(limit)+1))
	if err != nil || len(out) > limit {
		return nil, false
	}
	return out, true
}

// checkInflate: our inflater and compress/flate accept exactly the same
// streams (with output up to limit bytes) and agree on the output.
func checkInflate(t testing.TB, f *inflater, src []byte, limit int) {
	t.Helper()
	want, stdOK := stdInflate(src, limit)
	got, err := f.inflate(make([]byte, 0, limit), src)
	if (err == nil) != stdOK {
		t.Fatalf("inflate of %d bytes: ours err=%v, compress/flate ok=%v", len(src), err, stdOK)
	}
	if stdOK && !bytes.Equal(got, want) {
		t.Fatalf("inflate of %d bytes: %d bytes out, compress/flate %d", len(src), len(got), len(want))
	}
}

func deflateWith(t testing.TB, level int, data []byte) []byte {
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	return b.Bytes()
}

// klauspostDeflate deflates data as the Writer does.
func klauspostDeflate(t testing.TB, level int, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, err := kflate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	return b.Bytes()
}

// TestInflateMatchesCompressFlate: on streams from both encoders at every
// level, stored ones, and their truncated and corrupted forms, our
// inflater and compress/flate agree.
func TestInflateMatchesCompressFlate(t *testing.T) {
	var f inflater
	inputs := [][]byte{nil, []byte("a"), bytes.Repeat([]byte("ab"), 1000), annotatedLike(BlockDataSize, 8),
		randomBytes(BlockDataSize, 8), testData(BlockDataSize, 8), bytes.Repeat([]byte{0}, BlockDataSize)}
	for _, in := range inputs {
		streams := [][]byte{appendStored(nil, in)}
		for _, lvl := range []int{kflate.HuffmanOnly, kflate.BestSpeed, kflate.DefaultCompression} {
			streams = append(streams, klauspostDeflate(t, lvl, in))
		}
		for _, lvl := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
			streams = append(streams, deflateWith(t, lvl, in))
		}
		for _, s := range streams {
			checkInflate(t, &f, s, MaxBlockSize)
			checkInflate(t, &f, s, max(0, len(in)-1)) // output over the limit
			for _, cut := range []int{1, 2, len(s) / 2, len(s) - 1} {
				if cut > 0 && cut < len(s) {
					checkInflate(t, &f, s[:cut], MaxBlockSize) // truncated
				}
			}
			if len(s) > 10 {
				bad := append([]byte(nil), s...)
				bad[len(bad)/3] ^= 0x5a
				checkInflate(t, &f, bad, MaxBlockSize) // corrupted
			}
		}
	}
}

// FuzzInflate: on any bytes, our inflater and compress/flate agree.
func FuzzInflate(f *testing.F) {
	f.Add(klauspostDeflate(f, kflate.BestSpeed, annotatedLike(5000, 9)))
	f.Add(klauspostDeflate(f, kflate.BestSpeed, []byte("abcabcabcabcabc")))
	f.Add(appendStored(nil, []byte("stored block")))
	f.Add([]byte{0x03, 0x00}) // empty fixed block
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(testData(3000, 9))
	fw.Close()
	f.Add(b.Bytes())
	var inf inflater
	f.Fuzz(func(t *testing.T, in []byte) {
		checkInflate(t, &inf, in, MaxBlockSize)
	})
}
