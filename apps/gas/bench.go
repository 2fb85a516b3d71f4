package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gasproject/gas/adapters/engine/synth"
)

func init() {
	commands["bench"] = command{summary: "benchmark gas annotate against bcftools csq and SnpEff on synthetic genomes",
		usage: benchUsage, about: benchAbout, run: runBench}
}

const benchUsage = `bench [--sizes 10k,100k,1m] [--modes plain,bgzf] [--dir DIR] [--keep]
      [--gas PATH] [--bcftools PATH|none] [--snpeff PATH|none] [--snpeff-max N]
      [--repeat N] [--db]`

const benchAbout = `Generates the synthetic benchmark reference (20 Mb genome in 4 chromosomes,
1,000 genes) and variant sets of the given sizes, then times gas annotate,
bcftools csq -l and SnpEff (when installed) on the same files in the same
run: wall time and peak RSS (wait4 rusage) of each, for plain and BGZF
input and output. Prints a markdown table on stdout. See docs/benchmarks.md.`

// benchRow is one measured run.
type benchRow struct {
	variants int
	mode     string
	tool     string
	wall     time.Duration
	cpu      time.Duration // user + system
	rssKB    int64
	err      error
}

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizesFlag := fs.String("sizes", "10k,100k,1m", "variant counts, a comma-separated `LIST` (k/m suffixes)")
	modesFlag := fs.String("modes", "plain,bgzf", "`LIST` of plain (VCF in and out) and/or bgzf (BGZF in and out)")
	dir := fs.String("dir", "", "work `DIR` (default: a temporary one, removed afterwards)")
	keep := fs.Bool("keep", false, "keep the work directory")
	gasBin := fs.String("gas", "", "gas binary `PATH` to time (default: this one)")
	bcftools := fs.String("bcftools", "bcftools", "bcftools binary `PATH`, or none")
	snpeff := fs.String("snpeff", "snpEff", "SnpEff launcher `PATH`, or none")
	snpeffMax := fs.Int("snpeff-max", 1_000_000, "largest variant set given to SnpEff (it is slow)")
	repeat := fs.Int("repeat", 1, "runs per measurement; the fastest is reported")
	withDB := fs.Bool("db", false, "also time gas annotate --db (prebuilt database)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sizes, err := parseSizes(*sizesFlag)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	modes := strings.Split(*modesFlag, ",")
	for _, m := range modes {
		if m != "plain" && m != "bgzf" {
			return fmt.Errorf("%w: --modes: %q is not plain or bgzf", errUsage, m)
		}
	}
	if *gasBin == "" {
		if *gasBin, err = os.Executable(); err != nil {
			return err
		}
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "gas-bench-")
		if err != nil {
			return err
		}
		*dir = d
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	bcf := lookTool(*bcftools)
	se := lookTool(*snpeff)
	log := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "gas bench: "+format+"\n", a...) }

	t0 := time.Now()
	g, err := synth.New(synth.Benchmark(0))
	if err != nil {
		return err
	}
	ref, err := g.WriteFiles(filepath.Join(*dir, "ref"), synth.FileOptions{})
	if err != nil {
		return err
	}
	log("reference: %d chromosomes, %d genes, %d transcripts in %s (%.1fs)", len(g.Chroms()), len(g.Genes()), g.TranscriptCount(), *dir, time.Since(t0).Seconds())
	var notes []string
	db := filepath.Join(*dir, "ref", "ref.gasdb")
	if *withDB {
		r := measure(ctx, *gasBin, []string{"db", "build", "--gff3", ref.GFF3, "--fasta", ref.FASTA, "-o", db}, "")
		if r.err != nil {
			return fmt.Errorf("gas db build: %w", r.err)
		}
		notes = append(notes, fmt.Sprintf("gas db build: %.2f s, %d MB peak RSS", r.wall.Seconds(), r.rssKB>>10))
	}
	var snpCfg string
	if se != "" {
		var r benchRow
		snpCfg, r = setupSnpEff(ctx, se, filepath.Join(*dir, "snpeff"), ref)
		if r.err != nil {
			log("SnpEff database build failed, leaving SnpEff out: %v", r.err)
			se = ""
		} else {
			notes = append(notes, fmt.Sprintf("SnpEff database build: %.1f s, %d MB peak RSS", r.wall.Seconds(), r.rssKB>>10))
		}
	}
	if bcf == "" {
		notes = append(notes, "bcftools not found: no baseline")
	} else if v, err := exec.CommandContext(ctx, bcf, "--version").Output(); err == nil {
		notes = append(notes, strings.SplitN(string(v), "\n", 2)[0])
	}
	var rows []benchRow
	for _, n := range sizes {
		cfg := synth.Benchmark(n)
		vg, err := synth.New(cfg)
		if err != nil {
			return err
		}
		inputs := map[string]string{}
		for _, m := range modes {
			p := filepath.Join(*dir, fmt.Sprintf("variants-%d.vcf", n))
			if m == "bgzf" {
				p += ".gz"
			}
			if err := writeVariants(vg, p, m == "bgzf"); err != nil {
				return err
			}
			inputs[m] = p
		}
		for _, m := range modes {
			in := inputs[m]
			out := filepath.Join(*dir, fmt.Sprintf("out-%d-%s", n, m))
			ext, oz := ".vcf", "v"
			if m == "bgzf" {
				ext, oz = ".vcf.gz", "z"
			}
			type run struct {
				tool   string
				bin    string
				args   []string
				stdout string
			}
			runs := []run{{"gas annotate", *gasBin, []string{"annotate", "--gff3", ref.GFF3, "--fasta", ref.FASTA, "-o", out + "-gas" + ext, in}, ""}}
			if *withDB {
				runs = append(runs, run{"gas annotate --db", *gasBin, []string{"annotate", "--db", db, "-o", out + "-gasdb" + ext, in}, ""})
			}
			if bcf != "" {
				runs = append(runs, run{"bcftools csq -l", bcf, []string{"csq", "-l", "-f", ref.FASTA, "-g", ref.GFF3, "-O" + oz, "-o", out + "-bcftools" + ext, in}, ""})
			}
			if se != "" && n <= *snpeffMax {
				// SnpEff writes plain VCF to stdout in both modes.
				runs = append(runs, run{"SnpEff ann", se, []string{"ann", "-noStats", "-noLog", "-c", snpCfg, "synth", in}, out + "-snpeff.vcf"})
			}
			for _, r := range runs {
				best := benchRow{}
				for i := 0; i < max(*repeat, 1); i++ {
					res := measure(ctx, r.bin, r.args, r.stdout)
					if i == 0 || (res.err == nil && res.wall < best.wall) {
						best = res
					}
				}
				best.variants, best.mode, best.tool = n, m, r.tool
				if best.err != nil {
					log("%s on %d variants (%s): %v", r.tool, n, m, best.err)
				} else {
					log("%-18s %9d variants %-5s %7.2f s %6d MB", r.tool, n, m, best.wall.Seconds(), best.rssKB>>10)
				}
				rows = append(rows, best)
			}
		}
		for _, p := range inputs {
			if !*keep {
				os.Remove(p)
			}
		}
	}
	fmt.Print(benchTable(rows, notes, bcf))
	return nil
}

func lookTool(name string) string {
	if name == "" || name == "none" {
		return ""
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

func writeVariants(g *synth.Genome, path string, bgzf bool) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	dir := filepath.Dir(path)
	files, err := g.WriteFiles(filepath.Join(dir, "tmp-"+filepath.Base(path)), synth.FileOptions{BGZFVariants: bgzf})
	if err != nil {
		return err
	}
	if err := os.Rename(files.Variants, path); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, "tmp-"+filepath.Base(path)))
}

// measure runs bin and reports wall time and peak RSS. The RSS comes from
// GNU time (/usr/bin/time -f %M) when installed: wait4's rusage of a child
// forked by this process would also count this process's own resident
// set, inherited at fork, and so could never report below it.
func measure(ctx context.Context, bin string, args []string, stdout string) benchRow {
	timeBin, _ := exec.LookPath("/usr/bin/time")
	var statFile string
	name, argv := bin, args
	if timeBin != "" {
		f, err := os.CreateTemp("", "gas-bench-time-")
		if err != nil {
			return benchRow{err: err}
		}
		statFile = f.Name()
		f.Close()
		defer os.Remove(statFile)
		name, argv = timeBin, append([]string{"-f", "%e %M", "-o", statFile, bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdout != "" {
		f, err := os.Create(stdout)
		if err != nil {
			return benchRow{err: err}
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err := cmd.Run()
	r := benchRow{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		// time's usage includes the child it waited for.
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if statFile != "" {
		if b, rerr := os.ReadFile(statFile); rerr == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if f := strings.Fields(lines[len(lines)-1]); len(f) == 2 {
				r.rssKB, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	} else if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rssKB = ru.Maxrss // kilobytes on Linux; an upper bound (see above)
		}
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		r.err = fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, msg)
	}
	return r
}

// setupSnpEff builds a SnpEff database from the synthetic GFF3. SnpEff
// resolves Parent= against ID= only without Ensembl's "transcript:" and
// "gene:" prefixes, so they are stripped in its copy.
func setupSnpEff(ctx context.Context, bin, dir string, ref synth.Files) (string, benchRow) {
	data := filepath.Join(dir, "data", "synth")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", benchRow{err: err}
	}
	gff, err := os.ReadFile(ref.GFF3)
	if err != nil {
		return "", benchRow{err: err}
	}
	for _, p := range []string{"transcript:", "gene:", "CDS:"} {
		gff = bytes.ReplaceAll(gff, []byte("="+p), []byte("="))
	}
	if err := os.WriteFile(filepath.Join(data, "genes.gff"), gff, 0o644); err != nil {
		return "", benchRow{err: err}
	}
	fa, err := os.ReadFile(ref.FASTA)
	if err != nil {
		return "", benchRow{err: err}
	}
	if err := os.WriteFile(filepath.Join(data, "sequences.fa"), fa, 0o644); err != nil {
		return "", benchRow{err: err}
	}
	cfg := filepath.Join(dir, "snpEff.config")
	if err := os.WriteFile(cfg, []byte("data.dir = "+filepath.Join(dir, "data")+"/\nsynth.genome : synth\n"), 0o644); err != nil {
		return "", benchRow{err: err}
	}
	r := measure(ctx, bin, []string{"build", "-gff3", "-noCheckCds", "-noCheckProtein", "-c", cfg, "synth"}, "")
	return cfg, r
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1_000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, strings.TrimSuffix(f, "m")
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--sizes: bad size %q", f)
		}
		out = append(out, n*mult)
	}
	sort.Ints(out)
	return out, nil
}

func humanCount(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return strconv.Itoa(n)
}

// benchTable renders the rows as markdown, with each run's wall time
// relative to bcftools csq on the same set and mode.
func benchTable(rows []benchRow, notes []string, bcf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d CPUs, GOMAXPROCS %d, %s/%s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	b.WriteString("| variants | in/out | tool | wall (s) | peak RSS (MB) | wall vs bcftools |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|\n")
	base := map[string]time.Duration{}
	for _, r := range rows {
		if r.tool == "bcftools csq -l" && r.err == nil {
			base[fmt.Sprint(r.variants, r.mode)] = r.wall
		}
	}
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(&b, "| %s | %s | %s | failed | | |\n", humanCount(r.variants), r.mode, r.tool)
			continue
		}
		rel := ""
		if bw, ok := base[fmt.Sprint(r.variants, r.mode)]; ok && bw > 0 {
			rel = fmt.Sprintf("%.2f×", r.wall.Seconds()/bw.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %d | %s |\n", humanCount(r.variants), r.mode, r.tool, r.wall.Seconds(), r.rssKB>>10, rel)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_ = bcf
	return b.String()
}
