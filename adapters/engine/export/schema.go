// Package export is GAS's one export schema: the flat columns every
// download is written in. The web app's TSV and JSON downloads, its
// filtered-table TSV, and `gas annotate --format tsv|json` all write the
// same Rows through the same Columns, so a column added here appears
// everywhere at once.
//
// A Row is one annotation of one ALT allele on one feature (the unit of
// the ANN field): a VCF record yields one row per ANN entry, or one row
// per ALT allele with empty annotation columns when it has none.
package export

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrFormat marks input that is not an annotated VCF.
var ErrFormat = errors.New("not an annotated VCF")

// annFields are the sub-fields of an ANN entry, in order.
const annFields = 16

// Row is one row of an export: a VCF site, one of its ALT alleles, and
// one ANN entry of that allele (all empty when the allele has none).
type Row struct {
	Chrom, Pos, ID, Ref, Alt, Qual, Filter string
	// KnownAF is the allele frequency of the matching known variant
	// (INFO KNOWN_AF for this allele), "" when unknown.
	KnownAF string
	// Ann holds the ANN sub-fields: Allele, Annotation, Impact, Gene_Name,
	// Gene_ID, Feature_Type, Feature_ID, Transcript_BioType, Rank, HGVS.c,
	// HGVS.p, cDNA.pos/len, CDS.pos/len, AA.pos/len, Distance, Warnings.
	Ann [annFields]string
}

// Kind says how a column's value is typed in JSON.
type Kind int

// Column kinds.
const (
	Text   Kind = iota
	Int         // a JSON number; empty is null
	Number      // a JSON number; empty or "." is null
	Flag        // YES or empty in TSV, true or false in JSON
)

// Column is one column of the schema: its TSV header, its JSON key and
// where its value comes from.
type Column struct {
	Name, JSON string
	Kind       Kind
	Value      func(*Row) string
}

func ann(i int) func(*Row) string { return func(r *Row) string { return r.Ann[i] } }

// warned is a Flag column: whether the entry's Warnings field has code.
func warned(code string) func(*Row) string {
	return func(r *Row) string {
		for w := range strings.SplitSeq(r.Ann[15], "&") {
			if w == code {
				return "YES"
			}
		}
		return ""
	}
}

// Columns is the export schema, in order.
var Columns = []Column{
	{"CHROM", "chrom", Text, func(r *Row) string { return r.Chrom }},
	{"POS", "pos", Int, func(r *Row) string { return r.Pos }},
	{"ID", "id", Text, func(r *Row) string { return r.ID }},
	{"REF", "ref", Text, func(r *Row) string { return r.Ref }},
	{"ALT", "alt", Text, func(r *Row) string { return r.Alt }},
	{"QUAL", "qual", Text, func(r *Row) string { return r.Qual }},
	{"FILTER", "filter", Text, func(r *Row) string { return r.Filter }},
	{"KNOWN_AF", "known_af", Number, func(r *Row) string { return r.KnownAF }},
	{"Allele", "allele", Text, ann(0)},
	{"Annotation", "annotation", Text, ann(1)},
	{"Impact", "impact", Text, ann(2)},
	{"Gene_Name", "gene_name", Text, ann(3)},
	{"Gene_ID", "gene_id", Text, ann(4)},
	{"Feature_Type", "feature_type", Text, ann(5)},
	{"Feature_ID", "feature_id", Text, ann(6)},
	{"Transcript_BioType", "biotype", Text, ann(7)},
	{"Rank", "rank", Text, ann(8)},
	{"HGVS_c", "hgvs_c", Text, ann(9)},
	{"HGVS_p", "hgvs_p", Text, ann(10)},
	{"cDNA_pos", "cdna_pos", Text, ann(11)},
	{"CDS_pos", "cds_pos", Text, ann(12)},
	{"AA_pos", "aa_pos", Text, ann(13)},
	{"Distance", "distance", Int, ann(14)},
	{"Warnings", "warnings", Text, ann(15)},
	{"Canonical", "canonical", Flag, warned("INFO_CANONICAL")},
	{"MANE_Select", "mane_select", Flag, warned("INFO_MANE_SELECT")},
}

var tab = []byte{'\t'}

// Rows parses one annotated VCF data line and calls each with its rows in
// ANN order. With allele >= 0 only that ALT allele's rows are given (the
// filtered table selects alleles). The Row passed is reused between calls.
func Rows(line []byte, allele int, each func(*Row) error) error {
	cols := bytes.SplitN(bytes.TrimRight(line, "\r\n"), tab, 9)
	if len(cols) < 8 {
		return errors.New("expected at least 8 columns")
	}
	alts := bytes.Split(cols[4], []byte{','})
	var r Row
	r.Chrom, r.Pos, r.ID, r.Ref, r.Qual, r.Filter = string(cols[0]), string(cols[1]), string(cols[2]),
		string(cols[3]), string(cols[5]), string(cols[6])
	afs := bytes.Split(info(cols[7], "KNOWN_AF"), []byte{','})
	entries := bytes.Split(info(cols[7], "ANN"), []byte{','})
	for i, alt := range alts {
		if allele >= 0 && i != allele {
			continue
		}
		r.Alt, r.KnownAF = string(alt), ""
		if len(afs) == len(alts) && string(afs[i]) != "." {
			r.KnownAF = string(afs[i])
		}
		if err := allelesRows(&r, entries, len(alts) == 1, each); err != nil {
			return err
		}
	}
	return nil
}

// Entry fills r with entry ann (its index in the line's ANN list) of ALT
// allele allele of an annotated VCF data line: the row the variant table
// calls (allele, ann).
func Entry(line []byte, allele, ann int, r *Row) error {
	cols := bytes.SplitN(bytes.TrimRight(line, "\r\n"), tab, 9)
	if len(cols) < 8 {
		return errors.New("expected at least 8 columns")
	}
	alts := bytes.Split(cols[4], []byte{','})
	if allele < 0 || allele >= len(alts) {
		return fmt.Errorf("no ALT allele %d", allele)
	}
	*r = Row{Chrom: string(cols[0]), Pos: string(cols[1]), ID: string(cols[2]), Ref: string(cols[3]), Alt: string(alts[allele]),
		Qual: string(cols[5]), Filter: string(cols[6])}
	if afs := bytes.Split(info(cols[7], "KNOWN_AF"), []byte{','}); len(afs) == len(alts) && string(afs[allele]) != "." {
		r.KnownAF = string(afs[allele])
	}
	entries := info(cols[7], "ANN")
	for k := 0; k < ann; k++ {
		i := bytes.IndexByte(entries, ',')
		if i < 0 {
			return fmt.Errorf("no ANN entry %d", ann)
		}
		entries = entries[i+1:]
	}
	if i := bytes.IndexByte(entries, ','); i >= 0 {
		entries = entries[:i]
	}
	for k, v := range bytes.SplitN(entries, []byte{'|'}, annFields) {
		r.Ann[k] = string(v)
	}
	return nil
}

// allelesRows gives r.Alt's ANN entries as rows, or one bare row when it has none.
func allelesRows(r *Row, entries [][]byte, single bool, each func(*Row) error) error {
	found := false
	for _, e := range entries {
		f := bytes.SplitN(e, []byte{'|'}, annFields)
		if len(f) < 3 || (!single && string(f[0]) != r.Alt) {
			continue
		}
		found = true
		r.Ann = [annFields]string{}
		for k, v := range f {
			r.Ann[k] = string(v)
		}
		if err := each(r); err != nil {
			return err
		}
	}
	if found {
		return nil
	}
	r.Ann = [annFields]string{}
	return each(r)
}

// info returns the value of key in a VCF INFO column (nil if absent).
func info(col []byte, key string) []byte {
	for len(col) > 0 {
		kv := col
		if i := bytes.IndexByte(col, ';'); i >= 0 {
			kv, col = col[:i], col[i+1:]
		} else {
			col = nil
		}
		if len(kv) > len(key) && kv[len(key)] == '=' && string(kv[:len(key)]) == key {
			return kv[len(key)+1:]
		}
	}
	return nil
}

// isNull reports whether a numeric column's value has no number.
func isNull(v string) bool {
	if v == "" || v == "." {
		return true
	}
	_, err := strconv.ParseFloat(v, 64)
	return err != nil
}
