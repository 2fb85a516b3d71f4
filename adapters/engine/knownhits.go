package engine

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/known"
)

// knownHit is the known-variant answer for one ALT allele.
type knownHit struct {
	id    string
	af    float64
	af32  float32 // af as written (six significant digits), for the table
	hasAF bool
	ok    bool
}

// openKnown opens the known-variants matcher for one run (nil without
// Options.Known); it reads the reference for normalising indels.
func (e *Engine) openKnown() (known.Matcher, error) {
	if e.opt.Known == nil {
		return nil, nil
	}
	return e.opt.Known(known.ReferenceFunc(func(chrom string, start, end int64) []byte {
		ci, ok := e.ref.Chrom(chrom)
		if !ok {
			return nil
		}
		return e.ref.Seq(ci, int32(start), int32(end))
	}))
}

// knownHeader declares what known-variant matching adds.
const knownHeader = "##INFO=<ID=KNOWN_AF,Number=A,Type=Float,Description=\"Allele frequency of the matching known variant (GAS --known), . when unknown\">\n"

// matchKnown looks up every ALT allele of the batch, in file order, on the
// reader goroutine (sorted-merge matchers need exactly that order). A line
// with more than maxAlts alleles is not looked up: the worker refuses it.
func matchKnown(b *batch, m known.Matcher, maxAlts int) error {
	b.hits = b.hits[:0]
	b.lineStart = b.lineStart[:0]
	data := b.data
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		b.lineStart = append(b.lineStart, int32(len(b.hits)))
		var cols [5][]byte
		n := 0
		for n < 5 {
			j := bytes.IndexByte(l, '\t')
			if j < 0 {
				break
			}
			cols[n] = l[:j]
			l = l[j+1:]
			n++
		}
		if n < 5 {
			continue // malformed: the worker reports it
		}
		pos, err := strconv.ParseInt(string(cols[1]), 10, 64)
		if err != nil || bytes.Count(cols[4], []byte{','}) >= maxAlts {
			continue
		}
		for _, alt := range bytes.Split(cols[4], []byte{','}) {
			var h knownHit
			if len(alt) > 0 && !symbolic(alt) {
				hit, ok, err := m.Match(string(cols[0]), pos, string(cols[3]), string(alt))
				if err != nil {
					return fmt.Errorf("known variants: %w", err)
				}
				if ok {
					h = knownHit{id: hit.ID, af: hit.AF, hasAF: hit.HasAF, ok: true}
					if hit.HasAF {
						h.af32 = writtenAF(hit.AF)
					}
				}
			}
			b.hits = append(b.hits, h)
		}
	}
	b.lineStart = append(b.lineStart, int32(len(b.hits)))
	return nil
}

// anyHit reports whether any of the line's alleles is in the known source.
func anyHit(hits []knownHit) bool {
	for _, h := range hits {
		if h.ok {
			return true
		}
	}
	return false
}

// writtenAF is af as KNOWN_AF writes it, so the table's "AF below" filter
// and the exports agree on the boundary.
func writtenAF(af float64) float32 {
	var buf [32]byte
	v, _ := strconv.ParseFloat(string(appendAF(buf[:0], af)), 32)
	return float32(v)
}

// appendAF writes a frequency with six significant digits.
func appendAF(out []byte, af float64) []byte { return strconv.AppendFloat(out, af, 'g', 6, 64) }

// appendKnownIDs writes head with its empty ID column filled with the known
// IDs (';'-separated).
func appendKnownIDs(out, head []byte, idStart int, hits []knownHit) []byte {
	out = append(out, head[:idStart]...)
	n := 0
	for _, h := range hits {
		if h.ok && h.id != "" && h.id != "." {
			if n > 0 {
				out = append(out, ';')
			}
			out = append(out, h.id...)
			n++
		}
	}
	if n == 0 {
		out = append(out, '.')
	}
	return append(out, head[idStart+1:]...)
}

// appendKnownAF writes ";KNOWN_AF=" with one frequency per ALT allele
// ("." when unknown).
func appendKnownAF(out []byte, hits []knownHit) []byte {
	out = append(out, ";KNOWN_AF="...)
	for i, h := range hits {
		if i > 0 {
			out = append(out, ',')
		}
		if h.ok && h.hasAF {
			out = appendAF(out, h.af)
		} else {
			out = append(out, '.')
		}
	}
	return out
}
