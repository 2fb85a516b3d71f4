package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/bgzf"
	"github.com/gasproject/gas/adapters/engine/export"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/model"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func init() {
	commands["annotate"] = command{summary: "annotate a VCF with consequences (ANN), HGVS and known variants",
		usage: "annotate (--db REF.gasdb | --gff3 GENES.gff3[.gz] --fasta REF.fa[.gz]) [--known KNOWN.vcf.gz] [-o OUT.vcf[.gz]] [IN.vcf[.gz]]",
		about: "Standard input and output are used when files are omitted. Exit codes: 0 success, 1 runtime failure,\n2 usage error, 3 malformed input.",
		run:   runAnnotate}
}

// refFlags are the flags that choose a reference, shared by annotate and db build.
type refFlags struct {
	gff3, gtf, fasta, db, known, name string
	dbKnown                           string // known source recorded in the database
}

func (r *refFlags) register(fs *flag.FlagSet, withDB bool) {
	fs.StringVar(&r.gff3, "gff3", "", "gene models: a GFF3 `FILE` (plain or gzip)")
	fs.StringVar(&r.gtf, "gtf", "", "gene models: a GTF `FILE` (instead of --gff3)")
	fs.StringVar(&r.fasta, "fasta", "", "reference genome FASTA `FILE` (plain or gzip; a .fai beside a plain one is used)")
	fs.StringVar(&r.known, "known", "", "known variants: a VCF `FILE` (bgzip+tabix or sorted) for IDs and allele frequencies")
	fs.StringVar(&r.name, "name", "", "reference `NAME` shown with results (default: the FASTA file name)")
	if withDB {
		fs.StringVar(&r.db, "db", "", "annotation database `FILE` built by gas db build (instead of --gff3/--fasta)")
	}
}

func (r *refFlags) load() (*model.Reference, error) {
	if r.db != "" {
		if r.gff3 != "" || r.gtf != "" || r.fasta != "" {
			return nil, fmt.Errorf("%w: --db excludes --gff3, --gtf and --fasta", errUsage)
		}
		f, err := os.Open(r.db)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ref, meta, err := gasdb.ReadMeta(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.db, err)
		}
		r.dbKnown = meta.Known
		return ref, nil
	}
	if (r.gff3 == "") == (r.gtf == "") {
		return nil, fmt.Errorf("%w: give exactly one of --gff3 and --gtf (or --db)", errUsage)
	}
	if r.fasta == "" {
		return nil, fmt.Errorf("%w: --fasta is required with --gff3/--gtf", errUsage)
	}
	src := engine.Sources{Name: r.name, Format: engine.GFF3}
	path := r.gff3
	if r.gtf != "" {
		path, src.Format = r.gtf, engine.GTF
	}
	if src.Name == "" {
		src.Name = refLabel(r.fasta)
	}
	gf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer gf.Close()
	src.Genes = gf
	ff, err := os.Open(r.fasta)
	if err != nil {
		return nil, err
	}
	defer ff.Close()
	src.FASTA = ff
	if !strings.HasSuffix(r.fasta, ".gz") {
		if fai, err := os.Open(r.fasta + ".fai"); err == nil {
			defer fai.Close()
			src.FASTAAt, src.FAI = ff, fai
		}
	}
	ref, err := engine.BuildReference(src)
	if err != nil {
		if errors.Is(err, ports.ErrBadInput) {
			return nil, fmt.Errorf("%w: %v", errBadInput, err)
		}
		return nil, err
	}
	return ref, nil
}

// smallReference is the reference size (bytes of gene models or database
// on disk, gzip counted as 8×) under which tuneGC relaxes the collector.
const smallReference = 64 << 20

// tuneGC lets the heap grow to 5× its live size instead of 2× when the
// reference is small. Loading one leaves a few MB of short-lived garbage
// and annotating makes none, so with the default the collector runs three
// or four times for nothing: about a quarter of the start-up CPU of a
// 1,000-transcript reference, which is most of the run for inputs under
// 100k variants. Peak memory barely moves (the garbage is a few MB). Large
// references (GENCODE: hundreds of MB live while parsing) keep the default,
// where 5× would cost real memory.
func (r *refFlags) tuneGC() {
	var size int64
	for _, p := range []string{r.db, r.gff3, r.gtf} {
		if p == "" {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return // load reports it
		}
		n := fi.Size()
		if strings.HasSuffix(p, ".gz") {
			n *= 8
		}
		size += n
	}
	if size < smallReference {
		debug.SetGCPercent(400)
	}
}

// refLabel derives a reference name from a FASTA path.
func refLabel(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	for _, s := range []string{".gz", ".fa", ".fasta", ".fna"} {
		p = strings.TrimSuffix(p, s)
	}
	return p
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func runAnnotate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("annotate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var rf refFlags
	rf.register(fs, true)
	var outPath, format, onError, pick string
	var maxLine, maxAllele, maxAlts, workers int
	fs.StringVar(&outPath, "o", "", "output `FILE` (default stdout; .gz → BGZF)")
	fs.StringVar(&outPath, "output", "", "same as -o `FILE`")
	fs.StringVar(&format, "format", "vcf", "output `FORMAT`: vcf, tsv or jsonl (JSON lines; json is accepted for it); tsv and jsonl share the export schema of the web downloads")
	fs.StringVar(&onError, "on-error", "fail", "malformed lines (`MODE`): fail the run, or skip them and report them")
	fs.StringVar(&pick, "pick", "all", "ANN entries written per allele, most severe first (`WHICH`): all, most-severe (one) or canonical (those on canonical transcripts, else the most severe)")
	fs.IntVar(&maxLine, "max-line", 0, "longest accepted VCF line in bytes (default 1 MiB)")
	fs.IntVar(&maxAllele, "max-allele", 0, "longest accepted allele (default 100000)")
	fs.IntVar(&maxAlts, "max-alt-alleles", 0, "most ALT alleles per record (default 1000)")
	fs.IntVar(&workers, "workers", 0, "annotating goroutines (default: CPUs)")
	var cpuProfile, memProfile string
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) to `FILE`")
	fs.StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof) to `FILE` at the end")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: one input file at most, got %d", errUsage, len(pos))
	}
	opt := engine.Options{MaxLine: maxLine, MaxAllele: maxAllele, MaxAlts: maxAlts, Workers: workers}
	if opt.Pick, err = engine.ParsePick(pick); err != nil {
		return fmt.Errorf("%w: --pick: %v", errUsage, err)
	}
	switch onError {
	case "fail":
	case "skip":
		opt.OnError = engine.Skip
	default:
		return fmt.Errorf("%w: --on-error must be fail or skip", errUsage)
	}
	switch format {
	case "vcf", "tsv", "jsonl", "json":
	default:
		return fmt.Errorf("%w: --format must be vcf, tsv or jsonl", errUsage)
	}
	if memProfile != "" {
		runtime.MemProfileRate = 4096
	}
	if cpuProfile != "" {
		pf, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	rf.tuneGC()
	ref, err := rf.load()
	if err != nil {
		return err
	}
	// --known wins; else the source the database recorded, when reachable
	// (the rule `gas serve` and the annotator role share).
	kn, err := reference.OpenKnown(ctx, rf.known, rf.dbKnown, rf.db, reference.KnownOptions{})
	if err != nil {
		return err
	}
	defer kn.Close()
	if kn.Skipped != nil {
		fmt.Fprintf(os.Stderr, "gas annotate: warning: %v; annotating without them\n", kn.Skipped)
	}
	opt.Known = kn.Opener
	if isTerminal(os.Stderr) {
		opt.Progress = func(n int64) { fmt.Fprintf(os.Stderr, "\r%d records…", n) }
	}
	eng, err := engine.New(ref, opt)
	if err != nil {
		return err
	}
	var in io.Reader = os.Stdin
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	var out io.Writer = os.Stdout
	var outFile *os.File
	if outPath != "" && outPath != "-" {
		outFile, err = os.Create(outPath)
		if err != nil {
			return err
		}
		defer outFile.Close()
		out = outFile
	}
	var bz *bgzf.Writer
	if strings.HasSuffix(outPath, ".gz") || strings.HasSuffix(outPath, ".bgz") {
		bz, err = bgzf.NewWriter(out)
		if err != nil {
			return err
		}
		out = bz
	}
	sum, err := annotateAs(ctx, eng, format, in, out)
	if opt.Progress != nil {
		fmt.Fprint(os.Stderr, "\r")
	}
	if bz != nil {
		if cerr := bz.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if outFile != nil {
		if cerr := outFile.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	if err != nil {
		if errors.Is(err, ports.ErrBadInput) {
			return fmt.Errorf("%w: %v", errBadInput, err)
		}
		return err
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "gas annotate: %d records, %d alleles, %d skipped, %d known, %d REF mismatches, Ts/Tv %.2f, %s in %.2fs\n",
		sum.Records, sum.Variants, sum.Skipped, sum.Known, sum.RefMismatches, sum.TsTv(), sum.Reference, time.Since(start).Seconds())
	return nil
}

// writeHeapProfile records live and total allocations (diagnostics).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// annotateAs runs the engine and converts its VCF into the chosen format.
func annotateAs(ctx context.Context, eng *engine.Engine, format string, in io.Reader, out io.Writer) (domain.Summary, error) {
	if format == "vcf" {
		return eng.Annotate(ctx, in, out)
	}
	pr, pw := io.Pipe()
	conv := make(chan error, 1)
	go func() {
		f, err := export.ParseFormat(format)
		if err == nil {
			err = export.Convert(pr, out, f)
		}
		pr.CloseWithError(err)
		conv <- err
	}()
	sum, err := eng.Annotate(ctx, in, pw)
	pw.CloseWithError(err)
	if err != nil {
		<-conv
		return sum, err
	}
	if cerr := <-conv; err == nil {
		err = cerr
	}
	return sum, err
}
