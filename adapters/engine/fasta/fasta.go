// Package fasta loads the parts of a reference FASTA the annotator needs.
// Whole genomes do not fit the engine's memory budget, so callers name the
// regions they want (exons and their flanks) and only those are kept: a
// streaming pass for plain or gzip input, or random access through the .fai
// index when the FASTA is an uncompressed file.
package fasta

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrFormat marks malformed FASTA or .fai input.
var ErrFormat = errors.New("malformed FASTA")

// WholeGenomeLimit is the genome size (bases) up to which Load and
// LoadIndexed keep whole chromosomes rather than exons and their flanks.
const WholeGenomeLimit = 8 << 20

// Options tune reading.
type Options struct {
	MaxLine int
}

// seqTable maps a FASTA byte to its upper-case base, 1 for line breaks and
// 0 for bytes that may not appear in sequence.
var seqTable = func() (t [256]byte) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c)
		t[c+'a'-'A'] = byte(c)
	}
	t['*'], t['-'] = '*', '-'
	t['\n'], t['\r'] = 1, 1
	return t
}()

// upperBases writes src upper-cased into dst (as long as src) and returns
// -1, or the index of the first byte that may not appear in a sequence
// line (letters, '*', '-', and blanks, which are kept). Eight letters are
// handled at once: a genome is mostly long runs of them.
func upperBases(dst, src []byte) int {
	i := 0
	for ; i+8 <= len(src); i += 8 {
		if u, ok := upperLetters(binary.LittleEndian.Uint64(src[i:])); ok {
			binary.LittleEndian.PutUint64(dst[i:], u)
			continue
		}
		for k := i; k < i+8; k++ {
			if !upperByte(dst, src, k) {
				return k
			}
		}
	}
	for ; i < len(src); i++ {
		if !upperByte(dst, src, i) {
			return i
		}
	}
	return -1
}

func upperByte(dst, src []byte, k int) bool {
	c := src[k]
	u := seqTable[c]
	if u <= 1 {
		if c != ' ' && c != '\t' {
			return false
		}
		u = c
	}
	dst[k] = u
	return true
}

// upperLetters reports whether all eight bytes of x are ASCII letters and
// returns them upper-cased. Clearing bit 5 maps exactly the letters (and
// nothing else) into 'A'..'Z'.
func upperLetters(x uint64) (uint64, bool) {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	u := x &^ (0x20 * ones)
	// any byte below 'A', or above 'Z' (or with the high bit set)?
	below := (u - 'A'*ones) &^ u & high
	above := ((u + (0x7f-'Z')*ones) | u) & high
	return u, below|above == 0
}

// copyBases fills seq with the upper-cased bases of raw (FASTA text between
// two positions, line breaks included); raw must hold exactly len(seq)
// bases, or the index does not describe the file.
func copyBases(seq, raw []byte) error {
	k := 0
	for i := 0; i < len(raw); i++ {
		if i+8 <= len(raw) && k+8 <= len(seq) {
			if u, ok := upperLetters(binary.LittleEndian.Uint64(raw[i:])); ok {
				binary.LittleEndian.PutUint64(seq[k:], u)
				i += 7
				k += 8
				continue
			}
		}
		b := raw[i]
		u := seqTable[b]
		if u <= 1 {
			if u == 1 {
				continue // line break
			}
			return fmt.Errorf("byte %q is not a nucleotide (stale .fai?)", b)
		}
		if k == len(seq) {
			return errors.New(".fai does not match the FASTA")
		}
		seq[k] = u
		k++
	}
	if k != len(seq) {
		return errors.New(".fai does not match the FASTA")
	}
	return nil
}
