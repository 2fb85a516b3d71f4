package known

// The cursor and window of a Source: it moves through the known-variants
// file alongside the sorted input (jumping by the tabix index, the
// chromosome directory or a forward scan), buffers the records near the
// queried position indexed by canonical allele, and evicts those the input
// has passed.

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/bgzf"
)

// reposition moves the cursor to the first record of chrom key at or after
// lo, by the index, the chromosome directory, or a forward scan.
func (s *Source) reposition(key, name string, lo int64) error {
	s.clearWindow()
	s.curKey, s.curName, s.absent, s.exhausted = key, name, false, false
	if s.idx != nil {
		return s.seekIndexed(lo)
	}
	if s.pending != nil && s.pending.key == key && s.pending.pos <= lo {
		return s.skipTo(lo) // still ahead of us in this chromosome
	}
	if off, ok := s.dir[key]; ok {
		if s.pending != nil && s.pending.key == key && s.pending.off == off {
			return s.skipTo(lo)
		}
		if err := s.src.SeekTo(off); err != nil {
			return fmt.Errorf("%w: %v", ErrSource, err)
		}
		s.pending = nil
		s.stats.Rewinds++
		if s.stats.Rewinds == 100 {
			s.log.Warn("known variants: input is not in the source's order and the source has no tabix index; lookups rescan it (index it with tabix for speed)")
		}
		return s.skipTo(lo)
	}
	if s.dirComplete {
		s.absent = true
		return nil
	}
	// scan forward for the chromosome, recording the ones we pass
	for {
		if s.pending == nil {
			if err := s.next(); err != nil {
				return err
			}
			if s.pending == nil { // EOF: the chromosome is not in the file
				s.absent = true
				return nil
			}
		}
		if s.pending.key == key {
			return s.skipTo(lo)
		}
		s.pending = nil
	}
}

// seekIndexed uses the linear index: its entry for lo's 16 kb window is at
// or before every record at or after lo.
func (s *Source) seekIndexed(lo int64) error {
	name, ok := s.keys[s.curKey]
	if !ok {
		s.absent = true
		return nil
	}
	off, ok := s.idx.LinearOffset(name, lo-1)
	if !ok {
		s.exhausted = true
		return nil
	}
	if p := s.pending; p != nil && p.key == s.curKey && p.pos <= lo && p.off >= int64(off) {
		return s.skipTo(lo) // already between the entry and lo
	}
	if err := s.src.SeekTo(int64(off)); err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	s.pending = nil
	s.stats.Seeks++
	return s.skipTo(lo)
}

// maybeJump seeks forward when the next wanted record is far ahead.
func (s *Source) maybeJump(lo int64) error {
	p := s.pending
	if p == nil || p.key != s.curKey || p.pos >= lo {
		return nil
	}
	off, ok := s.idx.LinearOffset(s.keys[s.curKey], lo-1)
	if !ok || off.BlockOffset()-bgzf.VirtualOffset(p.off).BlockOffset() < s.opt.JumpBytes {
		return nil
	}
	s.clearWindow()
	if err := s.src.SeekTo(int64(off)); err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	s.pending = nil
	s.stats.Seeks++
	return s.skipTo(lo)
}

// next reads the following data line into s.pending (nil at EOF),
// recording chromosome starts for the directory.
func (s *Source) next() error {
	s.pending = nil
	for {
		line, off, err := s.src.ReadLine()
		if err == io.EOF {
			if s.idx == nil {
				s.dirComplete = true
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSource, err)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		tab := bytes.IndexByte(line, '\t')
		if tab < 0 {
			return fmt.Errorf("%w: line at offset %d has no tab", ErrSource, off)
		}
		rest := line[tab+1:]
		tab2 := bytes.IndexByte(rest, '\t')
		if tab2 < 0 {
			return fmt.Errorf("%w: line at offset %d has too few columns", ErrSource, off)
		}
		pos, err := strconv.ParseInt(string(rest[:tab2]), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: bad POS %q at offset %d", ErrSource, rest[:tab2], off)
		}
		if string(line[:tab]) != s.srcName {
			s.srcName = string(line[:tab])
			s.srcKey = chromKey(s.srcName)
			if _, ok := s.dir[s.srcKey]; !ok && s.idx == nil {
				s.dir[s.srcKey] = off
			}
		}
		s.stats.RecordsRead++
		s.pending = &parsed{key: s.srcKey, pos: pos, line: line, off: off}
		return nil
	}
}

// skipTo discards records of the current chromosome before lo.
func (s *Source) skipTo(lo int64) error {
	for {
		if s.pending == nil {
			if err := s.next(); err != nil {
				return err
			}
			if s.pending == nil {
				s.exhausted = true
				return nil
			}
		}
		if s.pending.key != s.curKey {
			if s.idx != nil && s.order[s.pending.key] < s.order[s.curKey] {
				s.pending = nil // an earlier chromosome before the seek target
				continue
			}
			s.exhausted = true
			return nil
		}
		if s.pending.pos >= lo {
			return nil
		}
		s.pending = nil
	}
}

// fill adds to the window every record of the current chromosome up to hi.
func (s *Source) fill(lo, hi int64) error {
	for !s.exhausted {
		if s.pending == nil {
			if err := s.next(); err != nil {
				return err
			}
			if s.pending == nil {
				s.exhausted = true
				return nil
			}
		}
		p := s.pending
		if p.key != s.curKey {
			s.exhausted = true
			return nil
		}
		if p.pos > hi {
			return nil
		}
		if p.pos >= lo {
			if err := s.add(p); err != nil {
				return err
			}
		}
		s.pending = nil
	}
	return nil
}

// add parses a record's alleles into the window.
func (s *Source) add(p *parsed) error {
	var cols [8][]byte
	n := 0
	rest := p.line
	for n < 8 {
		i := bytes.IndexByte(rest, '\t')
		if i < 0 {
			cols[n] = rest
			n++
			break
		}
		cols[n] = rest[:i]
		rest = rest[i+1:]
		n++
	}
	if n < 5 {
		return fmt.Errorf("%w: record at %s:%d has %d columns, need at least 5", ErrSource, s.srcName, p.pos, n)
	}
	id, ref, alts := string(cols[2]), upper(string(cols[3])), cols[4]
	var info []byte
	if n >= 8 {
		info = cols[7]
	}
	s.seq++
	e := entry{pos: p.pos, seq: s.seq}
	for i := 0; len(alts) > 0; i++ {
		var alt []byte
		if k := bytes.IndexByte(alts, ','); k >= 0 {
			alt, alts = alts[:k], alts[k+1:]
		} else {
			alt, alts = alts, nil
		}
		if len(alt) == 0 || alt[0] == '<' || string(alt) == "*" || string(alt) == "." {
			continue
		}
		raw := allele{p.pos, ref, upper(string(alt))}
		key, settled := normalize(s.opt.Reference, s.curName, p.pos, raw.ref, raw.alt, s.opt.Window)
		h := Hit{ID: id}
		h.AF, h.HasAF = alleleFreq(info, i, s.opt.AFKeys)
		e.alleles = append(e.alleles, knownAllele{key: key, settled: settled, raw: raw, hit: h})
		if !settled {
			s.unsettled++
		}
		if sl, dup := s.byAllele[key]; dup {
			sl.dups++ // first record wins, as bcftools annotate does
			s.byAllele[key] = sl
			continue
		}
		s.byAllele[key] = slot{hit: h, owner: s.seq}
	}
	s.window = append(s.window, e)
	if live := len(s.window) - s.head; live > s.stats.MaxWindowRecord {
		s.stats.MaxWindowRecord = live
	}
	return nil
}

// alleleFreq reads the frequency of ALT number i (0-based) from INFO.
func alleleFreq(info []byte, i int, keys []string) (float64, bool) {
	for _, k := range keys {
		v, ok := infoValue(info, k)
		if !ok {
			continue
		}
		idx := i
		if k == "CAF" {
			idx++ // CAF lists the REF frequency first
		}
		for j := 0; ; j++ {
			c := bytes.IndexByte(v, ',')
			item := v
			if c >= 0 {
				item = v[:c]
			}
			if j == idx {
				f, err := strconv.ParseFloat(string(item), 64)
				if err == nil {
					return f, true
				}
				break
			}
			if c < 0 {
				break
			}
			v = v[c+1:]
		}
	}
	return 0, false
}

// infoValue returns the value of key in a VCF INFO field.
func infoValue(info []byte, key string) ([]byte, bool) {
	for len(info) > 0 {
		f := info
		if k := bytes.IndexByte(info, ';'); k >= 0 {
			f, info = info[:k], info[k+1:]
		} else {
			info = nil
		}
		if len(f) > len(key) && f[len(key)] == '=' && string(f[:len(key)]) == key {
			return f[len(key)+1:], true
		}
	}
	return nil, false
}

// evict drops window records that can no longer match (POS < lo).
func (s *Source) evict(lo int64) {
	for s.head < len(s.window) && s.window[s.head].pos < lo {
		e := &s.window[s.head]
		s.head++
		for _, k := range e.alleles {
			if !k.settled {
				s.unsettled--
			}
			sl, ok := s.byAllele[k.key]
			switch {
			case !ok:
			case sl.owner != e.seq:
				sl.dups--
				s.byAllele[k.key] = sl
			case sl.dups > 0:
				if next, ok := s.nextOwner(k.key, sl.dups-1); ok {
					s.byAllele[k.key] = next
					break
				}
				fallthrough
			default:
				delete(s.byAllele, k.key)
			}
		}
		e.alleles = nil
	}
	if s.head > 1024 && s.head*2 > len(s.window) {
		n := copy(s.window, s.window[s.head:])
		s.window = s.window[:n]
		s.head = 0
	}
}

// nextOwner finds the earliest buffered record still holding key, after
// its owner left the window (false when none does: the others were ALTs
// of the owner itself); dups is how many others remain after it.
func (s *Source) nextOwner(key allele, dups int) (slot, bool) {
	for i := s.head; i < len(s.window); i++ {
		for _, k := range s.window[i].alleles {
			if k.key == key {
				return slot{hit: k.hit, owner: s.window[i].seq, dups: dups}, true
			}
		}
	}
	return slot{}, false
}

func (s *Source) clearWindow() {
	clear(s.window)
	s.window, s.head, s.unsettled = s.window[:0], 0, 0
	clear(s.byAllele)
}
