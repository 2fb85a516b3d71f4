package bgzf

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader: arbitrary bytes either read cleanly or fail with one of the
// package's sentinels, synchronously and in parallel, never panicking.
func FuzzReader(f *testing.F) {
	z := compress(f, testData(100000, 7))
	f.Add(z)
	f.Add(z[:len(z)/2])
	f.Add(EOFBlock())
	f.Add([]byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 'B', 'C', 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, w := range []int{1, 2} {
			r := NewReader(bytes.NewReader(in), WithWorkers(w), WithMaxLine(1<<20))
			for {
				_, _, err := r.ReadLine()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLineTooLong) {
						t.Fatalf("unexpected error kind: %v", err)
					}
					break
				}
			}
			r.Close()
		}
	})
}
