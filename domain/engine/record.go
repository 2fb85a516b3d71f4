package engine

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gasproject/gas/domain/engine/csq"
	"github.com/gasproject/gas/domain/engine/model"
)

// processor annotates batches; one per worker goroutine.
type processor struct {
	e         *Engine
	c         *csq.Caller
	ref       *model.Reference
	lastChrom []byte
	lastIdx   int32
	lastOK    bool
	refU      []byte
	altU      []byte
	alleles   [][]byte
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

func isAlleleBase(c byte) bool {
	switch c {
	case 'A', 'C', 'G', 'T', 'N', 'a', 'c', 'g', 't', 'n':
		return true
	}
	return false
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

// record annotates one data line, appending the output line to out. On a
// malformed line it returns out unchanged and a message.
func (p *processor) record(out, l []byte, st *stats) ([]byte, string) {
	// split the first 8 columns (a byte loop: fields are short)
	var f [8][]byte
	k, start := 0, 0
	infoEnd := -1
	for i := 0; i < len(l); i++ {
		if l[i] != '\t' {
			continue
		}
		if k < 7 {
			f[k] = l[start:i]
			k++
			start = i + 1
			continue
		}
		infoEnd = i
		break
	}
	if k < 7 {
		return out, fmt.Sprintf("expected at least 8 tab-separated columns, found %d", k+1)
	}
	var tail []byte
	if infoEnd < 0 {
		f[7] = l[start:]
	} else {
		f[7], tail = l[start:infoEnd], l[infoEnd:]
	}
	chrom, posB, refB, altB := f[0], f[1], f[3], f[4]
	if len(chrom) == 0 {
		return out, "empty CHROM"
	}
	var pos int64
	if len(posB) == 0 || len(posB) > 10 {
		return out, fmt.Sprintf("POS %q is not a position", trunc(posB))
	}
	for _, c := range posB {
		if c < '0' || c > '9' {
			return out, fmt.Sprintf("POS %q is not a position", trunc(posB))
		}
		pos = pos*10 + int64(c-'0')
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
	for _, c := range refB {
		if !isAlleleBase(c) {
			return out, fmt.Sprintf("REF %q contains %q, not a nucleotide (A, C, G, T, N)", trunc(refB), c)
		}
	}
	if len(altB) == 0 {
		return out, "empty ALT"
	}
	if len(f[7]) == 0 {
		return out, "empty INFO"
	}
	// split and validate ALT alleles before producing anything
	p.alleles = p.alleles[:0]
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
			if !symbolic(al) {
				for _, c := range al {
					if !isAlleleBase(c) {
						return out, fmt.Sprintf("ALT %q contains %q, not a nucleotide", trunc(al), c)
					}
				}
			}
			p.alleles = append(p.alleles, al)
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
		p.lastIdx, _ = p.ref.ChromBytes(chrom)
		if _, ok := p.ref.ChromBytes(chrom); !ok {
			p.lastIdx = -1
		}
		p.lastOK = true
	}
	ci := p.lastIdx
	p.refU = upper(p.refU, refB)
	var warn csq.Warning
	if ci < 0 {
		warn |= csq.WarnNoChrom
	} else if s := p.ref.Seq(ci, int32(pos), int32(pos)+int32(len(p.refU))-1); s != nil && pos >= 1 {
		for i, c := range p.refU {
			if c != s[i] && c != 'N' && s[i] != 'N' {
				warn |= csq.WarnRefMismatch
				st.refMismatches++
				break
			}
		}
	}
	// output: columns up to INFO, INFO with ANN, the rest untouched
	head := l[:len(l)-len(f[7])-len(tail)]
	hits := p.hits()
	var anyKnown bool
	for _, h := range hits {
		if h.ok {
			anyKnown = true
			st.known++
		}
	}
	if anyKnown && len(f[2]) == 1 && f[2][0] == '.' {
		// fill the ID column from the known source
		idStart := len(f[0]) + len(f[1]) + 2
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
	info := f[7]
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
		case symbolic(al):
			effs = p.c.Passthrough(warn | csq.WarnSymbolic)
			st.class(clOther)
		case ci < 0:
			effs = p.c.Passthrough(warn)
			effs[0].Terms = csq.Intergenic
			st.classify(p.refU, al)
		default:
			p.altU = upper(p.altU, al)
			effs = p.c.Annotate(ci, int32(pos), p.refU, p.altU, warn)
			st.classify(p.refU, p.altU)
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
