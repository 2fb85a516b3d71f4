package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/adapters/web"
)

// syntheticName labels the default reference on every page.
const syntheticName = "GAS synthetic reference (small, seed 1)"

// syntheticBase names the default reference's files in --cache. Its
// version changes whenever their content does, so a cache written by an
// older release is rebuilt instead of silently reused (v2: known variants;
// v3: canonical and MANE Select transcripts).
const syntheticBase = "synthetic-small-v3"

// syntheticDB and syntheticKnown are the default reference's files; the
// database records the known-variants file by its bare name, which
// apps/internal/reference resolves next to the database.
const (
	syntheticDB    = syntheticBase + ".gasdb"
	syntheticKnown = syntheticBase + "-known.vcf.gz"
)

// samplePool is how many variants are generated on the synthetic genome:
// the known-variants VCF covers a share of them (synth.Small's KnownFrac,
// 40%) and the upload page's samples are spread evenly over them, so
// about that share of every sample is known. 10,000 leave room for the
// largest sample (about 4,000 records just over the free limit).
const samplePool = 10_000

// sampleSpecs are the samples offered on the upload page: one that
// annotates in a blink, one near the free plan's limit, one just over it.
var sampleSpecs = []struct {
	name, desc string
	size       int
}{
	{"sample-small.vcf", "annotates in a blink", 8 << 10},
	{"sample-medium.vcf", "close to the free plan's limit", 120 << 10},
	{"sample-over-free-limit.vcf", "just over 150 KiB: free accounts are refused, premium accepted", 150<<10 + 1},
}

// syntheticSample is a sample VCF with what the known-variants file says
// about it (the generator's answer key), for the page and for tests.
type syntheticSample struct {
	web.Sample
	Records      int // data lines
	KnownRecords int // records with an allele in the known-variants file
	KnownAlleles int // ALT alleles in the known-variants file
}

// syntheticConfig is synth.Small with the larger variant pool; the genome
// (and so the database) depends only on the seed and the genome settings.
func syntheticConfig() synth.Config {
	c := synth.Small()
	c.Variants = samplePool
	return c
}

// ensureSynthetic writes the default database and its known-variants VCF
// (BGZF with a .tbi index) into dir unless both are there, and returns the
// samples. Everything derives from the fixed seed, so every machine gets
// byte-identical files and samples; each file appears atomically.
func ensureSynthetic(dir string) (samples []syntheticSample, built bool, err error) {
	g, err := synth.New(syntheticConfig())
	if err != nil {
		return nil, false, fmt.Errorf("synthetic reference: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	dbPath, knownPath := filepath.Join(dir, syntheticDB), filepath.Join(dir, syntheticKnown)
	needKnown := !exists(knownPath) || !exists(knownPath+".tbi")
	// The generator draws the same numbers whether the known VCF is kept
	// or discarded, so the pool matches the file written on first start.
	var pool, truth bytes.Buffer
	if needKnown {
		if err := writeSyntheticKnown(g, knownPath, &pool, &truth); err != nil {
			return nil, false, err
		}
		built = true
	} else if _, err := g.WriteVariants(&pool, synth.VariantOptions{Known: io.Discard, Truth: &truth}); err != nil {
		return nil, false, fmt.Errorf("synthetic variants: %w", err)
	}
	if !exists(dbPath) {
		if err := writeSyntheticDB(g, dbPath); err != nil {
			return nil, false, err
		}
		built = true
		_ = os.Remove(filepath.Join(dir, "synthetic-small-v1.gasdb")) // superseded cache, if any
	}
	samples, err = syntheticSamples(g, pool.Bytes(), truth.Bytes())
	return samples, built, err
}

// createTemp makes a uniquely named temporary file beside path (so two
// first starts sharing --cache cannot clash), readable like a created file.
func createTemp(path, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writeSyntheticKnown generates the variants (into pool) and the
// known-variants VCF with its index (into path and path.tbi).
func writeSyntheticKnown(g *synth.Genome, path string, pool, truth io.Writer) error {
	f, err := createTemp(path, ".known-*.vcf.gz")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	defer os.Remove(tmp + ".tbi")
	bw := bufio.NewWriterSize(f, 256<<10)
	zw, err := bgzf.NewWriter(bw)
	if err != nil {
		f.Close()
		return err
	}
	_, err = g.WriteVariants(pool, synth.VariantOptions{Known: zw, Truth: truth})
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("synthetic known variants: %w", err)
	}
	if err := known.EnsureIndex(tmp); err != nil {
		return fmt.Errorf("index synthetic known variants: %w", err)
	}
	// Index first: a known file present means its index is too.
	if err := os.Rename(tmp+".tbi", path+".tbi"); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSyntheticDB builds the database from the genome's gene models and
// sequence, recording the known-variants file beside it.
func writeSyntheticDB(g *synth.Genome, path string) error {
	var gff, fa bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		return err
	}
	if err := g.WriteFASTA(&fa); err != nil {
		return err
	}
	ref, err := engine.BuildReference(engine.Sources{Name: syntheticName, Genes: &gff, Format: engine.GFF3, FASTA: &fa})
	if err != nil {
		return fmt.Errorf("build synthetic reference: %w", err)
	}
	f, err := createTemp(path, ".db-*.gasdb")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = gasdb.Write(f, ref, gasdb.Meta{Known: syntheticKnown})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// poolRecord is one generated variant as a sample line.
type poolRecord struct {
	line         []byte
	knownAlleles int
}

// syntheticSamples turns the variant pool into the upload page's samples:
// each adds a genotype column and spreads its records evenly over the
// pool, so it covers the whole genome with the pool's known share.
func syntheticSamples(g *synth.Genome, pool, truth []byte) ([]syntheticSample, error) {
	knownAt, err := truthKnown(truth)
	if err != nil {
		return nil, err
	}
	var header bytes.Buffer
	header.WriteString("##fileformat=VCFv4.2\n##source=gas-synth sample (seed 1)\n")
	for _, c := range g.Chroms() {
		fmt.Fprintf(&header, "##contig=<ID=%s,length=%d>\n", c, len(g.Sequence(c)))
	}
	header.WriteString("##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Read depth\">\n")
	header.WriteString("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	header.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE1\n")

	rng := rand.New(rand.NewPCG(1, 0x5a3b1e))
	gts := []string{"0/1", "0/1", "1/1", "0|1"}
	var recs []poolRecord
	shortest := math.MaxInt
	for line := range bytes.Lines(pool) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := strings.SplitN(strings.TrimRight(string(line), "\n"), "\t", 6)
		if len(f) < 5 {
			return nil, fmt.Errorf("synthetic variant pool: bad line %q", line)
		}
		gt := gts[rng.IntN(len(gts))]
		if strings.Contains(f[4], ",") {
			gt = "1/2"
		}
		l := fmt.Appendf(nil, "%s\t%s\t.\t%s\t%s\t%d\tPASS\tDP=%d\tGT\t%s\n", f[0], f[1], f[3], f[4], 20+rng.IntN(80), 10+rng.IntN(90), gt)
		recs = append(recs, poolRecord{line: l, knownAlleles: knownAt[f[0]+"\t"+f[1]]})
		shortest = min(shortest, len(l))
	}
	if len(recs) == 0 {
		return nil, errors.New("synthetic variant pool is empty")
	}
	var out []syntheticSample
	for _, spec := range sampleSpecs {
		// Enough records even if every one were the shortest, taken at an
		// even stride: the sample reaches spec.size with records to spare,
		// and stops at the first record that gets it there.
		need := (spec.size-header.Len())/shortest + 1
		if need > len(recs) {
			return nil, fmt.Errorf("synthetic variant pool too small for the %d-byte sample %s", spec.size, spec.name)
		}
		stride := 1.0
		if need > 1 {
			stride = float64(len(recs)-1) / float64(need-1)
		}
		s := syntheticSample{}
		data := bytes.NewBuffer(append([]byte(nil), header.Bytes()...))
		for j := 0; j < need && data.Len() < spec.size; j++ {
			r := recs[int(math.Round(float64(j)*stride))]
			data.Write(r.line)
			s.Records++
			s.KnownAlleles += r.knownAlleles
			if r.knownAlleles > 0 {
				s.KnownRecords++
			}
		}
		s.Sample = web.Sample{Name: spec.name, Data: data.Bytes(), Description: fmt.Sprintf(
			"%d variants on the synthetic genome, %d%% of them known (rsIDs in the reference's known-variants set); %s.",
			s.Records, (100*s.KnownRecords+s.Records/2)/s.Records, spec.desc)}
		out = append(out, s)
	}
	return out, nil
}

// truthKnown counts, per "chrom\tpos", the input alleles the generator put
// in the known-variants file (its answer key: chrom, pos, ref, alt, id, af).
func truthKnown(truth []byte) (map[string]int, error) {
	m := map[string]int{}
	for line := range bytes.Lines(truth) {
		f := strings.Split(strings.TrimRight(string(line), "\n"), "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("synthetic known-variant truth: bad line %q", line)
		}
		if f[4] != "." {
			m[f[0]+"\t"+f[1]]++
		}
	}
	return m, nil
}
