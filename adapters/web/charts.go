package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// chart is one summary chart on the job page: its bars as SVG drawn on the
// server, and the file it downloads as.
type chart struct {
	Name  string // URL name: /annotations/{id}/charts/{Name}.svg
	Title string
	Unit  string // what one counted thing is
	SVG   template.HTML
}

// chartSpec says how to draw one summary chart and which table filter a
// bar applies ("" for none).
type chartSpec struct {
	name, title, caption, filter string
	impactColours, rows          bool // rows: counts the table's rows (else alleles)
	bars                         func(*domain.Summary) []domain.Counted
}

var chartSpecs = []chartSpec{
	{name: "impact", title: "Impact", caption: "Variants by impact", filter: "impact", impactColours: true, rows: true,
		bars: func(s *domain.Summary) []domain.Counted { return orderedImpacts(s.ByImpact) }},
	{name: "consequence", title: "Consequences", caption: "Variants by consequence", filter: "consequence", rows: true,
		bars: func(s *domain.Summary) []domain.Counted { return firstCounted(domain.Sorted(s.ByConsequence), 14) }},
	{name: "class", title: "Variant classes", caption: "Variants by class",
		bars: func(s *domain.Summary) []domain.Counted { return domain.Sorted(s.ByClass) }},
}

// summaryCharts are the job page's charts. With links, each bar links to
// the variant table filtered to it.
func summaryCharts(s *domain.Summary, links bool) []chart {
	var out []chart
	for _, c := range chartSpecs {
		bars := c.bars(s)
		if len(bars) == 0 {
			continue
		}
		filter := c.filter
		if !links {
			filter = ""
		}
		out = append(out, chart{Name: c.name, Title: c.title, Unit: chartUnit(s, c.rows, filter != ""),
			SVG: barChart(c.caption, bars, c.impactColours, filter, false)})
	}
	return out
}

// chartUnit says what a chart counts, in the variant table's terms, so a
// bar and the table it links to show the same number.
func chartUnit(s *domain.Summary, rows, links bool) string {
	switch {
	case !rows:
		return "Counted in alleles (each ALT allele once)."
	case s.Unit == "":
		return "Counted in alleles (a summary written before rows were counted)."
	}
	u := "Counted in rows: one per " + s.Unit + " (a row with two terms counts for each)."
	if links {
		u += " A bar shows its rows in the table."
	}
	return u
}

// chartSVG downloads one summary chart as a standalone SVG file: the
// page's drawing with its styles inside, so it opens alike in a browser,
// Inkscape or a slide.
func (s *Server) chartSVG(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	name := mux.Vars(r)["chart"]
	var spec *chartSpec
	for i := range chartSpecs {
		if chartSpecs[i].name == name {
			spec = &chartSpecs[i]
		}
	}
	if spec == nil || j.Status() != domain.StatusCompleted {
		s.notFound(w, r)
		return
	}
	sum, err := s.summary(r.Context(), j)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	file := strings.TrimSuffix(jobs.AnnotatedName(j.InputName()), ".annot.vcf") + "." + name + ".svg"
	w.Header().Set("Content-Type", ports.MediaType(file))
	w.Header().Set("Content-Disposition", attachment(file))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(barChart(spec.caption+" — "+j.InputName(), spec.bars(sum), spec.impactColours, "", true)))
}

func orderedImpacts(m map[string]int64) []domain.Counted {
	var out []domain.Counted
	for _, k := range []string{"HIGH", "MODERATE", "LOW", "MODIFIER"} {
		if m[k] > 0 {
			out = append(out, domain.Counted{Label: k, Count: m[k]})
		}
	}
	for _, c := range domain.Sorted(m) {
		switch c.Label {
		case "HIGH", "MODERATE", "LOW", "MODIFIER":
		default:
			out = append(out, c)
		}
	}
	return out
}

// otherLabel is the bar that sums the smallest values of a long chart; it
// is not a filter.
const otherLabel = "other"

func firstCounted(c []domain.Counted, n int) []domain.Counted {
	if len(c) <= n {
		return c
	}
	rest := domain.Counted{Label: otherLabel}
	for _, x := range c[n-1:] {
		rest.Count += x.Count
	}
	return append(c[:n-1:n-1], rest)
}

// standaloneStyle is what the page's stylesheet gives a chart, for the
// downloaded file (the page itself allows no inline style).
const standaloneStyle = `<style>text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:13px;fill:#1b2330}` +
	`text.val{fill:#4f5b6b}.bar{fill:#0b5fa5}.bar-HIGH{fill:#a4161a}.bar-MODERATE{fill:#c76a00}.bar-LOW{fill:#2b7a3d}.bar-MODIFIER{fill:#5b6b7f}</style>`

// barChart draws a horizontal bar chart. Labels are never cut: the label
// column is as wide as the longest label. Every label and number is
// escaped; the SVG has a title and role for screen readers, each bar a
// <title> with its exact count and, when filter names a table filter, a
// link that applies it. Standalone adds the styles and a size, for a file.
func barChart(title string, data []domain.Counted, impactColours bool, filter string, standalone bool) template.HTML {
	const (
		barW   = 290
		valueW = 80
		barH   = 20
		gap    = 6
		charW  = 7.4 // of the 13px system font, generously
	)
	longest := 0
	for _, d := range data {
		longest = max(longest, len([]rune(chartLabel(d.Label))))
	}
	labelW := max(90, int(math.Ceil(float64(longest)*charW))+14)
	width := labelW + barW + valueW
	var maxV int64 = 1
	for _, d := range data {
		maxV = max(maxV, d.Count)
	}
	height := len(data)*(barH+gap) + gap
	var b strings.Builder
	size := ""
	if standalone {
		size = fmt.Sprintf(` width="%d" height="%d"`, width, height)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d"%s role="img" aria-label="%s">`, width, height, size, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	if standalone {
		b.WriteString(standaloneStyle)
	}
	for i, d := range data {
		y := gap + i*(barH+gap)
		w := int(math.Round(float64(barW) * float64(d.Count) / float64(maxV)))
		if d.Count > 0 && w < 2 {
			w = 2
		}
		class := "bar"
		if impactColours {
			class += " bar-" + template.HTMLEscapeString(d.Label)
		}
		link := filter != "" && d.Label != otherLabel && d.Label != ""
		if link {
			href := "?" + url.Values{filter: {d.Label}}.Encode() + "#variants"
			fmt.Fprintf(&b, `<a href="%s" class="bar-link" data-filter="%s">`, template.HTMLEscapeString(href), template.HTMLEscapeString(filter+"="+d.Label))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+barH-6, template.HTMLEscapeString(chartLabel(d.Label)))
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="%d" width="%d" height="%d" rx="3"><title>%s: %s</title></rect>`,
			class, labelW, y, w, barH, template.HTMLEscapeString(d.Label), domain.Thousands(d.Count))
		fmt.Fprintf(&b, `<text class="val" x="%d" y="%d">%s</text>`, labelW+w+6, y+barH-6, domain.Thousands(d.Count))
		if link {
			b.WriteString(`</a>`)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from escaped parts above
}

// chartLabel is how a value reads on a chart: SO terms with spaces.
func chartLabel(v string) string { return strings.ReplaceAll(v, "_", " ") }
