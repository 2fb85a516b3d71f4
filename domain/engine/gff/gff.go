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

	"github.com/gasproject/gas/domain/engine/lineio"
	"github.com/gasproject/gas/domain/engine/model"
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
		f, ok, err := parseLine(cols, gtf)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "%v", err))
		}
		if ok {
			b.Add(f)
		}
	}
}

func kindOf(t string, gtf bool) model.FeatureKind {
	switch t {
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
	if !gtf && strings.HasSuffix(t, "_transcript") {
		return model.KindTranscript
	}
	if strings.HasSuffix(t, "_gene") {
		return model.KindGene // Ensembl: lincRNA_gene, miRNA_gene, snRNA_gene, ...
	}
	return model.KindOther
}

func parseLine(c [9][]byte, gtf bool) (model.Feature, bool, error) {
	var f model.Feature
	f.Kind = kindOf(string(c[2]), gtf)
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
	f.Chrom = string(c[0])
	s, err1 := strconv.ParseInt(string(c[3]), 10, 32)
	e, err2 := strconv.ParseInt(string(c[4]), 10, 32)
	if err1 != nil || err2 != nil {
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
	var attrs map[string]string
	var err error
	if gtf {
		attrs, err = gtfAttrs(c[8])
	} else {
		attrs, err = gff3Attrs(c[8])
	}
	if err != nil {
		return f, false, err
	}
	if gtf {
		return fromGTF(f, attrs)
	}
	return fromGFF3(f, attrs)
}

func first(a map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := a[k]; v != "" {
			return v
		}
	}
	return ""
}

func fromGFF3(f model.Feature, a map[string]string) (model.Feature, bool, error) {
	id := a["ID"]
	var parents []string
	if p := a["Parent"]; p != "" {
		parents = strings.Split(p, ",")
	}
	// Ensembl types some genes as their transcripts' type and some
	// transcripts as genes: the identifiers decide.
	if f.Kind == model.KindGene && len(parents) > 0 {
		f.Kind = model.KindTranscript // e.g. "pseudogene" lines under a gene
	}
	if f.Kind == model.KindTranscript && len(parents) == 0 && (strings.HasPrefix(id, "gene:") || a["gene_id"] != "" && a["transcript_id"] == "") {
		f.Kind = model.KindGene // e.g. a "processed_transcript" line with ID=gene:...
	}
	switch f.Kind {
	case model.KindGene:
		if id == "" {
			return f, false, errors.New("gene line without ID")
		}
		f.ID = id
		f.Name = first(a, "Name", "gene_name", "gene", "locus_tag")
		f.Label = a["gene_id"]
		f.Biotype = first(a, "biotype", "gene_biotype", "gene_type")
	case model.KindTranscript:
		if id == "" {
			return f, false, errors.New("transcript line without ID")
		}
		f.ID = id
		f.Parents = parents
		f.Name = a["Name"]
		f.Label = a["transcript_id"]
		f.Biotype = first(a, "biotype", "transcript_biotype", "transcript_type", "gene_biotype", "gene_type")
		f.Tags = a["tag"]
	default:
		if len(parents) == 0 {
			return f, false, errors.New("feature without Parent")
		}
		f.Parents = parents
	}
	return f, true, nil
}

func fromGTF(f model.Feature, a map[string]string) (model.Feature, bool, error) {
	gid := a["gene_id"]
	tid := a["transcript_id"]
	switch f.Kind {
	case model.KindGene:
		if gid == "" {
			return f, false, errors.New("gene line without gene_id")
		}
		f.ID = gid
		f.Label = gid
		f.Name = first(a, "gene_name", "gene")
		f.Biotype = first(a, "gene_biotype", "gene_type")
	case model.KindTranscript:
		if tid == "" {
			return f, false, errors.New("transcript line without transcript_id")
		}
		f.ID = tid
		f.Label = tid
		f.Parents = []string{gid}
		f.Biotype = first(a, "transcript_biotype", "transcript_type", "gene_biotype", "gene_type")
		f.Tags = a["tag"]
	default:
		if tid == "" {
			return f, false, errors.New("feature without transcript_id")
		}
		f.Parents = strings.Split(tid, ",") // shared exons list several (seen in Ensembl files)
	}
	return f, true, nil
}

func gff3Attrs(col []byte) (map[string]string, error) {
	a := make(map[string]string, 8)
	if len(col) == 0 || (len(col) == 1 && col[0] == '.') {
		return a, nil
	}
	for _, kv := range bytes.Split(col, []byte{';'}) {
		kv = bytes.TrimSpace(kv)
		if len(kv) == 0 {
			continue
		}
		i := bytes.IndexByte(kv, '=')
		if i <= 0 {
			return nil, fmt.Errorf("attribute %q is not key=value", truncate(kv))
		}
		k := string(kv[:i])
		v := string(kv[i+1:])
		if strings.IndexByte(v, '%') >= 0 {
			if u, err := url.PathUnescape(v); err == nil {
				v = u
			}
		}
		if old, ok := a[k]; ok && k == "tag" {
			v = old + "," + v
		}
		a[k] = v
	}
	return a, nil
}

func gtfAttrs(col []byte) (map[string]string, error) {
	a := make(map[string]string, 8)
	rest := bytes.TrimSpace(col)
	for len(rest) > 0 {
		if rest[0] == ';' { // empty attribute (";;" occurs in real files)
			rest = bytes.TrimLeft(rest[1:], " \t")
			continue
		}
		i := bytes.IndexAny(rest, " \t")
		if i <= 0 {
			return nil, fmt.Errorf("attribute %q has no value", truncate(rest))
		}
		k := string(rest[:i])
		rest = bytes.TrimLeft(rest[i:], " \t")
		var v string
		if len(rest) > 0 && rest[0] == '"' {
			j := bytes.IndexByte(rest[1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("attribute %s: unterminated quote", k)
			}
			v = string(rest[1 : 1+j])
			rest = rest[2+j:]
		} else {
			j := bytes.IndexByte(rest, ';')
			if j < 0 {
				j = len(rest)
			}
			v = string(bytes.TrimSpace(rest[:j]))
			rest = rest[j:]
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) > 0 {
			if rest[0] != ';' {
				return nil, fmt.Errorf("attribute %s: expected ';' after the value", k)
			}
			rest = bytes.TrimLeft(rest[1:], " \t")
		}
		if old, ok := a[k]; ok && k == "tag" {
			v = old + "," + v
		}
		a[k] = v
	}
	return a, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
