package web

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/gasproject/gas/adapters/results"

	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/adapters/vartable"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
)

// indexCache keeps recently opened variant indexes (their dictionaries and
// recent selections), so paging through a table costs a few range reads.
type indexCache struct {
	mu    sync.Mutex
	max   int
	order *list.List
	items map[string]*list.Element
}

type indexEntry struct {
	key string
	ix  *vartable.Index
}

func newIndexCache(max int) *indexCache {
	return &indexCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *indexCache) get(key string) *vartable.Index {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*indexEntry).ix
	}
	return nil
}

func (c *indexCache) put(key string, ix *vartable.Index) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&indexEntry{key, ix})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*indexEntry).key)
	}
}

// ranger reads ranges of one stored object.
func (s *Server) ranger(key string) vartable.Ranger {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		return s.d.Objects.GetRange(ctx, key, off, n)
	}
}

// openIndex opens (or finds cached) the variant index stored at key.
func (s *Server) openIndex(ctx context.Context, key string) (*vartable.Index, error) {
	if ix := s.indexes.get(key); ix != nil {
		return ix, nil
	}
	info, err := s.d.Objects.Head(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open variant index %s: %w", key, err)
	}
	ix, err := vartable.Open(ctx, s.ranger(key), info.Size)
	if err != nil {
		return nil, fmt.Errorf("open variant index %s: %w", key, err)
	}
	s.indexes.put(key, ix)
	return ix, nil
}

type detailData struct {
	Job          *domain.Job
	Decision     domain.DownloadDecision
	Summary      *domain.Summary
	SummaryError string
	Charts       []chart
	Table        *tableView
	TableNote    string
	Failure      string
	FailureHint  string
	Window       string
	Deletable    bool
}

// annotation is the job page: times, downloads or why not, charts, top
// genes and the variant table.
func (s *Server) annotation(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	u := currentUser(r)
	j, dec, err := s.d.Jobs.Download(r.Context(), u.ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	d := detailData{Job: j, Decision: dec, Window: humanDuration(s.d.Jobs.Policy().FreeWindow), Deletable: j.Deletable() == nil}
	if j.Status() == domain.StatusFailed {
		d.Failure, d.FailureHint = failureText(j), failureHint(j)
		// The failure is the news: a green "uploaded" banner left by the
		// submission must not sit above it.
		s.loadSession(r).takeFlash()
	}
	if j.Status() == domain.StatusCompleted {
		if sum, err := s.summary(r.Context(), j); err != nil {
			s.log.WarnContext(r.Context(), "summary unavailable", "job", j.ID(), "err", err)
			d.SummaryError = "The summary of this job could not be read."
		} else {
			d.Summary = sum
		}
		switch {
		case dec.State != domain.DownloadAllowed:
			d.TableNote = "The variant table is shown while the results are in hot storage."
		case j.Results().Index == "":
			d.TableNote = "This job has no variant index."
		default:
			tv, err := s.table(r, j)
			switch {
			case errors.Is(err, vartable.ErrOldFormat):
				d.TableNote = "This job's variant table was written by an older version of GAS; run the job again to see it."
			case err != nil:
				s.log.WarnContext(r.Context(), "variant table unavailable", "job", j.ID(), "err", err)
				d.TableNote = "The variant table could not be read."
			}
			d.Table = tv
		}
		if d.Summary != nil {
			d.Charts = summaryCharts(d.Summary, d.Table != nil)
		}
	}
	s.render(w, r, http.StatusOK, "annotation", view{Title: j.Name(), Nav: "annotations", Data: d})
}

func (s *Server) summary(ctx context.Context, j *domain.Job) (*domain.Summary, error) {
	if j.Results().Summary == "" {
		return nil, fmt.Errorf("job %s has no summary", j.ID())
	}
	sum, err := results.ReadSummary(ctx, s.d.Objects, j.Results().Summary)
	if err != nil {
		return nil, fmt.Errorf("summary of job %s: %w", j.ID(), err)
	}
	return &sum, nil
}

// tableView is the variant table's page model.
type tableView struct {
	Rows                         []vartable.Row
	Total, From, To              int64
	Page, Pages                  int64
	Filter                       vartable.Filter
	Filtered                     bool
	Sort                         vartable.SortKey
	Desc                         bool
	Impacts, Consequences, Genes []vartable.ValueCount
	PrevURL, NextURL, SubsetURL  string
	base                         url.Values
}

const tablePageSize = 50

// tableQuery reads filter, sort and page from the query string.
func tableQuery(q url.Values) (vartable.Filter, vartable.SortKey, bool, int64) {
	f := vartable.ParseFilter(q)
	key, err := vartable.ParseSortKey(q.Get("sort"))
	if err != nil {
		key = vartable.SortPosition
	}
	page, _ := strconv.ParseInt(q.Get("page"), 10, 64)
	if page < 1 {
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
	tv := &tableView{Rows: rows, Total: pg.Total, Page: page, Pages: max(1, (pg.Total+tablePageSize-1)/tablePageSize),
		Filter: f, Filtered: len(base) > 0, Sort: key, Desc: desc, base: base,
		Impacts: ix.Values(vartable.FacetImpact), Consequences: nonEmpty(ix.Values(vartable.FacetConsequence)),
		Genes: firstN(nonEmpty(ix.Values(vartable.FacetGene)), 2000)}
	if len(rows) > 0 {
		tv.From, tv.To = (page-1)*tablePageSize+1, (page-1)*tablePageSize+int64(len(rows))
	}
	pageURL := func(p int64) string {
		v := tv.withSort(key, desc)
		v.Set("page", strconv.FormatInt(p, 10))
		return "?" + v.Encode() + "#variants"
	}
	if page > 1 {
		tv.PrevURL = pageURL(page - 1)
	}
	if page < tv.Pages {
		tv.NextURL = pageURL(page + 1)
	}
	tv.SubsetURL = "/annotations/" + url.PathEscape(string(j.ID())) + "/variants.tsv?" + tv.withSort(key, desc).Encode()
	return tv, nil
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

func nonEmpty(vs []vartable.ValueCount) []vartable.ValueCount {
	out := vs[:0:0]
	for _, v := range vs {
		if v.Value != "" {
			out = append(out, v)
		}
	}
	return out
}

func firstN(vs []vartable.ValueCount, n int) []vartable.ValueCount {
	if len(vs) > n {
		return vs[:n]
	}
	return vs
}

// export streams the whole result in format f through the one export
// schema (adapters/engine/export), as `gas annotate --format` writes it.
func (s *Server) export(ctx context.Context, w http.ResponseWriter, j *domain.Job, f export.Format) error {
	rc, err := s.d.Objects.Get(ctx, j.Results().VCF)
	if err != nil {
		http.Error(w, "result not available", http.StatusInternalServerError)
		return err
	}
	defer rc.Close()
	base := strings.TrimSuffix(jobs.AnnotatedName(j.InputName()), ".vcf")
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Disposition", attachment(base+"."+string(f)))
	w.Header().Set("Cache-Control", "no-store")
	return export.Convert(rc, w, f)
}

// subsetTSV streams the filtered, sorted table as TSV.
func (s *Server) subsetTSV(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	j, d, err := s.d.Jobs.Download(r.Context(), currentUser(r).ID(), j.ID())
	if err != nil {
		s.jobError(w, r, err)
		return
	}
	if d.State != domain.DownloadAllowed {
		s.notDownloadable(w, r, d)
		return
	}
	if j.Results().Index == "" {
		s.errorPage(w, r, http.StatusNotFound, "No variant index", "This job has no variant index to filter.")
		return
	}
	ix, err := s.openIndex(r.Context(), j.Results().Index)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	f, key, desc, _ := tableQuery(r.URL.Query())
	w.Header().Set("Content-Type", export.TSV.ContentType())
	w.Header().Set("Content-Disposition", attachment(strings.TrimSuffix(jobs.AnnotatedName(j.InputName()), ".vcf")+".subset.tsv"))
	w.Header().Set("Cache-Control", "no-store")
	if err := ix.Export(r.Context(), s.ranger(j.Results().VCF), f, key, desc, w, export.TSV); err != nil {
		s.log.ErrorContext(r.Context(), "subset export failed", "job", j.ID(), "err", err)
	}
}
