package fasta

import (
	"bytes"
	"fmt"
	"io"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
)

// Load streams a FASTA and stores into ref the sequence of the regions
// NeededRegions asks for; sequence names unknown to ref are skipped, and
// chromosome lengths are recorded for every known name. A genome of at
// most WholeGenomeLimit bases is kept whole, as LoadIndexed keeps it, so a
// reference gives the same annotations whether or not its FASTA has a .fai.
func Load(r io.Reader, ref *model.Reference, opt Options) error {
	l := &streamLoader{ref: ref, need: ref.NeededRegions(), cur: -1, seen: map[string]bool{}, keepWhole: true}
	lr := lineio.NewReader(r, opt.MaxLine)
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		var msg string
		switch {
		case len(line) == 0 || line[0] == ';':
		case line[0] == '>':
			msg = l.header(line)
		case !l.sawHeader:
			msg = "sequence data before the first '>' header"
		default:
			msg = l.sequence(line)
		}
		if msg != "" {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "%s", msg))
		}
	}
	l.finish()
	if !l.sawHeader {
		return fmt.Errorf("%w: no '>' sequence header found", ErrFormat)
	}
	ref.CheckCodons()
	return nil
}

// streamLoader is the state of one Load. Until the genome proves larger
// than WholeGenomeLimit, every known sequence is kept whole (whole holds
// the current one); then what was kept is cut down to the needed regions
// and the rest is copied region by region as it streams past.
type streamLoader struct {
	ref       *model.Reference
	need      [][]model.Range
	seen      map[string]bool
	sawHeader bool
	keepWhole bool
	total     int64 // bases read so far, all sequences

	cur   int32           // reference index of the current sequence (-1: unknown)
	pos   int32           // bases of the current sequence read so far
	regs  []model.Range   // its needed regions
	ri    int             // the first of regs not yet passed
	segs  []model.Segment // what was kept of it, region by region
	whole []byte          // all of it, while kept whole
	up    []byte          // the current line, checked and upper-cased
}

// header starts the sequence named on a '>' line.
func (l *streamLoader) header(line []byte) string {
	l.finish()
	l.sawHeader = true
	name := line[1:]
	if i := bytes.IndexAny(name, " \t"); i >= 0 {
		name = name[:i]
	}
	if len(name) == 0 {
		return "sequence header without a name"
	}
	if l.seen[string(name)] {
		return fmt.Sprintf("sequence %q appears twice", name)
	}
	l.seen[string(name)] = true
	l.pos, l.ri = 0, 0
	if ci, ok := l.ref.Chrom(string(name)); ok {
		l.cur, l.regs = ci, l.need[ci]
		l.ref.Chroms[ci].Segments = l.ref.Chroms[ci].Segments[:0]
	} else {
		l.cur, l.regs = -1, nil
	}
	return ""
}

// finish stores what was kept of the current sequence and its length.
func (l *streamLoader) finish() {
	if l.cur >= 0 {
		c := &l.ref.Chroms[l.cur]
		c.Length = l.pos
		if l.keepWhole {
			if n := len(l.whole); n > 0 {
				c.Segments = append(c.Segments, model.Segment{Start: 1, Seq: l.whole[:n:n]})
				// the next sequence likely has a similar length
				l.whole = make([]byte, 0, n+n/8)
			}
		} else {
			c.Segments = append(c.Segments, l.segs...)
		}
	}
	l.segs = nil
}

// sequence takes one line of bases.
func (l *streamLoader) sequence(line []byte) string {
	if cap(l.up) < len(line) {
		l.up = make([]byte, len(line))
	}
	up := l.up[:len(line)]
	if i := upperBases(up, line); i >= 0 {
		return fmt.Sprintf("character %q is not a nucleotide code", line[i])
	}
	start := l.pos + 1
	l.pos += int32(len(line))
	l.total += int64(len(line))
	if l.keepWhole && l.total > WholeGenomeLimit {
		l.stopKeepingWhole(start)
	}
	switch {
	case l.cur < 0:
	case l.keepWhole:
		if l.whole == nil {
			l.whole = make([]byte, 0, 1<<20)
		}
		l.whole = append(l.whole, up...)
	default:
		l.keepRegions(up, start)
	}
	return ""
}

// stopKeepingWhole cuts the sequences kept so far down to their needed
// regions: the finished ones, and the current one up to position start-1.
func (l *streamLoader) stopKeepingWhole(start int32) {
	l.keepWhole = false
	for ci := range l.ref.Chroms {
		if int32(ci) != l.cur {
			cutToRegions(&l.ref.Chroms[ci], l.need[ci])
		}
	}
	if l.cur >= 0 {
		l.segs = regionsOf(l.whole, l.need[l.cur], start-1)
	}
	l.whole = nil
}

// keepRegions copies the parts of line (positions start..l.pos) that fall
// inside the needed regions.
func (l *streamLoader) keepRegions(up []byte, start int32) {
	regs := l.regs
	for l.ri < len(regs) && regs[l.ri].End < start {
		l.ri++
	}
	for k := l.ri; k < len(regs) && regs[k].Start <= l.pos; k++ {
		rg := regs[k]
		a, b := max(rg.Start, start), min(rg.End, l.pos)
		if a > b {
			continue
		}
		chunk := up[a-start : b-start+1]
		// a region that began on an earlier line was opened there;
		// regions are disjoint, so Start tells them apart
		if n := len(l.segs); n > 0 && l.segs[n-1].Start == rg.Start {
			l.segs[n-1].Seq = append(l.segs[n-1].Seq, chunk...)
		} else {
			l.segs = append(l.segs, model.Segment{Start: a, Seq: append(make([]byte, 0, rg.Len()), chunk...)})
		}
	}
}

// regionsOf copies out of seq (positions 1..len) the parts of regions
// that lie at or before position upto, as segments of their own storage.
func regionsOf(seq []byte, regions []model.Range, upto int32) []model.Segment {
	var segs []model.Segment
	for _, rg := range regions {
		if rg.Start > upto || int(rg.Start) > len(seq) {
			break
		}
		b := min(min(rg.End, upto), int32(len(seq)))
		part := append(make([]byte, 0, rg.Len()), seq[rg.Start-1:b]...)
		segs = append(segs, model.Segment{Start: rg.Start, Seq: part})
	}
	return segs
}

// cutToRegions replaces a chromosome kept whole by its needed regions.
func cutToRegions(c *model.Chromosome, regions []model.Range) {
	if len(c.Segments) != 1 || c.Segments[0].Start != 1 {
		return
	}
	c.Segments = regionsOf(c.Segments[0].Seq, regions, 1<<31-1)
}
