package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/download"
	"github.com/gasproject/gas/adapters/engine/known"
)

const dbFetchUsage = `db fetch [--source ensembl|gencode] [--assembly GRCh38|GRCh37] [--release N]
         [--mirror URL] [--dir DIR] [-o REF.gasdb] [--known] [--no-build]`

const dbFetchAbout = `Downloads the gene models (GFF3) and genome FASTA of a standard human
reference, resuming interrupted transfers, verifies them against the
provider's published checksums (Ensembl CHECKSUMS, GENCODE MD5SUMS) and
builds the annotation database with gas db build.
Defaults: Ensembl GRCh38 release 113 (GENCODE: release 47), DIR
gas-reference/<source>-<assembly>-<release>, OUT DIR/<same>.gasdb.`

// runDBFetch implements `gas db fetch` (dispatched from db.go).
func runDBFetch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("db fetch", flag.ContinueOnError)
	source := fs.String("source", "ensembl", "`SOURCE`: ensembl or gencode")
	assembly := fs.String("assembly", "GRCh38", "`ASSEMBLY`: GRCh38 or GRCh37")
	release := fs.Int("release", 0, "provider release (default: Ensembl 113, GENCODE 47)")
	mirror := fs.String("mirror", "", "base `URL` replacing the provider's (same layout below it)")
	dir := fs.String("dir", "", "download `DIR`")
	var out string
	fs.StringVar(&out, "o", "", "output database `FILE` (default DIR/<label>.gasdb)")
	fs.StringVar(&out, "output", "", "same as -o `FILE`")
	withKnown := fs.Bool("known", false, "also fetch Ensembl Variation's VCF (rsIDs; tens of GB) and index it")
	noBuild := fs.Bool("no-build", false, "download and verify only")
	attempts := fs.Int("attempts", 5, "tries per file before giving up (each resumes)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var plan download.Plan
	var err error
	switch strings.ToLower(*source) {
	case "ensembl":
		if *release == 0 {
			*release = download.DefaultEnsemblRelease
		}
		plan, err = download.Ensembl(*mirror, *assembly, *release, *withKnown)
	case "gencode":
		if *withKnown {
			return fmt.Errorf("%w: --known is available with --source ensembl (GENCODE publishes no variant VCF)", errUsage)
		}
		if *release == 0 {
			*release = download.DefaultGencodeRelease
		}
		plan, err = download.Gencode(*mirror, *assembly, *release)
	default:
		return fmt.Errorf("%w: --source %q: ensembl or gencode", errUsage, *source)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *dir == "" {
		*dir = filepath.Join("gas-reference", plan.Label)
	}
	if out == "" {
		out = filepath.Join(*dir, plan.Label+".gasdb")
	}
	opts := []download.FetcherOption{download.WithAttempts(*attempts, 2*time.Second)}
	if isTerminal(os.Stderr) {
		opts = append(opts, download.WithProgress(func(name string, done, total int64) {
			if total > 0 {
				fmt.Fprintf(os.Stderr, "\r%s: %d/%d MB (%.0f%%)   ", name, done>>20, total>>20, 100*float64(done)/float64(total))
				if done == total {
					fmt.Fprintln(os.Stderr)
				}
			} else {
				fmt.Fprintf(os.Stderr, "\r%s: %d MB   ", name, done>>20)
			}
		}))
	}
	f := download.NewFetcher(opts...)
	start := time.Now()
	remotes := []download.Remote{plan.GFF3, plan.FASTA}
	if plan.Known != nil {
		remotes = append(remotes, *plan.Known)
	}
	paths := make([]string, len(remotes))
	for i, r := range remotes {
		slog.Info("fetching", "url", r.URL)
		if paths[i], err = f.Fetch(ctx, r, *dir); err != nil {
			return fmt.Errorf("fetch %s: %w", r.Name, err)
		}
	}
	fmt.Fprintf(os.Stderr, "gas db fetch: %s downloaded and verified in %s (%.1fs)\n", plan.Label, *dir, time.Since(start).Seconds())
	if *noBuild {
		return nil
	}
	buildArgs := []string{"--gff3", paths[0], "--fasta", paths[1], "-o", out}
	if plan.Known != nil {
		// Ensembl ships a CSI index; GAS reads tabix, so build one once.
		if err := known.EnsureIndex(paths[2]); err != nil {
			return fmt.Errorf("index %s: %w", paths[2], err)
		}
		buildArgs = append(buildArgs, "--known", paths[2])
	}
	return runDBBuild(ctx, buildArgs)
}
