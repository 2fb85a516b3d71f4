package svgplot

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func TestFigureIsWellFormedSVGWithOneLinePerSeries(t *testing.T) {
	f := Figure{Title: "a <b> & c", XLabel: "minutes", Panels: []Panel{
		{Title: "instances", Lines: []Line{{Name: "seed", X: []float64{0, 1, 2}, Y: []float64{2, 3, 10}}, {Name: "tt", X: []float64{0, 1, 2}, Y: []float64{2, 7, 7}}}},
		{Title: "empty and odd", Lines: []Line{{Name: "nan", X: []float64{0, 1}, Y: []float64{math.NaN(), 0}}}},
	}}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	lines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 3 || !strings.Contains(b.String(), "a &lt;b&gt; &amp; c") {
		t.Fatalf("%d polylines (want 3) or title not escaped:\n%s", lines, b.String())
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.3: 0.5, 7: 10, 10: 10, 11: 20, 180: 200, 681: 1000} {
		if got := niceCeil(in); math.Abs(got-want) > 1e-9 {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
