// Package known looks up known variants (dbSNP-style rsIDs and allele
// frequencies) for the alleles GAS annotates. Alleles are matched after
// normalisation, not by position alone, and the source is never loaded into
// memory: a sorted merge cursor follows queries that arrive in input order,
// and with a tabix index it jumps (forward over sparse stretches, backward
// for unsorted input) instead of scanning, so dbSNP-sized files work in
// bounded memory.
package known

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gasproject/gas/adapters/engine/input"
	"github.com/gasproject/gas/adapters/engine/tabix"
)

// Hit is what a known-variants source says about an allele.
type Hit struct {
	ID    string  // the source's ID column, e.g. "rs6054257" ("." if none)
	AF    float64 // allele frequency of this ALT allele
	HasAF bool    // false when the source gives no frequency for it
}

// Matcher finds the known counterpart of an allele. Implementations are
// not safe for concurrent use: open one per goroutine.
type Matcher interface {
	// Match looks up one ALT allele of a VCF record (1-based pos, alleles
	// as in the VCF). ok is false when the source has no such allele.
	Match(chrom string, pos int64, ref, alt string) (hit Hit, ok bool, err error)
	// Close releases the source.
	Close() error
}

// Options tune a Source.
type Options struct {
	// Reference, when set, lets indels be left-aligned through repeats so
	// representations at different positions match.
	Reference Reference
	// Window is the largest normalisation shift considered, in bases
	// (default 256); records are buffered over twice this span.
	Window int
	// AFKeys are the INFO keys read for the frequency, in order of
	// preference (default AF, then CAF whose first value is the REF's).
	AFKeys []string
	// JumpBytes: with an index, a query further ahead than this many
	// compressed bytes seeks instead of scanning (default 256 KiB).
	JumpBytes int64
	// Logger receives strategy notes (nil: slog.Default()).
	Logger *slog.Logger
}

// ErrSource is wrapped by errors about the known-variants file itself.
var ErrSource = errors.New("known variants source")

// Stats reports how a Source answered, for logs and tests.
type Stats struct {
	Queries, Hits   int64
	RecordsRead     int64 // data lines parsed
	Seeks           int64 // index-guided jumps
	Rewinds         int64 // backward repositionings without an index
	Indexed         bool  // a tabix index was used
	MaxWindowRecord int   // largest number of alleles buffered at once
	// Proven counts hits found by comparing haplotypes because the
	// canonical forms were not settled (reference missing around an indel
	// in a repeat, or a shift longer than Window).
	Proven int64
}

// Source is the Matcher over one known-variants VCF (plain, gzip or BGZF,
// with or without a .tbi index).
type Source struct {
	src   lineSource
	idx   *tabix.Index
	opt   Options
	log   *slog.Logger
	keys  map[string]string // canonical chrom key -> name in the index
	order map[string]int    // canonical chrom key -> rank in the index

	// chromosome directory for unindexed sources
	dir         map[string]int64
	dirComplete bool // EOF was reached: every chromosome is in dir

	curKey    string // canonical chrom of the window ("" none)
	curName   string // the query's spelling of it, for the reference
	absent    bool   // curKey has no records in the source
	exhausted bool   // no more records of curKey after the window
	lastPos   int64
	window    []entry
	head      int
	byAllele  map[allele]slot
	unsettled int // buffered alleles whose canonical form is not settled
	seq       uint64
	pending   *parsed // a record read but not yet in the window
	srcKey    string  // canonical chrom of the last line read
	srcName   string  // its spelling in the source
	stats     Stats
}

type allele struct {
	pos      int64
	ref, alt string
}

// slot is the hit for one canonical allele: the first buffered record
// with it (owner) wins; dups counts the later ones, which take over when
// the owner leaves the window.
type slot struct {
	hit   Hit
	owner uint64
	dups  int
}

// entry is one buffered record.
type entry struct {
	pos     int64
	seq     uint64
	alleles []knownAllele
}

// knownAllele is one ALT of a buffered record: its canonical key and, for
// proving equivalence when keys are not settled, the record's alleles.
type knownAllele struct {
	key     allele
	settled bool
	raw     allele // upper-cased, at the record's POS
	hit     Hit
}

type parsed struct {
	key  string
	pos  int64
	line []byte
	off  int64
}

// Open opens the known-variants VCF at path, using path+".tbi" when it
// exists.
func Open(path string, opt Options) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	var idx *tabix.Index
	if _, err := os.Stat(path + ".tbi"); err == nil {
		if idx, err = tabix.ReadFile(path + ".tbi"); err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
	}
	s, err := New(f, idx, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	inner := s.src
	s.src = closeAlso{inner, f}
	return s, nil
}

type closeAlso struct {
	lineSource
	f io.Closer
}

func (c closeAlso) Close() error {
	err := c.lineSource.Close()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// New reads a known-variants VCF from rs (plain, gzip or BGZF). idx, when
// not nil, must be the tabix index of rs (which must then be BGZF).
func New(rs io.ReadSeeker, idx *tabix.Index, opt Options) (*Source, error) {
	if opt.Window <= 0 {
		opt.Window = 256
	}
	if len(opt.AFKeys) == 0 {
		opt.AFKeys = []string{"AF", "CAF"}
	}
	if opt.JumpBytes <= 0 {
		opt.JumpBytes = 256 << 10
	}
	s := &Source{opt: opt, log: opt.Logger, dir: map[string]int64{}, byAllele: map[allele]slot{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	src, format, err := newLineSource(rs)
	if err != nil {
		return nil, err
	}
	s.src = src
	if idx != nil {
		if format != input.BGZF {
			return nil, fmt.Errorf("%w: a tabix index needs a BGZF file, not %s", ErrSource, format)
		}
		s.idx = idx
		s.stats.Indexed = true
		s.keys, s.order = map[string]string{}, map[string]int{}
		for i, n := range idx.Names() {
			s.keys[chromKey(n)] = n
			s.order[chromKey(n)] = i
		}
	}
	return s, nil
}

// Stats returns counters so far.
func (s *Source) Stats() Stats { return s.stats }

// Close releases the source.
func (s *Source) Close() error { return s.src.Close() }

// chromKey canonicalises chromosome names so chr1/1 and chrM/MT/M match.
func chromKey(name string) string {
	n := name
	if len(n) > 3 && strings.EqualFold(n[:3], "chr") {
		n = n[3:]
	}
	switch strings.ToUpper(n) {
	case "M", "MT":
		return "MT"
	}
	return n
}

// Match implements Matcher.
func (s *Source) Match(chrom string, pos int64, ref, alt string) (Hit, bool, error) {
	s.stats.Queries++
	if pos < 1 || ref == "" || alt == "" || alt == "*" || alt == "." || strings.HasPrefix(alt, "<") {
		return Hit{}, false, nil
	}
	key := chromKey(chrom)
	w := int64(s.opt.Window)
	lo, hi := pos-w, pos+w
	if key != s.curKey || pos < s.lastPos {
		if err := s.reposition(key, chrom, lo); err != nil {
			return Hit{}, false, err
		}
	} else if s.idx != nil && !s.absent && !s.exhausted {
		if err := s.maybeJump(lo); err != nil {
			return Hit{}, false, err
		}
	}
	s.lastPos = pos
	if s.absent {
		return Hit{}, false, nil
	}
	if err := s.fill(lo, hi); err != nil {
		return Hit{}, false, err
	}
	s.evict(lo)
	raw := allele{pos, upper(ref), upper(alt)}
	want, settled := normalize(s.opt.Reference, chrom, pos, raw.ref, raw.alt, s.opt.Window)
	if sl, ok := s.byAllele[want]; ok {
		s.stats.Hits++
		return sl.hit, true, nil
	}
	// Equal keys settle equivalence only when both sides reached their
	// canonical form; otherwise compare what the alleles do to the
	// reference, against every buffered allele that could be the same.
	if len(want.ref) == len(want.alt) || (settled && s.unsettled == 0) {
		return Hit{}, false, nil
	}
	for i := s.head; i < len(s.window); i++ {
		for _, k := range s.window[i].alleles {
			if settled && k.settled {
				continue
			}
			if equivalent(s.opt.Reference, chrom, raw, k.raw) {
				s.stats.Hits++
				s.stats.Proven++
				return k.hit, true, nil
			}
		}
	}
	return Hit{}, false, nil
}
