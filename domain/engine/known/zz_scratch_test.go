package known

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gasproject/gas/domain/engine/synth"
)

func TestZZScratch(t *testing.T) {
	c := synth.Small()
	c.Variants = 10000
	g, _ := synth.New(c)
	var pool, kn, truth bytes.Buffer
	g.WriteVariants(&pool, synth.VariantOptions{Known: &kn, Truth: &truth})
	dir := t.TempDir()
	p := filepath.Join(dir, "k.vcf")
	os.WriteFile(p, kn.Bytes(), 0o644)
	for _, q := range []struct{ c string; p int64; r, a string }{{"chr1", 258241, "C", "CCC"}, {"chr2", 73535, "AGGA", "A"}} {
		seq := g.Sequence(q.c)
		t.Logf("%s ref %d..: %s", q.c, q.p-10, seq[q.p-11:q.p+10])
		m, _ := Open(p, Options{Reference: genomeRef(g)})
		h, ok, err := m.Match(q.c, q.p, q.r, q.a)
		t.Log(h, ok, err)
		t.Log(Normalize(genomeRef(g), q.c, q.p, q.r, q.a, 256))
		m.Close()
		m, _ = Open(p, Options{})
		h, ok, err = m.Match(q.c, q.p, q.r, q.a)
		t.Log("noref", h, ok, err)
		m.Close()
	}
	for _, l := range bytes.Split(kn.Bytes(), []byte("\n")) {
		if bytes.Contains(l, []byte("rs1002099\t")) || bytes.Contains(l, []byte("rs1003035\t")) {
			t.Logf("%s", l)
		}
	}
}
