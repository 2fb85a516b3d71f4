// Package export converts an annotated VCF (the engine's output, with ANN)
// into the flat formats users download: TSV with one row per variant and
// transcript, and JSON lines with one object per VCF record. The web app
// uses it to serve downloads from stored results; `gas annotate --format`
// uses it too.
package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gasproject/gas/adapters/engine/lineio"
)

// ErrFormat marks input that is not an annotated VCF.
var ErrFormat = errors.New("not an annotated VCF")

// Columns is the TSV header: the VCF site columns, then the ANN sub-fields.
var Columns = []string{"CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER",
	"Allele", "Annotation", "Impact", "Gene_Name", "Gene_ID", "Feature_Type", "Feature_ID",
	"Transcript_BioType", "Rank", "HGVS_c", "HGVS_p", "cDNA_pos", "CDS_pos", "AA_pos", "Distance", "Warnings"}

const maxLine = 64 << 20

// record walks the data lines of an annotated VCF.
func eachRecord(in io.Reader, f func(cols [][]byte, ann [][]byte) error) error {
	lr := lineio.NewReader(in, maxLine)
	var cols [][]byte
	var ann [][]byte
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFormat, err)
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		cols = cols[:0]
		rest := line
		for len(cols) < 8 {
			i := bytes.IndexByte(rest, '\t')
			if i < 0 {
				cols = append(cols, rest)
				break
			}
			cols = append(cols, rest[:i])
			rest = rest[i+1:]
		}
		if len(cols) < 8 {
			return fmt.Errorf("%w: %w", ErrFormat, lineio.Errorf(lr.Line(), "expected at least 8 columns"))
		}
		ann = ann[:0]
		for _, kv := range bytes.Split(cols[7], []byte{';'}) {
			if bytes.HasPrefix(kv, []byte("ANN=")) {
				ann = append(ann, bytes.Split(kv[4:], []byte{','})...)
			}
		}
		if err := f(cols, ann); err != nil {
			return err
		}
	}
}

// ToTSV writes one row per (variant allele, feature) ANN entry, with a header.
// Records without ANN get one row with empty annotation columns.
func ToTSV(annotatedVCF io.Reader, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for i, c := range Columns {
		if i > 0 {
			bw.WriteByte('\t')
		}
		bw.WriteString(c)
	}
	bw.WriteByte('\n')
	var row []byte
	err := eachRecord(annotatedVCF, func(cols, ann [][]byte) error {
		site := row[:0]
		for i := 0; i < 7; i++ {
			site = append(site, cols[i]...)
			site = append(site, '\t')
		}
		if len(ann) == 0 {
			bw.Write(site)
			for k := 0; k < 15; k++ {
				bw.WriteByte('\t')
			}
			bw.WriteByte('\n')
			row = site
			return nil
		}
		for _, a := range ann {
			bw.Write(site)
			f := bytes.Split(a, []byte{'|'})
			for k := 0; k < 16; k++ {
				if k > 0 {
					bw.WriteByte('\t')
				}
				if k < len(f) {
					bw.Write(f[k])
				}
			}
			bw.WriteByte('\n')
		}
		row = site
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// Annotation is one ANN entry in JSON.
type Annotation struct {
	Allele    string `json:"allele"`
	Effects   string `json:"effects"`
	Impact    string `json:"impact"`
	GeneName  string `json:"gene_name,omitempty"`
	GeneID    string `json:"gene_id,omitempty"`
	Feature   string `json:"feature_type,omitempty"`
	FeatureID string `json:"feature_id,omitempty"`
	Biotype   string `json:"biotype,omitempty"`
	Rank      string `json:"rank,omitempty"`
	HGVSc     string `json:"hgvs_c,omitempty"`
	HGVSp     string `json:"hgvs_p,omitempty"`
	CDNAPos   string `json:"cdna_pos,omitempty"`
	CDSPos    string `json:"cds_pos,omitempty"`
	AAPos     string `json:"aa_pos,omitempty"`
	Distance  *int64 `json:"distance,omitempty"`
	Warnings  string `json:"warnings,omitempty"`
}

// Record is one VCF record in JSON.
type Record struct {
	Chrom       string       `json:"chrom"`
	Pos         int64        `json:"pos"`
	ID          string       `json:"id"`
	Ref         string       `json:"ref"`
	Alt         []string     `json:"alt"`
	Qual        string       `json:"qual"`
	Filter      string       `json:"filter"`
	Annotations []Annotation `json:"annotations"`
}

// ToJSON writes JSON lines: one Record object per VCF record.
func ToJSON(annotatedVCF io.Reader, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	err := eachRecord(annotatedVCF, func(cols, ann [][]byte) error {
		pos, _ := strconv.ParseInt(string(cols[1]), 10, 64)
		r := Record{Chrom: string(cols[0]), Pos: pos, ID: string(cols[2]), Ref: string(cols[3]),
			Qual: string(cols[5]), Filter: string(cols[6]), Annotations: []Annotation{}}
		for _, a := range bytes.Split(cols[4], []byte{','}) {
			r.Alt = append(r.Alt, string(a))
		}
		for _, a := range ann {
			f := bytes.Split(a, []byte{'|'})
			for len(f) < 16 {
				f = append(f, nil)
			}
			x := Annotation{Allele: string(f[0]), Effects: string(f[1]), Impact: string(f[2]), GeneName: string(f[3]),
				GeneID: string(f[4]), Feature: string(f[5]), FeatureID: string(f[6]), Biotype: string(f[7]),
				Rank: string(f[8]), HGVSc: string(f[9]), HGVSp: string(f[10]), CDNAPos: string(f[11]),
				CDSPos: string(f[12]), AAPos: string(f[13]), Warnings: string(f[15])}
			if d, err := strconv.ParseInt(string(f[14]), 10, 64); err == nil {
				x.Distance = &d
			}
			r.Annotations = append(r.Annotations, x)
		}
		return enc.Encode(&r)
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
