// Package gff reads gene models: GFF3 in the Ensembl, GENCODE and NCBI
// RefSeq flavours, and GTF from Ensembl and GENCODE. Both feed a
// model.Builder, which assembles genes, transcripts, exons and CDS whatever
// the order of the lines; errors name the line and what was wrong.
package gff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gasproject/gas/adapters/engine/lineio"
	"github.com/gasproject/gas/adapters/engine/model"
)

// ErrFormat marks malformed gene-model input.
var ErrFormat = errors.New("malformed gene model")

// Options tune parsing.
type Options struct {
	MaxLine int // longest accepted line in bytes (lineio.DefaultMaxLine when 0)
}

// ReadGFF3 parses a GFF3 stream into b.
func ReadGFF3(r io.Reader, b *model.Builder, opt Options) error {
	return read(r, b, opt, false)
}

// ReadGTF parses a GTF (GFF2) stream into b.
func ReadGTF(r io.Reader, b *model.Builder, opt Options) error {
	return read(r, b, opt, true)
}

func read(r io.Reader, b *model.Builder, opt Options, gtf bool) error {
	lr := lineio.NewReader(r, opt.MaxLine)
	var cols [9][]byte
	p := &parser{gtf: gtf}
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if len(line) == 0 || line[0] == '#' {
			if bytes.HasPrefix(line, []byte("##FASTA")) {
				return nil // embedded sequence section ends the features
			}
			continue
		}
		n := 0
		rest := line
		for n < 8 {
			i := bytes.IndexByte(rest, '\t')
			if i < 0 {
				break
			}
			cols[n] = rest[:i]
			rest = rest[i+1:]
			n++
		}
		cols[n] = rest
		n++
		if n < 9 {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "expected 9 tab-separated columns, found %d", n))
		}
		f, ok, err := p.parseLine(&cols)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "%v", err))
		}
		if ok {
			b.Add(f)
		}
	}
}

// parser holds per-file state that lets a line be parsed without
// allocating: attributes are kept as slices of the line, and the strings
// that repeat from line to line (sequence name, parent identifier,
// biotype) are reused rather than copied again. Gene-model files have
// hundreds of thousands of lines, and this is most of a reference's load
// time.
type parser struct {
	gtf     bool
	attrs   []attr
	parents []string
	chrom   string
	parent  string
	words   map[string]string // biotypes and other short repeated values
}

// attr is one key/value attribute, both slices of the current line.
type attr struct{ k, v []byte }

// maxWords bounds the reuse table (distinct biotypes number a few dozen).
const maxWords = 256

// reuse returns b as a string, reusing last when it has the same bytes.
func reuse(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

// word returns b as a string from the table of short repeated values.
func (p *parser) word(b []byte) string {
	if s, ok := p.words[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.words == nil {
		p.words = map[string]string{}
	}
	if len(p.words) < maxWords {
		p.words[s] = s
	}
	return s
}

// val is the raw value of the last attribute named key (nil when absent).
func (p *parser) val(key string) []byte {
	for i := len(p.attrs) - 1; i >= 0; i-- {
		if string(p.attrs[i].k) == key {
			return p.attrs[i].v
		}
	}
	return nil
}

// decode turns a raw value into a string: GFF3 values are percent-decoded.
func (p *parser) decode(v []byte) string {
	if !p.gtf && bytes.IndexByte(v, '%') >= 0 {
		if u, err := url.PathUnescape(string(v)); err == nil {
			return u
		}
	}
	return string(v)
}

// str is the decoded value of key ("" when absent). Repeated "tag"
// attributes are joined with commas.
func (p *parser) str(key string) string {
	if key == "tag" {
		var out string
		n := 0
		for _, a := range p.attrs {
			if string(a.k) == "tag" {
				if n > 0 {
					out += ","
				}
				out += p.decode(a.v)
				n++
			}
		}
		return out
	}
	return p.decode(p.val(key))
}

// has reports whether key has a non-empty value.
func (p *parser) has(key string) bool {
	v := p.val(key)
	if len(v) == 0 {
		return false
	}
	return p.decode(v) != ""
}

// first is the first of keys with a non-empty value.
func (p *parser) first(keys ...string) string {
	for _, k := range keys {
		if v := p.val(k); len(v) > 0 {
			if s := p.decode(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// firstWord is first for values that repeat across the file (biotypes).
func (p *parser) firstWord(keys ...string) string {
	for _, k := range keys {
		if v := p.val(k); len(v) > 0 {
			if p.gtf || bytes.IndexByte(v, '%') < 0 {
				return p.word(v)
			}
			if s := p.decode(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// splitParents fills p.parents from a comma-separated value.
func (p *parser) splitParents(v []byte) []string {
	p.parents = p.parents[:0]
	if len(v) == 0 {
		return nil
	}
	if p.gtf || bytes.IndexByte(v, '%') < 0 {
		for {
			i := bytes.IndexByte(v, ',')
			if i < 0 {
				p.parents = append(p.parents, reuse(&p.parent, v))
				return p.parents
			}
			p.parents = append(p.parents, string(v[:i]))
			v = v[i+1:]
		}
	}
	return append(p.parents, strings.Split(p.decode(v), ",")...)
}

func kindOf(tb []byte, gtf bool) model.FeatureKind {
	switch t := string(tb); t {
	case "gene", "pseudogene", "ncRNA_gene":
		return model.KindGene
	case "exon", "pseudogenic_exon", "noncoding_exon":
		return model.KindExon
	case "CDS":
		return model.KindCDS
	case "five_prime_UTR", "five_prime_utr", "5UTR":
		return model.KindUTR5
	case "three_prime_UTR", "three_prime_utr", "3UTR":
		return model.KindUTR3
	case "UTR":
		return model.KindUTR
	case "start_codon":
		return model.KindStartCodon
	case "stop_codon":
		return model.KindStopCodon
	case "transcript", "mRNA", "ncRNA", "lnc_RNA", "lincRNA", "snRNA", "snoRNA", "miRNA", "rRNA", "tRNA",
		"scRNA", "scaRNA", "misc_RNA", "primary_transcript", "pseudogenic_transcript", "NMD_transcript_variant",
		"processed_transcript", "unconfirmed_transcript", "aberrant_processed_transcript", "antisense_RNA",
		"V_gene_segment", "D_gene_segment", "J_gene_segment", "C_gene_segment", "vault_RNA", "Y_RNA",
		"RNase_MRP_RNA", "RNase_P_RNA", "telomerase_RNA", "guide_RNA", "piRNA", "siRNA", "transcript_region":
		return model.KindTranscript
	}
	if !gtf && bytes.HasSuffix(tb, []byte("_transcript")) {
		return model.KindTranscript
	}
	if bytes.HasSuffix(tb, []byte("_gene")) {
		return model.KindGene // Ensembl: lincRNA_gene, miRNA_gene, snRNA_gene, ...
	}
	return model.KindOther
}

func (p *parser) parseLine(c *[9][]byte) (model.Feature, bool, error) {
	var f model.Feature
	gtf := p.gtf
	f.Kind = kindOf(c[2], gtf)
	if f.Kind == model.KindOther {
		// GFF3: any other feature with both an ID and a Parent is a
		// transcript of some type (Ensembl: processed_pseudogene, RNA, ...)
		// and one without a Parent but naming a gene is a gene (Ensembl "RNA")
		switch {
		case gtf || !bytes.Contains(c[8], []byte("ID=")):
			return f, false, nil
		case bytes.Contains(c[8], []byte("Parent=")):
			f.Kind = model.KindTranscript
		case bytes.Contains(c[8], []byte("ID=gene:")) || bytes.Contains(c[8], []byte("gene_id=")):
			f.Kind = model.KindGene
		default:
			return f, false, nil
		}
	}
	if len(c[0]) == 0 {
		return f, false, errors.New("empty sequence name")
	}
	f.Chrom = reuse(&p.chrom, c[0])
	s, ok1 := atoi32(c[3])
	e, ok2 := atoi32(c[4])
	if !ok1 || !ok2 {
		return f, false, fmt.Errorf("start %q / end %q are not integers", c[3], c[4])
	}
	if s < 1 && (f.Kind == model.KindGene || f.Kind == model.KindTranscript) && e >= 1 {
		s = 1 // gene/transcript lines of clipped regions may start before the sequence
	}
	if s < 1 || e < s {
		return f, false, fmt.Errorf("bad interval %d-%d", s, e)
	}
	f.Start, f.End = int32(s), int32(e)
	switch string(c[6]) {
	case "+":
		f.Strand = model.Forward
	case "-":
		f.Strand = model.Reverse
	case ".", "?":
		f.Strand = model.Forward
	default:
		return f, false, fmt.Errorf("strand %q is not +, - or .", c[6])
	}
	f.Phase = -1
	switch string(c[7]) {
	case "0", "1", "2":
		f.Phase = int8(c[7][0] - '0')
	case ".":
	default:
		return f, false, fmt.Errorf("phase %q is not 0, 1, 2 or .", c[7])
	}
	var err error
	if gtf {
		err = p.gtfAttrs(c[8])
	} else {
		err = p.gff3Attrs(c[8])
	}
	if err != nil {
		return f, false, err
	}
	if gtf {
		return p.fromGTF(f)
	}
	return p.fromGFF3(f)
}

// atoi32 parses a signed decimal that fits in 32 bits, as
// strconv.ParseInt(s, 10, 32) would accept it.
func atoi32(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 11 {
		v, err := strconv.ParseInt(string(b), 10, 32)
		return v, err == nil
	}
	neg := false
	d := b
	if d[0] == '-' || d[0] == '+' {
		neg = d[0] == '-'
		d = d[1:]
		if len(d) == 0 {
			return 0, false
		}
	}
	var v int64
	for _, ch := range d {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 || v < -1<<31 {
		return 0, false
	}
	return v, true
}

func (p *parser) fromGFF3(f model.Feature) (model.Feature, bool, error) {
	var parents []string
	if v := p.val("Parent"); len(v) > 0 {
		parents = p.splitParents(v)
		if len(parents) == 1 && parents[0] == "" {
			parents = nil // "Parent=%" style values that decode to nothing
		}
	}
	// Ensembl types some genes as their transcripts' type and some
	// transcripts as genes: the identifiers decide.
	if f.Kind == model.KindGene && len(parents) > 0 {
		f.Kind = model.KindTranscript // e.g. "pseudogene" lines under a gene
	}
	if f.Kind == model.KindExon || f.Kind == model.KindCDS || f.Kind == model.KindUTR5 || f.Kind == model.KindUTR3 ||
		f.Kind == model.KindUTR || f.Kind == model.KindStartCodon || f.Kind == model.KindStopCodon {
		if len(parents) == 0 {
			return f, false, errors.New("feature without Parent")
		}
		f.Parents = parents
		return f, true, nil
	}
	id := p.str("ID")
	if f.Kind == model.KindTranscript && len(parents) == 0 && (strings.HasPrefix(id, "gene:") || p.has("gene_id") && !p.has("transcript_id")) {
		f.Kind = model.KindGene // e.g. a "processed_transcript" line with ID=gene:...
	}
	switch f.Kind {
	case model.KindGene:
		if id == "" {
			return f, false, errors.New("gene line without ID")
		}
		f.ID = id
		f.Name = p.first("Name", "gene_name", "gene", "locus_tag")
		f.Label = p.str("gene_id")
		f.Biotype = p.firstWord("biotype", "gene_biotype", "gene_type")
	case model.KindTranscript:
		if id == "" {
			return f, false, errors.New("transcript line without ID")
		}
		f.ID = id
		f.Parents = parents
		f.Name = p.str("Name")
		f.Label = p.str("transcript_id")
		f.Biotype = p.firstWord("biotype", "transcript_biotype", "transcript_type", "gene_biotype", "gene_type")
		f.Tags = p.str("tag")
	}
	return f, true, nil
}

func (p *parser) fromGTF(f model.Feature) (model.Feature, bool, error) {
	switch f.Kind {
	case model.KindGene:
		gid := p.str("gene_id")
		if gid == "" {
			return f, false, errors.New("gene line without gene_id")
		}
		f.ID = gid
		f.Label = gid
		f.Name = p.first("gene_name", "gene")
		f.Biotype = p.firstWord("gene_biotype", "gene_type")
	case model.KindTranscript:
		tid := p.str("transcript_id")
		if tid == "" {
			return f, false, errors.New("transcript line without transcript_id")
		}
		f.ID = tid
		f.Label = tid
		f.Parents = []string{p.str("gene_id")}
		f.Biotype = p.firstWord("transcript_biotype", "transcript_type", "gene_biotype", "gene_type")
		f.Tags = p.str("tag")
	default:
		tid := p.val("transcript_id")
		if len(tid) == 0 {
			return f, false, errors.New("feature without transcript_id")
		}
		f.Parents = p.splitParents(tid) // shared exons list several (seen in Ensembl files)
	}
	return f, true, nil
}

// gff3Attrs splits a GFF3 attribute column (key=value pairs separated by
// semicolons) into p.attrs.
func (p *parser) gff3Attrs(col []byte) error {
	p.attrs = p.attrs[:0]
	if len(col) == 0 || (len(col) == 1 && col[0] == '.') {
		return nil
	}
	for len(col) > 0 {
		var kv []byte
		if i := bytes.IndexByte(col, ';'); i >= 0 {
			kv, col = col[:i], col[i+1:]
		} else {
			kv, col = col, nil
		}
		kv = bytes.TrimSpace(kv)
		if len(kv) == 0 {
			continue
		}
		i := bytes.IndexByte(kv, '=')
		if i <= 0 {
			return fmt.Errorf("attribute %q is not key=value", truncate(kv))
		}
		p.attrs = append(p.attrs, attr{kv[:i], kv[i+1:]})
	}
	return nil
}

// gtfAttrs splits a GTF attribute column (key "value"; pairs) into p.attrs.
func (p *parser) gtfAttrs(col []byte) error {
	p.attrs = p.attrs[:0]
	rest := bytes.TrimSpace(col)
	for len(rest) > 0 {
		if rest[0] == ';' { // empty attribute (";;" occurs in real files)
			rest = bytes.TrimLeft(rest[1:], " \t")
			continue
		}
		i := bytes.IndexAny(rest, " \t")
		if i <= 0 {
			return fmt.Errorf("attribute %q has no value", truncate(rest))
		}
		k := rest[:i]
		rest = bytes.TrimLeft(rest[i:], " \t")
		var v []byte
		if len(rest) > 0 && rest[0] == '"' {
			j := bytes.IndexByte(rest[1:], '"')
			if j < 0 {
				return fmt.Errorf("attribute %s: unterminated quote", k)
			}
			v = rest[1 : 1+j]
			rest = rest[2+j:]
		} else {
			j := bytes.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			v = bytes.TrimSpace(rest[:j])
			rest = rest[j:]
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) > 0 {
			if rest[0] != ';' {
				return fmt.Errorf("attribute %s: expected ';' after the value", k)
			}
			rest = bytes.TrimLeft(rest[1:], " \t")
		}
		p.attrs = append(p.attrs, attr{k, v})
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
