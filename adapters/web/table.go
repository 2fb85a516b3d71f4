package web

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
)

// tableView is the variant table's page model. Its unit is the row: one
// ALT allele on one transcript (domain.RowUnit), as the charts count; the
// "most severe only" view shows each allele's most severe matching row.
type tableView struct {
	JobID                               string
	Rows                                []vartable.Row
	Total, From, To                     int64
	Page, Pages                         int64
	Filter                              vartable.Filter
	Filtered                            bool
	Sort                                vartable.SortKey
	Desc                                bool
	Impacts, Consequences, Genes        []menuItem
	Transcripts, Warnings               []menuItem
	AFBelow                             string
	PrevURL, NextURL, ViewURL, ClearURL string
	Exports                             []exportLink
	Unit                                string
	base                                url.Values
}

// menuItem is one choice of a filter menu with how many rows of the
// current view it selects.
type menuItem struct {
	Value, Label string
	Count        int64
}

// exportLink downloads the selection in one format.
type exportLink struct{ Label, URL string }

const tablePageSize = 50

// maxTablePage is the largest page number whose offset fits an int64.
const maxTablePage = math.MaxInt64/tablePageSize + 1

// tableQuery reads filter, sort and page from the query string.
func tableQuery(q url.Values) (vartable.Filter, vartable.SortKey, bool, int64) {
	f := vartable.ParseFilter(q)
	key, err := vartable.ParseSortKey(q.Get("sort"))
	if err != nil {
		key = vartable.SortPosition
	}
	page, err := strconv.ParseInt(q.Get("page"), 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(q.Get("page"), "-"), page > maxTablePage:
		page = maxTablePage // clamped to the last page once the total is known
	case page < 1:
		page = 1
	}
	return f, key, q.Get("desc") == "1", page
}

func (s *Server) table(r *http.Request, j *domain.Job) (*tableView, error) {
	ix, err := s.openIndex(r.Context(), j.Results().Index)
	if err != nil {
		return nil, err
	}
	f, key, desc, page := tableQuery(r.URL.Query())
	q := vartable.Query{Filter: f, Sort: key, Desc: desc, Offset: (page - 1) * tablePageSize, Limit: tablePageSize}
	pg, err := ix.Query(r.Context(), q)
	if err == nil && len(pg.Variants) == 0 && pg.Total > 0 {
		// A page past the end (an old link, a narrower filter) shows the
		// last page rather than "Showing 0–0".
		page = (pg.Total + tablePageSize - 1) / tablePageSize
		q.Offset = (page - 1) * tablePageSize
		pg, err = ix.Query(r.Context(), q)
	}
	if err != nil {
		return nil, err
	}
	rows, err := vartable.ReadRows(r.Context(), s.ranger(j.Results().VCF), pg.Variants)
	if err != nil {
		return nil, err
	}
	base := f.Values()
	delete(base, "most_severe") // a view, not a filter
	tv := &tableView{JobID: string(j.ID()), Rows: rows, Total: pg.Total, Page: page, Pages: max(1, (pg.Total+tablePageSize-1)/tablePageSize),
		Filter: f, Filtered: len(base) > 0, Sort: key, Desc: desc, base: f.Values(), Unit: unitText(f.MostSevere)}
	tv.menus(ix, f.MostSevere)
	if f.AFBelow > 0 {
		tv.AFBelow = strconv.FormatFloat(f.AFBelow, 'g', -1, 64)
	}
	if len(rows) > 0 {
		tv.From, tv.To = (page-1)*tablePageSize+1, (page-1)*tablePageSize+int64(len(rows))
	}
	tv.links(j, key, desc, page)
	return tv, nil
}

// unitText says what one table row is, in the view.
func unitText(mostSevere bool) string {
	if mostSevere {
		return "alleles (each allele's most severe matching transcript)"
	}
	return "rows (one per " + domain.RowUnit + ")"
}

// menus fills the filter menus with the counts of the view.
func (t *tableView) menus(ix *vartable.Index, mostSevere bool) {
	items := func(f vartable.Facet, label func(string) string, limit int) []menuItem {
		var out []menuItem
		for _, v := range ix.Values(f) {
			if v.Value == "" || v.In(mostSevere) == 0 {
				continue
			}
			out = append(out, menuItem{Value: v.Value, Label: label(v.Value), Count: v.In(mostSevere)})
			if len(out) == limit {
				break
			}
		}
		return out
	}
	same := func(v string) string { return v }
	t.Impacts = items(vartable.FacetImpact, same, 0)
	t.Consequences = items(vartable.FacetConsequence, chartLabel, 0)
	t.Genes = items(vartable.FacetGene, same, 2000)
	t.Transcripts = items(vartable.FacetTranscript, transcriptLabel, 0)
	t.Warnings = items(vartable.FacetWarning, warningLabel, 0)
}

func transcriptLabel(v string) string {
	switch v {
	case vartable.Canonical:
		return "canonical only"
	case vartable.MANESelect:
		return "MANE Select only"
	}
	return v
}

// warningLabel reads a warning code ("WARNING_REF_DOES_NOT_MATCH_GENOME")
// as words ("ref does not match genome").
func warningLabel(code string) string {
	for _, p := range []string{"WARNING_", "ERROR_", "INFO_"} {
		code = strings.TrimPrefix(code, p)
	}
	return strings.ToLower(strings.ReplaceAll(code, "_", " "))
}

// links makes the pager, view toggle and export links of the table.
func (t *tableView) links(j *domain.Job, key vartable.SortKey, desc bool, page int64) {
	pageURL := func(p int64) string {
		v := t.withSort(key, desc)
		v.Set("page", strconv.FormatInt(p, 10))
		return "?" + v.Encode() + "#variants"
	}
	if page > 1 {
		t.PrevURL = pageURL(page - 1)
	}
	if page < t.Pages {
		t.NextURL = pageURL(page + 1)
	}
	toggle := t.withSort(key, desc)
	if t.Filter.MostSevere {
		toggle.Del("most_severe")
	} else {
		toggle.Set("most_severe", "1")
	}
	t.ViewURL = "?" + toggle.Encode() + "#variants"
	t.ClearURL = "?#variants"
	if t.Filter.MostSevere {
		t.ClearURL = "?most_severe=1#variants"
	}
	sel := t.withSort(key, desc).Encode()
	for _, e := range []struct{ label, ext string }{{"TSV", "tsv"}, {"JSON lines", "jsonl"}, {"VCF", "vcf"}} {
		t.Exports = append(t.Exports, exportLink{e.label, jobPath(j) + "/variants." + e.ext + "?" + sel})
	}
}

func (t *tableView) withSort(key vartable.SortKey, desc bool) url.Values {
	v := url.Values{}
	for k, vs := range t.base {
		v[k] = vs
	}
	if key != vartable.SortPosition {
		v.Set("sort", string(key))
	}
	if desc {
		v.Set("desc", "1")
	}
	return v
}

// SortURL is the link of a column header: sort by it, or flip the order
// when it is already the sort.
func (t *tableView) SortURL(key string) string {
	k := vartable.SortKey(key)
	desc := false
	if k == t.Sort {
		desc = !t.Desc
	}
	return "?" + t.withSort(k, desc).Encode() + "#variants"
}

// AriaSort tells assistive technology how the column is sorted.
func (t *tableView) AriaSort(key string) string {
	if vartable.SortKey(key) != t.Sort {
		return "none"
	}
	if t.Desc {
		return "descending"
	}
	return "ascending"
}

// DetailURL is the page of one row's allele: all its transcripts.
func (t *tableView) DetailURL(r vartable.Row) string {
	return "/annotations/" + url.PathEscape(t.JobID) + "/variants/" + strconv.FormatInt(r.Ordinal, 10)
}

// shownWarnings are a row's warnings without the INFO_ flags (canonical,
// MANE Select), which the table shows as tags.
func shownWarnings(ws []string) []string {
	var out []string
	for _, w := range ws {
		if !strings.HasPrefix(w, "INFO_") {
			out = append(out, w)
		}
	}
	return out
}

// afText is an allele frequency as the table shows it ("" unknown).
func afText(v vartable.Row) string {
	if !v.HasAF {
		return ""
	}
	return strconv.FormatFloat(v.AF, 'g', 3, 64)
}
