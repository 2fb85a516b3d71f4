package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/results"
	"github.com/gasproject/gas/domain"
)

// TestLogPageIsProvenance: the log page says how the result was made —
// when the job waited and ran, the engine build, the reference and its
// checksum, the known-variants source, the settings, each stage's time,
// the warnings and the skipped lines — and the stored log says the same.
func TestLogPageIsProvenance(t *testing.T) {
	h := newHarness(t)
	eng, vcf := syntheticEngine(t, "synthetic-ref")
	h.engine = results.About(eng, domain.Provenance{Database: "synth.gasdb", Checksum: "crc32:0badc0de", Known: "synth.known.vcf.gz",
		Settings: []domain.Setting{{Name: "Engine goroutines per job", Value: "2"}}})
	b := h.signIn("Ann", "ann@example.org", domain.TierPremium)
	head, body, _ := strings.Cut(vcf, "\n#CHROM")
	cut := strings.SplitN(body, "\n", 4) // the #CHROM line, two records, the rest
	bad := head + "\n#CHROM" + cut[0] + "\n" + cut[1] + "\nchr1\tnope\t.\tA\tG\t.\t.\t.\n" + cut[2] + "\n" + cut[3]
	id := b.uploadWith(url.Values{"skip_malformed": {"on"}}, "run.vcf", bad)
	h.clock.Advance(90_000_000_000) // it waits 90 s for an annotator
	h.complete(id)
	page := b.get("/annotations/" + string(id) + "/log").body
	for _, want := range []string{
		"waited 1 min 30 s", `id="engine-version">gas `, `<code id="ref-checksum">crc32:0badc0de</code>`, "(synth.gasdb)",
		"synth.known.vcf.gz", "<dt>Engine goroutines per job</dt><dd>2</dd>", "<dt>Malformed lines</dt><dd>skip them (counted and listed)</dd>",
		"<dt>Table and chart unit</dt><dd>" + domain.RowUnit, `id="stages"`, "read, annotate and write the VCF", "finish the variant index",
		`id="run-warnings"`, "1 malformed lines were skipped.", `id="skipped-lines"`, "is not a position",
		"Engine:               gas ", "Annotation database:  synth.gasdb crc32:0badc0de", "Stage: read, annotate and write the VCF",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("log page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(between(page, "<main", "</main>"))
	}
}
