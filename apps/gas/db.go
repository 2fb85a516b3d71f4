package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gasproject/gas/adapters/engine/gasdb"
)

func init() {
	commands["db"] = command{summary: "build or download and build an annotation database", subs: map[string]command{
		"build": {summary: "build an annotation database from gene models (GFF3 or GTF) and a reference FASTA",
			usage: "db build (--gff3 GENES.gff3[.gz] | --gtf GENES.gtf[.gz]) --fasta REF.fa[.gz] [--known KNOWN.vcf.gz] -o REF.gasdb",
			run:   runDBBuild},
		"fetch": {summary: "download a standard human reference (Ensembl or GENCODE), verify it and build its database",
			usage: dbFetchUsage, about: dbFetchAbout, run: runDBFetch},
	}}
}

func runDBBuild(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("db build", flag.ContinueOnError)
	var rf refFlags
	rf.register(fs, false)
	var out string
	fs.StringVar(&out, "o", "", "output database `FILE` (REF.gasdb)")
	fs.StringVar(&out, "output", "", "same as -o `FILE`")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if out == "" {
		return fmt.Errorf("%w: -o REF.gasdb is required", errUsage)
	}
	start := time.Now()
	rf.tuneGC()
	ref, err := rf.load()
	if err != nil {
		return err
	}
	meta := gasdb.Meta{}
	if rf.known != "" {
		if meta.Known, err = filepath.Abs(rf.known); err != nil {
			return err
		}
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := gasdb.Write(f, ref, meta); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gas db build: %s: %s (%.2fs)\n", out, ref.Summary(), time.Since(start).Seconds())
	return nil
}
