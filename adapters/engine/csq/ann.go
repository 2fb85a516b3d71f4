package csq

import (
	"math/bits"

	"github.com/gasproject/gas/adapters/engine/model"
)

// ANNHeader is the VCF header line declaring the ANN field.
const ANNHeader = `##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: 'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / INFO'">`

// ANNFields names the sixteen sub-fields of an ANN entry, in order.
var ANNFields = []string{"Allele", "Annotation", "Annotation_Impact", "Gene_Name", "Gene_ID", "Feature_Type",
	"Feature_ID", "Transcript_BioType", "Rank", "HGVS.c", "HGVS.p", "cDNA.pos/cDNA.length", "CDS.pos/CDS.length",
	"AA.pos/AA.length", "Distance", "ERRORS/WARNINGS/INFO"}

// appendSafe appends s with characters that would break the VCF INFO or
// ANN syntax replaced by '_'.
func appendSafe(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch b {
		case ',', ';', '|', '=', ' ', '\t', '&':
			b = '_'
		}
		dst = append(dst, b)
	}
	return dst
}

// unsafe marks the bytes appendSafeBytes replaces.
var unsafe = [256]bool{',': true, ';': true, '|': true, '=': true, ' ': true, '\t': true}

// termImpact is "term|IMPACT|" for each single term: most entries carry
// one term, so formatting them is one copy.
var termImpact = func() (t [numTerms]string) {
	for i := range t {
		t[i] = termNames[i] + "|" + ImpactOf(Term(1)<<i).String() + "|"
	}
	return t
}()

func appendSafeBytes(dst, s []byte) []byte {
	for _, b := range s {
		switch b {
		case ',', ';', '|', '=', ' ', '\t':
			b = '_'
		}
		dst = append(dst, b)
	}
	return dst
}

// Labels is the constant ANN text of every gene and transcript, rendered
// once per reference so formatting an entry is a few copies.
type Labels struct {
	gene [][]byte  // "Name|ID|"
	tx   [][]byte  // "Name|ID|transcript|TxID|Biotype|"
	tags []Warning // per transcript: WarnCanonical, WarnMANESelect
}

// NewLabels renders the labels of ref.
func NewLabels(ref *model.Reference) *Labels {
	l := &Labels{gene: make([][]byte, len(ref.Genes)), tx: make([][]byte, len(ref.Transcripts)), tags: make([]Warning, len(ref.Transcripts))}
	for i := range ref.Genes {
		g := &ref.Genes[i]
		b := appendSafe(nil, g.Name)
		b = append(b, '|')
		b = appendSafe(b, g.ID)
		l.gene[i] = append(b, '|')
	}
	for i := range ref.Transcripts {
		t := &ref.Transcripts[i]
		b := append([]byte(nil), l.gene[t.Gene]...)
		b = append(b, "transcript|"...)
		b = appendSafe(b, t.ID)
		b = append(b, '|')
		b = appendSafe(b, t.Biotype)
		l.tx[i] = append(b, '|')
		if t.Canonical() {
			l.tags[i] |= WarnCanonical
		}
		if t.MANESelect() {
			l.tags[i] |= WarnMANESelect
		}
	}
	return l
}

// AppendANN appends the effects of one allele as comma-separated ANN entries
// (without the "ANN=" key). allele is the VCF ALT text.
func (c *Caller) AppendANN(dst []byte, allele []byte, effs []Effect) []byte {
	safe := true // sequence alleles need no escaping; symbolic ones might
	for _, b := range allele {
		if unsafe[b] {
			safe = false
			break
		}
	}
	for k := range effs {
		e := &effs[k]
		if k > 0 {
			dst = append(dst, ',')
		}
		if safe {
			dst = append(dst, allele...)
		} else {
			dst = appendSafeBytes(dst, allele)
		}
		dst = append(dst, '|')
		dst = appendTermsImpact(dst, e.Terms)
		switch {
		case e.Tx >= 0 && e.RankTotal == 0 && e.CDNAPos == 0 && e.CDSPos == 0 && e.AAPos == 0 &&
			e.HGVSc.a == e.HGVSc.b && e.HGVSp.a == e.HGVSp.b:
			// up/downstream: nothing between the label and the distance
			dst = append(dst, c.labels.tx[e.Tx]...)
			dst = append(dst, "||||||"...)
		case e.Tx >= 0:
			dst = c.appendTranscriptFields(dst, e)
		default:
			dst = c.appendIntergenicFields(dst, e)
		}
		if e.Distance >= 0 {
			dst = appendInt(dst, e.Distance)
		}
		dst = append(dst, '|')
		w := e.Warn
		if e.Tx >= 0 {
			w |= c.labels.tags[e.Tx]
		}
		dst = appendWarnings(dst, w)
	}
	return dst
}

// SortBySeverity puts one allele's effects most severe first (Severity),
// keeping the predicted order among equals. The transcript tags are added
// to each effect's warnings first (as AppendANN writes them), since they
// decide ties. Alleles have a
// handful of effects, so an insertion sort is the fastest.
func (c *Caller) SortBySeverity(effs []Effect) {
	for i := range effs {
		if tx := effs[i].Tx; tx >= 0 {
			effs[i].Warn |= c.labels.tags[tx]
		}
	}
	for i := 1; i < len(effs); i++ {
		e := effs[i]
		k := Severity(e.Terms, e.Warn)
		j := i
		for j > 0 && Severity(effs[j-1].Terms, effs[j-1].Warn) > k {
			effs[j] = effs[j-1]
			j--
		}
		effs[j] = e
	}
}

// appendTermsImpact writes the Annotation and Annotation_Impact fields.
func appendTermsImpact(dst []byte, t Term) []byte {
	if t != 0 && t&(t-1) == 0 {
		return append(dst, termImpact[bits.TrailingZeros32(uint32(t))]...)
	}
	dst = AppendTerms(dst, t)
	dst = append(dst, '|')
	dst = append(dst, ImpactOf(t).String()...)
	return append(dst, '|')
}

// appendTranscriptFields writes the fields from Gene_Name to AA.pos/AA.length
// of an entry on a transcript.
func (c *Caller) appendTranscriptFields(dst []byte, e *Effect) []byte {
	t := &c.ref.Transcripts[e.Tx]
	dst = append(dst, c.labels.tx[e.Tx]...)
	if e.RankTotal > 0 {
		dst = appendInt(dst, e.Rank)
		dst = append(dst, '/')
		dst = appendInt(dst, e.RankTotal)
	}
	dst = append(dst, '|')
	dst = append(dst, c.text[e.HGVSc.a:e.HGVSc.b]...)
	dst = append(dst, '|')
	dst = append(dst, c.text[e.HGVSp.a:e.HGVSp.b]...)
	dst = append(dst, '|')
	dst = appendOf(dst, e.CDNAPos, t.CDNALen())
	dst = appendOf(dst, e.CDSPos, t.CDSLen())
	return appendOf(dst, e.AAPos, t.ProteinLen())
}

// appendOf writes "pos/length|", or "|" when pos is 0 (not applicable).
func appendOf(dst []byte, pos, length int32) []byte {
	if pos > 0 {
		dst = appendInt(dst, pos)
		dst = append(dst, '/')
		dst = appendInt(dst, length)
	}
	return append(dst, '|')
}

// appendIntergenicFields writes the fields from Gene_Name to AA.pos/AA.length
// of an entry on no transcript: the nearest gene, if any.
func (c *Caller) appendIntergenicFields(dst []byte, e *Effect) []byte {
	if e.Gene >= 0 && int(e.Gene) < len(c.ref.Genes) {
		dst = append(dst, c.labels.gene[e.Gene]...)
	} else {
		dst = append(dst, "||"...)
	}
	if e.Terms&Intergenic != 0 {
		dst = append(dst, "intergenic_region"...)
	}
	return append(dst, "|||||||||"...)
}

// appendWarnings writes the ERRORS/WARNINGS/INFO field.
func appendWarnings(dst []byte, w Warning) []byte {
	first := true
	for i := range warnNames {
		if w&(1<<i) != 0 {
			if !first {
				dst = append(dst, '&')
			}
			dst = append(dst, warnNames[i]...)
			first = false
		}
	}
	return dst
}

// digits2 holds the two-digit decimals 00..99, for appendInt.
const digits2 = "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849" +
	"5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// appendInt appends a decimal two digits at a time: positions, lengths and
// distances fill most of an ANN entry, so this is hot.
func appendInt(dst []byte, v int32) []byte {
	u := uint32(v)
	if v < 0 {
		dst = append(dst, '-')
		u = uint32(-int64(v))
	}
	if u < 10 {
		return append(dst, byte('0'+u))
	}
	var buf [10]byte
	i := len(buf)
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = digits2[r], digits2[r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digits2[2*u], digits2[2*u+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(dst, buf[i:]...)
}
