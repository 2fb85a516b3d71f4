package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
)

// variantData is the detail view of one ALT allele: every transcript's
// consequence and HGVS, the known-variant ids and AF, and links out.
type variantData struct {
	Job                                *domain.Job
	Chrom, Pos, Ref, Alt, Qual, Filter string
	AF                                 string
	IDs                                []string
	Rows                               []transcriptRow
	Links                              []outLink
	Assembly, AssemblyNote             string
}

// transcriptRow is one ANN entry of the allele.
type transcriptRow struct {
	export.Row
	Terms                 []string
	Warnings              []string
	Canonical, MANESelect bool
	Shown                 bool // the row the table linked from
}

// outLink is a link to a public resource for the variant, built from its
// coordinates and ids (the server calls none of them).
type outLink struct{ Name, URL, What string }

// variantPage shows table row {ord}'s allele with all its transcripts.
func (s *Server) variantPage(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	j, dec, err := s.d.Jobs.Download(r.Context(), currentUser(r).ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	if dec.State != domain.DownloadAllowed {
		s.notDownloadable(w, r, dec)
		return
	}
	ord, err := strconv.ParseInt(mux.Vars(r)["ord"], 10, 64)
	if err != nil || j.Results().Index == "" {
		s.notFound(w, r)
		return
	}
	row, err := s.row(r, j, ord)
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	if row == nil {
		s.notFound(w, r)
		return
	}
	d, err := variantOf(j, row)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "variant", view{Title: d.Chrom + ":" + d.Pos + " " + d.Ref + ">" + d.Alt + " · " + j.Name(), Nav: "annotations", Data: d})
}

// row reads table row ord (table order: the unfiltered position sort), or
// nil when there is none.
func (s *Server) row(r *http.Request, j *domain.Job, ord int64) (*vartable.Row, error) {
	ix, err := s.openIndex(r.Context(), j.Results().Index)
	if err != nil {
		return nil, err
	}
	pg, err := ix.Query(r.Context(), vartable.Query{Sort: vartable.SortPosition, Offset: ord, Limit: 1})
	if err != nil || len(pg.Variants) != 1 || pg.Variants[0].Ordinal != ord {
		return nil, err
	}
	rows, err := vartable.ReadRows(r.Context(), s.ranger(j.Results().VCF), pg.Variants)
	if err != nil {
		return nil, err
	}
	return &rows[0], nil
}

// variantOf reads every entry of the row's allele from its VCF line.
func variantOf(j *domain.Job, row *vartable.Row) (variantData, error) {
	var d variantData
	d.Job = j
	i := 0
	err := export.Rows([]byte(row.Line), row.Allele, func(x *export.Row) error {
		if i == 0 {
			d.Chrom, d.Pos, d.Ref, d.Alt, d.Qual, d.Filter, d.AF = x.Chrom, x.Pos, x.Ref, x.Alt, x.Qual, x.Filter, x.KnownAF
			for id := range strings.SplitSeq(x.ID, ";") {
				if id != "" && id != "." {
					d.IDs = append(d.IDs, id)
				}
			}
		}
		t := transcriptRow{Row: *x, Terms: strings.Split(x.Ann[1], "&"), Shown: i == row.Entry}
		for w := range strings.SplitSeq(x.Ann[15], "&") {
			switch {
			case w == "INFO_CANONICAL":
				t.Canonical = true
			case w == "INFO_MANE_SELECT":
				t.MANESelect = true
			case w != "" && !strings.HasPrefix(w, "INFO_"):
				t.Warnings = append(t.Warnings, w)
			}
		}
		d.Rows = append(d.Rows, t)
		i++
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("variant at %s:%d: %w", row.Chrom, row.Pos, err)
	}
	d.Assembly, d.AssemblyNote = assemblyOf(j.Reference())
	d.Links = outLinks(d)
	return d, nil
}

// assemblyOf tells the human assembly from a reference's name, for links
// out; an unknown one is taken as GRCh38 and said so.
func assemblyOf(ref string) (string, string) {
	l := strings.ToLower(ref)
	switch {
	case strings.Contains(l, "grch37") || strings.Contains(l, "hg19"):
		return "GRCh37", ""
	case strings.Contains(l, "grch38") || strings.Contains(l, "hg38"):
		return "GRCh38", ""
	}
	return "GRCh38", "The reference " + ref + " is not a human assembly GAS recognises: the links below assume GRCh38 coordinates."
}

// outLinks are Ensembl, dbSNP, ClinVar and gnomAD for the variant, by its
// rsID where it has one, else by its coordinates on the assembly.
func outLinks(d variantData) []outLink {
	chr := strings.TrimPrefix(strings.TrimPrefix(d.Chrom, "chr"), "Chr")
	if chr == "M" {
		chr = "MT"
	}
	rs := ""
	for _, id := range d.IDs {
		if strings.HasPrefix(id, "rs") {
			rs = id
			break
		}
	}
	ensembl, gnomad, clinpos := "https://www.ensembl.org", "gnomad_r4", "chrpos38"
	if d.Assembly == "GRCh37" {
		ensembl, gnomad, clinpos = "https://grch37.ensembl.org", "gnomad_r2_1", "chrpos37"
	}
	loc := chr + ":" + d.Pos + "-" + d.Pos
	links := []outLink{{"Ensembl", ensembl + "/Homo_sapiens/Location/View?r=" + url.QueryEscape(loc), "the region " + loc + " (" + d.Assembly + ")"}}
	if rs != "" {
		links = append(links,
			outLink{"Ensembl variant", ensembl + "/Homo_sapiens/Variation/Explore?v=" + url.QueryEscape(rs), rs},
			outLink{"dbSNP", "https://www.ncbi.nlm.nih.gov/snp/" + url.PathEscape(rs), rs},
			outLink{"ClinVar", "https://www.ncbi.nlm.nih.gov/clinvar/?term=" + url.QueryEscape(rs), "records of " + rs})
	} else {
		links = append(links,
			outLink{"dbSNP", "https://www.ncbi.nlm.nih.gov/snp/?term=" + url.QueryEscape(chr+"[CHR] AND "+d.Pos+"[CHRPOS]"), "variants at " + chr + ":" + d.Pos},
			outLink{"ClinVar", "https://www.ncbi.nlm.nih.gov/clinvar/?term=" + url.QueryEscape(chr+"[chr] AND "+d.Pos+"["+clinpos+"]"), "records at " + chr + ":" + d.Pos})
	}
	id := chr + "-" + d.Pos + "-" + d.Ref + "-" + d.Alt
	return append(links, outLink{"gnomAD", "https://gnomad.broadinstitute.org/variant/" + url.PathEscape(id) + "?dataset=" + gnomad, id})
}
