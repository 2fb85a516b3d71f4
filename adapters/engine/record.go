package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/gasproject/gas/adapters/engine/csq"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/adapters/vartable"
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
	skip      bool // drop malformed lines (Options.OnError or Job.SkipMalformed)
	table     bool // record the table rows of each line (Job.Table)
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
	b.lines, b.entries = b.lines[:0], b.entries[:0]
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
	if p.skip {
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
	var r dataLine
	if msg := r.parse(l, p.e.opt.MaxAllele); msg != "" {
		return out, msg
	}
	// validate every ALT allele before producing anything
	if msg := p.splitAlts(r.alt()); msg != "" {
		return out, msg
	}
	st.records++
	st.byChrom(r.chrom())
	if len(p.alleles) == 0 {
		out = append(out, l...)
		return append(out, '\n'), ""
	}
	start, entries := len(out), len(p.batch.entries)
	ci := p.chromIndex(r.chrom())
	refU := upperView(&p.refBuf, r.ref())
	warn := p.checkRef(ci, r.pos, refU, st)
	// output: columns up to INFO, INFO with ANN, the rest untouched
	hits := p.hits()
	anyKnown := anyHit(hits)
	id := r.id()
	hasID := len(id) != 1 || id[0] != '.'
	if anyKnown && !hasID {
		out = appendKnownIDs(out, r.head(), r.idStart(), hits)
	} else {
		out = append(out, r.head()...)
	}
	out = appendInfo(out, r.info())
	out = p.appendAlleles(out, ci, r.pos, refU, warn, st, hits, hasID)
	if anyKnown {
		out = appendKnownAF(out, hits)
	}
	out = append(out, r.tail()...)
	if p.table {
		p.batch.lines = append(p.batch.lines, vartable.Line{Offset: int64(start), Length: len(out) - start,
			Chrom: r.chrom(), Pos: r.pos, Entries: len(p.batch.entries) - entries})
	}
	return append(out, '\n'), ""
}

// dataLine is a VCF data line with the offsets of its columns. It keeps
// offsets rather than slices: the hot path fills one per line, and integer
// stores cost less than pointer ones.
type dataLine struct {
	l    []byte
	tabs [8]int // the first eight tabs
	k    int    // how many of them there are
	pos  int64
}

func (r *dataLine) chrom() []byte { return r.l[:r.tabs[0]] }
func (r *dataLine) id() []byte    { return r.l[r.tabs[1]+1 : r.tabs[2]] }
func (r *dataLine) ref() []byte   { return r.l[r.tabs[2]+1 : r.tabs[3]] }
func (r *dataLine) alt() []byte   { return r.l[r.tabs[3]+1 : r.tabs[4]] }

// head is the line up to INFO; idStart the offset of ID in it.
func (r *dataLine) head() []byte { return r.l[:r.tabs[6]+1] }
func (r *dataLine) idStart() int { return r.tabs[1] + 1 }

func (r *dataLine) info() []byte {
	if r.k == 8 {
		return r.l[r.tabs[6]+1 : r.tabs[7]]
	}
	return r.l[r.tabs[6]+1:]
}

// tail is the tab after INFO and what follows, if any.
func (r *dataLine) tail() []byte {
	if r.k == 8 {
		return r.l[r.tabs[7]:]
	}
	return nil
}

// parse splits l and checks the columns before ALT's alleles; it returns a
// message naming the first problem.
func (r *dataLine) parse(l []byte, maxAllele int) string {
	if l[0] == '#' {
		// readers of the output would take it for a header line
		return "line starts with '#' after the data lines began"
	}
	r.l = l
	r.k = findTabs(l, &r.tabs)
	if r.k < 7 {
		return fmt.Sprintf("expected at least 8 tab-separated columns, found %d", r.k+1)
	}
	if r.tabs[0] == 0 {
		return "empty CHROM"
	}
	var ok bool
	if r.pos, ok = parsePos(l, r.tabs[0]+1, r.tabs[1]); !ok {
		return fmt.Sprintf("POS %q is not a position", trunc(l[r.tabs[0]+1:r.tabs[1]]))
	}
	if r.pos > 1<<31-1 {
		return fmt.Sprintf("POS %d is too large", r.pos)
	}
	ref := r.ref()
	switch {
	case len(ref) == 0:
		return "empty REF"
	case len(ref) > maxAllele:
		return fmt.Sprintf("REF allele longer than %d bases", maxAllele)
	}
	if i := firstNonBase(ref); i >= 0 {
		return fmt.Sprintf("REF %q contains %q, not a nucleotide (A, C, G, T, N)", trunc(ref), ref[i])
	}
	switch {
	case len(r.alt()) == 0:
		return "empty ALT"
	case len(r.info()) == 0:
		return "empty INFO"
	}
	return ""
}

// splitAlts fills p.alleles and p.symb with the ALT alleles (none for
// "."), or returns a message naming the first bad one.
func (p *processor) splitAlts(alt []byte) string {
	p.alleles = p.alleles[:0]
	p.symb = p.symb[:0]
	if len(alt) == 1 && alt[0] == '.' {
		return ""
	}
	for {
		i := bytes.IndexByte(alt, ',')
		al := alt
		if i >= 0 {
			al = alt[:i]
		}
		if len(al) == 0 {
			return "empty ALT allele"
		}
		if len(al) > p.e.opt.MaxAllele {
			return fmt.Sprintf("ALT allele longer than %d bases", p.e.opt.MaxAllele)
		}
		if len(p.alleles) == p.e.opt.MaxAlts {
			return fmt.Sprintf("more than %d ALT alleles in one record (%d listed)", p.e.opt.MaxAlts,
				len(p.alleles)+bytes.Count(alt, []byte{','})+1)
		}
		// an allele of bases only is never symbolic: test that first
		sym := false
		if j := firstNonBase(al); j >= 0 {
			if !symbolic(al) {
				return fmt.Sprintf("ALT %q contains %q, not a nucleotide", trunc(al), al[j])
			}
			sym = true
		}
		p.alleles = append(p.alleles, al)
		p.symb = append(p.symb, sym)
		if i < 0 {
			return ""
		}
		alt = alt[i+1:]
	}
}

// chromIndex is the reference index of chrom (-1 when unknown), cached
// for the run of lines on one chromosome (small enough to inline).
func (p *processor) chromIndex(chrom []byte) int32 {
	if p.lastOK && string(chrom) == string(p.lastChrom) {
		return p.lastIdx
	}
	return p.lookupChrom(chrom)
}

func (p *processor) lookupChrom(chrom []byte) int32 {
	p.lastChrom = append(p.lastChrom[:0], chrom...)
	var ok bool
	if p.lastIdx, ok = p.ref.ChromBytes(chrom); !ok {
		p.lastIdx = -1
	}
	p.lastOK = true
	return p.lastIdx
}

// checkRef compares REF with the stored reference (N matches anything) and
// returns the warnings the entries carry: also a chromosome the reference
// lacks, or an allele reaching past its chromosome's end.
func (p *processor) checkRef(ci int32, pos int64, refU []byte, st *stats) csq.Warning {
	if ci < 0 {
		st.unknownChrom++
		return csq.WarnNoChrom
	}
	if n := int64(p.ref.Chroms[ci].Length); n > 0 && pos+int64(len(refU))-1 > n {
		st.pastEnd++
		return csq.WarnPastEnd
	}
	s := p.ref.SeqAt(&p.seq, ci, int32(pos), int32(pos)+int32(len(refU))-1)
	if s == nil || pos < 1 {
		return 0
	}
	for i, c := range refU {
		if c != s[i] && c != 'N' && s[i] != 'N' {
			st.refMismatches++
			return csq.WarnRefMismatch
		}
	}
	return 0
}

// appendInfo writes INFO without any old ANN, then the "ANN=" key.
func appendInfo(out, info []byte) []byte {
	if len(info) != 1 || info[0] != '.' {
		out = appendKeptInfo(out, info)
	}
	return append(out, "ANN="...)
}

// appendAlleles writes the ANN entries of every ALT allele, most severe
// first and as picked, counting them in st and noting them as table rows.
// An allele is known when the known source has it or the input gave the
// line an ID.
func (p *processor) appendAlleles(out []byte, ci int32, pos int64, refU []byte, warn csq.Warning, st *stats, hits []knownHit, hasID bool) []byte {
	ann := 0
	for k, al := range p.alleles {
		if k > 0 {
			out = append(out, ',')
		}
		st.variants++
		var hit knownHit
		if k < len(hits) {
			hit = hits[k]
		}
		known := hit.ok || hasID
		if known {
			st.known++
		}
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
		p.c.SortBySeverity(effs)
		effs = p.pick(effs)
		st.effects(p.ref, effs)
		if p.table {
			p.noteEntries(k, ann, effs, known, hit)
		}
		ann += len(effs)
		out = p.c.AppendANN(out, al, effs)
	}
	return out
}

// pick keeps the entries Options.Pick asks for (effs is sorted most
// severe first).
func (p *processor) pick(effs []csq.Effect) []csq.Effect {
	switch p.e.opt.Pick {
	case PickMostSevere:
		return effs[:1]
	case PickCanonical:
		n := 0
		for _, e := range effs {
			if e.Warn&csq.WarnCanonical != 0 {
				effs[n] = e
				n++
			}
		}
		return effs[:max(n, 1)]
	}
	return effs
}

// noteEntries adds one allele's written entries to the batch's table rows.
func (p *processor) noteEntries(allele, ann int, effs []csq.Effect, known bool, hit knownHit) {
	af := float32(math.NaN())
	if hit.ok && hit.hasAF {
		af = hit.af32
	}
	for i := range effs {
		e := &effs[i]
		var tags vartable.Tags
		if e.Warn&csq.WarnCanonical != 0 {
			tags |= vartable.TagCanonical
		}
		if e.Warn&csq.WarnMANESelect != 0 {
			tags |= vartable.TagMANESelect
		}
		p.batch.entries = append(p.batch.entries, vartable.Entry{
			Allele: uint32(allele), Ann: uint32(ann + i), Impact: vartable.Impact(csq.ImpactOf(e.Terms) + 1),
			Tags: tags, Known: known, Terms: uint32(e.Terms), Warn: uint32(e.Warn & csq.Problems), Gene: e.Gene, AF: af,
		})
	}
}

// appendKeptInfo copies INFO dropping an existing ANN key (re-annotation),
// with a ';' after it when anything is left.
func appendKeptInfo(out, info []byte) []byte {
	n := len(out)
	if !bytes.Contains(info, []byte("ANN=")) {
		out = append(out, info...)
	} else {
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
	}
	if len(out) > n {
		out = append(out, ';')
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
