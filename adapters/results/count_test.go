package results

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// lineStarts is the reference count: each line's first byte looked at.
func lineStarts(vcf []byte) int64 {
	var n int64
	for _, line := range bytes.SplitAfter(vcf, []byte("\n")) {
		if len(line) > 0 && line[0] != '#' && line[0] != '\n' && line[0] != '\r' {
			n++
		}
	}
	return n
}

// TestRecordCounterCountsLineStarts: over reads of any size, with header
// lines, blank lines (LF and CRLF) and lines cut between reads, the count
// is the reference's, and a limit fails the read in which the next record
// starts — not before, not after.
func TestRecordCounterCountsLineStarts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"##fileformat=VCFv4.2\n", "#CHROM\tPOS\n", "chr1\t10\t.\tA\tT\t.\t.\t.\n", "chr1\t11\t.\tA\tT\t.\t.\t.\r\n",
		"\n", "\r\n", "\n\n\n", "chr2\t5\t.\tG\tC\t.\t.\tX=#1\n", "c\n"}
	for trial := range 300 {
		var vcf bytes.Buffer
		for range rng.IntN(200) {
			vcf.WriteString(pieces[rng.IntN(len(pieces))])
		}
		if rng.IntN(2) == 0 {
			vcf.WriteString("chr3\t1\t.\tA\tC") // no final newline
		}
		b := vcf.Bytes()
		want := lineStarts(b)
		for _, max := range []int64{0, want, want - 1, want / 2} {
			c := &recordCounter{r: iotest.OneByteReader(bytes.NewReader(b)), max: max, start: true}
			if trial%2 == 0 {
				c.r = &randomReads{b: b, rng: rng}
			}
			got, err := io.ReadAll(c)
			switch {
			case max <= 0 || want <= max:
				if err != nil || !bytes.Equal(got, b) || (max > 0 && c.n != want) {
					t.Fatalf("trial %d, max %d: read %d of %d bytes, counted %d of %d (%v)", trial, max, len(got), len(b), c.n, want, err)
				}
			case !errors.Is(err, errTooManyRecords) || lineStarts(got) > max || (trial%2 == 1 && lineStarts(got) != max):
				t.Fatalf("trial %d, max %d of %d: %v after %d records", trial, max, want, err, lineStarts(got))
			}
		}
	}
}

// randomReads hands out b in reads of random sizes.
type randomReads struct {
	b   []byte
	rng *rand.Rand
}

func (r *randomReads) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+r.rng.IntN(40))], r.b)
	r.b = r.b[n:]
	return n, nil
}
