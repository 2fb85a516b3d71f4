// Package gasdb stores a model.Reference in GAS's compact binary annotation
// database: gene models plus only the sequence the annotator needs (exons
// and their flanks), with a name for the reference and a checksum. A worker
// loads it once, in a fraction of a second even for a GENCODE-sized set,
// and annotates many jobs with it.
package gasdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"

	"github.com/gasproject/gas/adapters/engine/model"
)

// magic starts every database file; the byte after it is the format version.
const magic = "GASDB"

// Format versions. Version 2 has the same layout as 1; it says the
// transcripts' flags carry the selection tags (model.FlagCanonical,
// model.FlagMANESelect) read from the gene models. A version-1 database was
// built without reading them: it still loads, with no transcript marked
// canonical (Meta.Format tells callers to suggest a rebuild).
const (
	version       = 2
	oldestVersion = 1
)

// TagsFormat is the first format whose transcripts carry selection tags.
const TagsFormat = 2

// ErrFormat marks a file that is not a valid database (or is damaged).
var ErrFormat = errors.New("not a valid gasdb database")

type writer struct {
	w   *bufio.Writer
	crc uint32
	buf [binary.MaxVarintLen64]byte
	err error
}

func (w *writer) bytes(b []byte) {
	if w.err != nil {
		return
	}
	w.crc = crc32.Update(w.crc, crc32.IEEETable, b)
	_, w.err = w.w.Write(b)
}

func (w *writer) uv(v uint64) { n := binary.PutUvarint(w.buf[:], v); w.bytes(w.buf[:n]) }
func (w *writer) sv(v int64)  { n := binary.PutVarint(w.buf[:], v); w.bytes(w.buf[:n]) }
func (w *writer) str(s string) {
	w.uv(uint64(len(s)))
	w.bytes([]byte(s))
}

// Meta is extra information kept with the reference.
type Meta struct {
	// Known is the known-variants source recorded at build time ("" if none).
	Known string
	// Format is the file's format version (set by ReadMeta; Write writes
	// the current one). Below TagsFormat no transcript is marked canonical
	// or MANE Select: rebuild the database to have them.
	Format int
	// Checksum is the file's CRC-32 (set by ReadMeta): with the name it
	// identifies the exact reference a result was annotated against.
	Checksum uint32
}

// Write stores ref (with its sequence) to w.
func Write(out io.Writer, ref *model.Reference, meta Meta) error {
	w := &writer{w: bufio.NewWriterSize(out, 1<<20)}
	w.bytes([]byte(magic))
	w.bytes([]byte{version})
	w.str(ref.Name)
	w.str(meta.Known)
	w.uv(uint64(len(ref.Chroms)))
	for _, c := range ref.Chroms {
		w.str(c.Name)
		w.uv(uint64(c.Length))
		w.uv(uint64(len(c.Segments)))
		var prev int32
		for _, s := range c.Segments {
			w.uv(uint64(s.Start - prev))
			w.uv(uint64(len(s.Seq)))
			w.bytes(s.Seq)
			prev = s.Start
		}
	}
	w.uv(uint64(len(ref.Genes)))
	for _, g := range ref.Genes {
		w.str(g.ID)
		w.str(g.Name)
		w.str(g.Biotype)
		w.uv(uint64(g.Chrom))
		w.uv(uint64(g.Start))
		w.uv(uint64(g.End - g.Start))
		w.sv(int64(g.Strand))
	}
	w.uv(uint64(len(ref.Transcripts)))
	for i := range ref.Transcripts {
		t := &ref.Transcripts[i]
		w.str(t.ID)
		w.str(t.Biotype)
		w.uv(uint64(t.Gene))
		w.uv(uint64(t.Chrom))
		w.sv(int64(t.Strand))
		w.uv(uint64(t.Phase))
		w.uv(uint64(t.Flags))
		w.uv(uint64(t.CDSStart))
		w.uv(uint64(t.CDSEnd))
		w.uv(uint64(len(t.Exons)))
		var prev int32
		for _, e := range t.Exons {
			w.uv(uint64(e.Start - prev))
			w.uv(uint64(e.End - e.Start))
			prev = e.End
		}
	}
	crc := w.crc
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc)
	if w.err == nil {
		_, w.err = w.w.Write(tail[:])
	}
	if w.err != nil {
		return fmt.Errorf("write gasdb: %w", w.err)
	}
	return w.w.Flush()
}

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) uv() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated at byte %d", ErrFormat, r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) sv() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated at byte %d", ErrFormat, r.off)
		return 0
	}
	r.off += n
	return v
}

func (r *reader) raw(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("%w: truncated at byte %d", ErrFormat, r.off)
		return nil
	}
	s := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) str() string { return string(r.raw(r.uv())) }

// count reads an element count, refusing counts the file could not hold.
func (r *reader) count(minSize int) int {
	n := r.uv()
	if r.err == nil && n > uint64(len(r.b)-r.off)/uint64(minSize) {
		r.err = fmt.Errorf("%w: implausible count %d", ErrFormat, n)
		return 0
	}
	return int(n)
}

// Read loads a database written by Write.
func Read(in io.Reader) (*model.Reference, error) {
	ref, _, err := ReadMeta(in)
	return ref, err
}

// ReadMeta loads a database and its metadata.
func ReadMeta(in io.Reader) (*model.Reference, Meta, error) {
	var meta Meta
	b, err := readFile(in)
	if err != nil {
		return nil, meta, fmt.Errorf("read gasdb: %w", err)
	}
	body, err := checkFile(b)
	if err != nil {
		return nil, meta, err
	}
	meta.Format = int(b[len(magic)])
	meta.Checksum = binary.LittleEndian.Uint32(b[len(b)-4:])
	r := &reader{b: body, off: len(magic) + 1}
	ref := &model.Reference{Name: r.str()}
	meta.Known = r.str()
	r.chroms(ref)
	r.genes(ref)
	r.transcripts(ref)
	if meta.Format < TagsFormat {
		for i := range ref.Transcripts {
			ref.Transcripts[i].Flags &^= model.FlagCanonical | model.FlagMANESelect
		}
	}
	if r.err != nil {
		return nil, meta, r.err
	}
	if r.off != len(body) {
		return nil, meta, fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(body)-r.off)
	}
	if err := ref.Finish(); err != nil {
		return nil, meta, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return ref, meta, nil
}

// readFile reads the whole database; a file in one exact-size buffer (no
// growth copies).
func readFile(in io.Reader) ([]byte, error) {
	if st, ok := in.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			b := make([]byte, fi.Size())
			_, err := io.ReadFull(in, b)
			return b, err
		}
	}
	return io.ReadAll(in)
}

// checkFile checks the magic, version and checksum, and returns the body
// (the file without its checksum).
func checkFile(b []byte) ([]byte, error) {
	if len(b) < len(magic)+5 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := b[len(magic)]; v < oldestVersion || v > version {
		return nil, fmt.Errorf("%w: format version %d; this build of GAS reads versions %d to %d (rebuild the database with this build's `gas db build`)",
			ErrFormat, v, oldestVersion, version)
	}
	body := b[:len(b)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch (damaged file)", ErrFormat)
	}
	return body, nil
}

// chroms reads the chromosomes with their sequence segments, which stay
// slices of the file.
func (r *reader) chroms(ref *model.Reference) {
	nc := r.count(3)
	for i := 0; i < nc && r.err == nil; i++ {
		ci := ref.AddChrom(r.str())
		c := &ref.Chroms[ci]
		c.Length = int32(r.uv())
		ns := r.count(2)
		c.Segments = make([]model.Segment, 0, ns)
		var prev int32
		for k := 0; k < ns && r.err == nil; k++ {
			s := prev + int32(r.uv())
			c.Segments = append(c.Segments, model.Segment{Start: s, Seq: r.raw(r.uv())})
			prev = s
		}
	}
}

func (r *reader) genes(ref *model.Reference) {
	ng := r.count(7)
	ref.Genes = make([]model.Gene, ng)
	for i := 0; i < ng && r.err == nil; i++ {
		g := &ref.Genes[i]
		g.ID, g.Name, g.Biotype = r.str(), r.str(), r.str()
		g.Chrom = int32(r.uv())
		g.Start = int32(r.uv())
		g.End = g.Start + int32(r.uv())
		g.Strand = model.Strand(r.sv())
	}
}

// transcripts reads the transcripts (delta-coded exons), checking that
// each refers to a gene and chromosome read before.
func (r *reader) transcripts(ref *model.Reference) {
	nt := r.count(12)
	ref.Transcripts = make([]model.Transcript, nt)
	for i := 0; i < nt && r.err == nil; i++ {
		t := &ref.Transcripts[i]
		t.ID, t.Biotype = r.str(), r.str()
		t.Gene = int32(r.uv())
		t.Chrom = int32(r.uv())
		t.Strand = model.Strand(r.sv())
		t.Phase = uint8(r.uv())
		t.Flags = uint8(r.uv())
		t.CDSStart = int32(r.uv())
		t.CDSEnd = int32(r.uv())
		ne := r.count(2)
		t.Exons = make([]model.Range, ne)
		var prev int32
		for k := 0; k < ne; k++ {
			s := prev + int32(r.uv())
			t.Exons[k] = model.Range{Start: s, End: s + int32(r.uv())}
			prev = t.Exons[k].End
		}
		if int(t.Gene) >= len(ref.Genes) || int(t.Chrom) >= len(ref.Chroms) {
			r.err = fmt.Errorf("%w: transcript %s refers to a missing gene or chromosome", ErrFormat, t.ID)
		}
	}
}
