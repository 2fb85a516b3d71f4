package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/model"
)

// processor annotates batches; one per worker goroutine.
type processor struct {
	e         *Engine
	c         *csq.Caller
	ref       *model.Reference
	lastChrom []byte
	lastIdx   int32
	lastOK    bool
	refBuf    []byte // storage for an upper-cased REF (only lower-case input needs it)
	altBuf    []byte
	alleles   [][]byte
	symb      []bool // per allele: symbolic, breakend or '*'
	seq       model.SeqCursor
	batch     *batch
	lineIdx   int
}

// hits returns the known-variant answers of the current line (nil if none).
func (p *processor) hits() []knownHit {
	b := p.batch
	if b == nil || p.lineIdx+1 >= len(b.lineStart) {
		return nil
	}
	return b.hits[b.lineStart[p.lineIdx]:b.lineStart[p.lineIdx+1]]
}

func newProcessor(e *Engine) *processor {
	return &processor{e: e, c: csq.NewCallerWith(e.ref, e.labels), ref: e.ref, lastIdx: -1}
}

// lineErr is a malformed-line problem found while processing.
type lineErr struct{ msg string }

func (p *processor) process(b *batch) {
	out := b.out[:0]
	data := b.data
	line := b.firstLine - 1
	st := b.stats
	p.batch = b
	p.lineIdx = -1
	for len(data) > 0 {
		p.lineIdx++
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		line++
		if n := len(l); n > 0 && l[n-1] == '\r' {
			l = l[:n-1]
		}
		if len(l) == 0 {
			continue
		}
		if len(l) > p.e.opt.MaxLine {
			if p.fail(b, st, line, fmt.Sprintf("line longer than %d bytes", p.e.opt.MaxLine)) {
				b.out = out
				return
			}
			continue
		}
		var msg string
		out, msg = p.record(out, l, st)
		if msg != "" {
			if p.fail(b, st, line, msg) {
				b.out = out
				return
			}
		}
	}
	b.out = out
}

// fail records a malformed line; it reports whether processing must stop.
func (p *processor) fail(b *batch, st *stats, line int64, msg string) bool {
	if p.e.opt.OnError == Skip {
		st.skipped++
		if len(st.skippedLines) < maxSkipped {
			st.skippedLines = append(st.skippedLines, skipNote{line, msg})
		}
		return false
	}
	b.err = badInput(line, "%s", msg)
	return true
}

// alleleBase marks the bytes a sequence allele may contain.
var alleleBase = [256]bool{'A': true, 'C': true, 'G': true, 'T': true, 'N': true, 'a': true, 'c': true, 'g': true, 't': true, 'n': true}

// firstNonBase is the index of the first byte of a that is not a base, or -1.
func firstNonBase(a []byte) int {
	for i, c := range a {
		if !alleleBase[c] {
			return i
		}
	}
	return -1
}

func upper(dst, s []byte) []byte {
	dst = dst[:0]
	for _, c := range s {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// findTabs records the positions of the first len(tabs) tabs of l and
// returns how many it found. It tests eight bytes at a time: the fields
// before INFO are short, so a byte loop spends most of its time on loop
// overhead, and IndexByte on call overhead.
func findTabs(l []byte, tabs *[8]int) int {
	const (
		ones  = 0x0101010101010101
		low7  = 0x7f7f7f7f7f7f7f7f
		tabx8 = '\t' * ones
	)
	k, i := 0, 0
	for ; i+8 <= len(l); i += 8 {
		x := binary.LittleEndian.Uint64(l[i:]) ^ tabx8 // tab bytes become zero
		// high bit set exactly in the zero bytes (no borrow between bytes)
		z := ^(((x & low7) + low7) | x | low7)
		for z != 0 {
			tabs[k] = i + bits.TrailingZeros64(z)>>3
			k++
			if k == len(tabs) {
				return k
			}
			z &= z - 1
		}
	}
	for ; i < len(l); i++ {
		if l[i] == '\t' {
			tabs[k] = i
			k++
			if k == len(tabs) {
				return k
			}
		}
	}
	return k
}

// parsePos parses l[a:b] as a VCF position: 1 to 10 decimal digits. Up to
// eight digits are converted eight bytes at a time when the line has room
// to load them (the field is followed by more columns, so it nearly always
// has).
func parsePos(l []byte, a, b int) (int64, bool) {
	n := b - a
	if n <= 0 || n > 10 {
		return 0, false
	}
	if n <= 8 && a+8 <= len(l) {
		const (
			ascii0 = 0x3030303030303030
			high   = 0xf0f0f0f0f0f0f0f0
			six    = 0x0606060606060606
		)
		x := binary.LittleEndian.Uint64(l[a:])
		keep := ^uint64(0) >> (64 - 8*n) // the n bytes of the field
		x &= keep
		// every kept byte is 0x30..0x39: high nibble 3, and adding 6 to
		// the low nibble does not carry into it
		if x&high != ascii0&keep || (x+six&keep)&high != ascii0&keep {
			return 0, false
		}
		// digits, most significant first, right-aligned: leading zeros
		x = (x & 0x0f0f0f0f0f0f0f0f) << (64 - 8*n)
		x = (x * (1 + 10<<8)) >> 8
		x = ((x & 0x00ff00ff00ff00ff) * (1 + 100<<16)) >> 16
		x = ((x & 0x0000ffff0000ffff) * (1 + 10000<<32)) >> 32
		return int64(x), true
	}
	var v int64
	for _, c := range l[a:b] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// upperView returns s upper-cased: s itself when it has no lower-case
// letter (the usual case), else a copy made in *buf.
func upperView(buf *[]byte, s []byte) []byte {
	for _, c := range s {
		if c >= 'a' && c <= 'z' {
			*buf = upper(*buf, s)
			return *buf
		}
	}
	return s
}

// record annotates one data line, appending the output line to out. On a
// malformed line it returns out unchanged and a message.
func (p *processor) record(out, l []byte, st *stats) ([]byte, string) {
	if l[0] == '#' {
		// readers of the output would take it for a header line
		return out, "line starts with '#' after the data lines began"
	}
	// split the first 8 columns
	var tabs [8]int
	k := findTabs(l, &tabs)
	if k < 7 {
		return out, fmt.Sprintf("expected at least 8 tab-separated columns, found %d", k+1)
	}
	chrom := l[:tabs[0]]
	posB := l[tabs[0]+1 : tabs[1]]
	id := l[tabs[1]+1 : tabs[2]]
	refB := l[tabs[2]+1 : tabs[3]]
	altB := l[tabs[3]+1 : tabs[4]]
	info, tail := l[tabs[6]+1:], []byte(nil)
	if k == 8 {
		info, tail = l[tabs[6]+1:tabs[7]], l[tabs[7]:]
	}
	if len(chrom) == 0 {
		return out, "empty CHROM"
	}
	pos, ok := parsePos(l, tabs[0]+1, tabs[1])
	if !ok {
		return out, fmt.Sprintf("POS %q is not a position", trunc(posB))
	}
	if pos > 1<<31-1 {
		return out, fmt.Sprintf("POS %d is too large", pos)
	}
	if len(refB) == 0 {
		return out, "empty REF"
	}
	if len(refB) > p.e.opt.MaxAllele {
		return out, fmt.Sprintf("REF allele longer than %d bases", p.e.opt.MaxAllele)
	}
	if i := firstNonBase(refB); i >= 0 {
		return out, fmt.Sprintf("REF %q contains %q, not a nucleotide (A, C, G, T, N)", trunc(refB), refB[i])
	}
	if len(altB) == 0 {
		return out, "empty ALT"
	}
	if len(info) == 0 {
		return out, "empty INFO"
	}
	// split and validate ALT alleles before producing anything
	p.alleles = p.alleles[:0]
	p.symb = p.symb[:0]
	if !(len(altB) == 1 && altB[0] == '.') {
		a := altB
		for {
			i := bytes.IndexByte(a, ',')
			var al []byte
			if i < 0 {
				al = a
			} else {
				al = a[:i]
			}
			if len(al) == 0 {
				return out, "empty ALT allele"
			}
			if len(al) > p.e.opt.MaxAllele {
				return out, fmt.Sprintf("ALT allele longer than %d bases", p.e.opt.MaxAllele)
			}
			if len(p.alleles) == p.e.opt.MaxAlts {
				return out, fmt.Sprintf("more than %d ALT alleles in one record (%d listed)", p.e.opt.MaxAlts,
					bytes.Count(altB, []byte{','})+1)
			}
			// an allele of bases only is never symbolic: test that first
			sym := false
			if j := firstNonBase(al); j >= 0 {
				if !symbolic(al) {
					return out, fmt.Sprintf("ALT %q contains %q, not a nucleotide", trunc(al), al[j])
				}
				sym = true
			}
			p.alleles = append(p.alleles, al)
			p.symb = append(p.symb, sym)
			if i < 0 {
				break
			}
			a = a[i+1:]
		}
	}
	st.records++
	st.byChrom(chrom)
	if len(p.alleles) == 0 {
		out = append(out, l...)
		out = append(out, '\n')
		return out, ""
	}
	// chromosome
	if !p.lastOK || !bytes.Equal(chrom, p.lastChrom) {
		p.lastChrom = append(p.lastChrom[:0], chrom...)
		var ok bool
		if p.lastIdx, ok = p.ref.ChromBytes(chrom); !ok {
			p.lastIdx = -1
		}
		p.lastOK = true
	}
	ci := p.lastIdx
	refU := upperView(&p.refBuf, refB)
	var warn csq.Warning
	if ci < 0 {
		warn |= csq.WarnNoChrom
	} else if s := p.ref.SeqAt(&p.seq, ci, int32(pos), int32(pos)+int32(len(refU))-1); s != nil && pos >= 1 {
		for i, c := range refU {
			if c != s[i] && c != 'N' && s[i] != 'N' {
				warn |= csq.WarnRefMismatch
				st.refMismatches++
				break
			}
		}
	}
	// output: columns up to INFO, INFO with ANN, the rest untouched
	head := l[:tabs[6]+1]
	hits := p.hits()
	var anyKnown bool
	for _, h := range hits {
		if h.ok {
			anyKnown = true
			st.known++
		}
	}
	if anyKnown && len(id) == 1 && id[0] == '.' {
		// fill the ID column from the known source
		idStart := tabs[1] + 1
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
		out = append(out, head[idStart+1:]...)
	} else {
		out = append(out, head...)
	}
	if len(info) == 1 && info[0] == '.' {
		out = append(out, "ANN="...)
	} else {
		n := len(out)
		out = appendWithoutANN(out, info)
		if len(out) > n {
			out = append(out, ';')
		}
		out = append(out, "ANN="...)
	}
	for k, al := range p.alleles {
		if k > 0 {
			out = append(out, ',')
		}
		st.variants++
		var effs []csq.Effect
		switch {
		case len(al) == 1 && al[0] == '*':
			effs = p.c.Passthrough(warn | csq.WarnStar)
			st.class(clOther)
		case p.symb[k]:
			effs = p.c.Passthrough(warn | csq.WarnSymbolic)
			st.class(clOther)
		case ci < 0:
			effs = p.c.Passthrough(warn)
			effs[0].Terms = csq.Intergenic
			st.classify(refU, al)
		default:
			altU := upperView(&p.altBuf, al)
			effs = p.c.Annotate(ci, int32(pos), refU, altU, warn)
			st.classify(refU, altU)
		}
		st.effects(p.ref, effs)
		out = p.c.AppendANN(out, al, effs)
	}
	if anyKnown {
		out = append(out, ";KNOWN_AF="...)
		for i, h := range hits {
			if i > 0 {
				out = append(out, ',')
			}
			if h.ok && h.hasAF {
				out = strconv.AppendFloat(out, h.af, 'g', 6, 64)
			} else {
				out = append(out, '.')
			}
		}
	}
	out = append(out, tail...)
	out = append(out, '\n')
	return out, ""
}

// appendWithoutANN copies INFO dropping an existing ANN key (re-annotation).
func appendWithoutANN(out, info []byte) []byte {
	if !bytes.Contains(info, []byte("ANN=")) {
		return append(out, info...)
	}
	first := true
	for _, kv := range bytes.Split(info, []byte{';'}) {
		if bytes.HasPrefix(kv, []byte("ANN=")) {
			continue
		}
		if !first {
			out = append(out, ';')
		}
		out = append(out, kv...)
		first = false
	}
	return out
}

// symbolic reports alleles that are not plain sequence: <DEL>, breakends, '*'.
func symbolic(a []byte) bool {
	if len(a) == 0 {
		return false
	}
	if a[0] == '<' || a[0] == '*' || a[0] == '.' || a[len(a)-1] == '.' {
		return true
	}
	return bytes.IndexByte(a, '[') >= 0 || bytes.IndexByte(a, ']') >= 0
}

func trunc(b []byte) string {
	if len(b) > 30 {
		return string(b[:30]) + "..."
	}
	return string(b)
}
