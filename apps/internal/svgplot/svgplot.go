// Package svgplot draws line charts as standalone SVG: a figure of panels
// stacked on one shared time axis, which is all gas simulate and gas load
// need to show instances, backlog and latency over time side by side.
package svgplot

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Line is one named series of points.
type Line struct {
	Name string
	X, Y []float64
}

// Panel is one chart: lines sharing a y axis.
type Panel struct {
	Title string
	Lines []Line
}

// Figure is panels stacked over one x axis.
type Figure struct {
	Title, XLabel string
	Panels        []Panel
}

// Layout in pixels.
const (
	width       = 900
	panelHeight = 190
	left        = 70
	right       = 170
	top         = 52
	gap         = 45
	bottom      = 45
)

// palette colours lines by their position in a panel.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// Write renders the figure.
func (f Figure) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	h := top + len(f.Panels)*(panelHeight+gap) + bottom - gap
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, h, width, h)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(f.Title))
	x0, x1 := f.xRange()
	for i, p := range f.Panels {
		y := top + i*(panelHeight+gap)
		p.write(bw, y, x0, x1)
	}
	fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+(width-left-right)/2, h-10, esc(f.XLabel))
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func (f Figure) xRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range f.Panels {
		for _, l := range p.Lines {
			for _, x := range l.X {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	if lo > hi {
		return 0, 1
	}
	if hi == lo {
		hi = lo + 1
	}
	return lo, hi
}

func (p Panel) yMax() float64 {
	hi := 0.0
	for _, l := range p.Lines {
		for _, y := range l.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				hi = math.Max(hi, y)
			}
		}
	}
	return niceCeil(hi)
}

// write draws the panel with its top edge at y.
func (p Panel) write(w io.Writer, y int, x0, x1 float64) {
	pw := width - left - right
	ymax := p.yMax()
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, y-6, esc(p.Title))
	fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, y, pw, panelHeight)
	for _, t := range ticks(0, ymax) {
		ty := float64(y+panelHeight) - t/ymax*panelHeight
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, left+pw, ty, ty, left-6, ty+4, label(t))
	}
	for _, t := range ticks(x0, x1) {
		tx := float64(left) + (t-x0)/(x1-x0)*float64(pw)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", tx, y+panelHeight+15, label(t))
	}
	for i, l := range p.Lines {
		colour := palette[i%len(palette)]
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`+"\n", colour, l.points(y, x0, x1, ymax))
		fmt.Fprintf(w, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", left+pw+10, y+16+16*i, colour, esc(l.Name))
	}
}

func (l Line) points(y int, x0, x1, ymax float64) string {
	var b strings.Builder
	pw := float64(width - left - right)
	for i := range min(len(l.X), len(l.Y)) {
		if math.IsNaN(l.Y[i]) || math.IsInf(l.Y[i], 0) {
			continue
		}
		px := float64(left) + (l.X[i]-x0)/(x1-x0)*pw
		py := float64(y+panelHeight) - math.Min(l.Y[i], ymax)/ymax*panelHeight
		fmt.Fprintf(&b, "%.1f,%.1f ", px, py)
	}
	return strings.TrimSpace(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (1 when v <= 0).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// ticks are about five round values from lo to hi.
func ticks(lo, hi float64) []float64 {
	step := niceCeil((hi - lo) / 5)
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step/1e6; t += step {
		out = append(out, t)
	}
	return out
}

func label(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func esc(s string) string { return html.EscapeString(s) }
