package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gasproject/gas/adapters/engine/gasdb"
)

func init() {
	commands["db"] = command{"build (`db build`) or download and build (`db fetch`) an annotation database", runDB}
}

// runDB dispatches `gas db build` here and `gas db fetch` to runDBFetch
// (apps/gas/dbfetch.go).
func runDB(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: gas db build|fetch [flags]", errUsage)
	}
	switch args[0] {
	case "build":
		return runDBBuild(ctx, args[1:])
	case "fetch":
		return runDBFetch(ctx, args[1:])
	}
	return fmt.Errorf("%w: unknown db subcommand %q (build or fetch)", errUsage, args[0])
}

func runDBBuild(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("db build", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var rf refFlags
	rf.register(fs, false)
	var out string
	fs.StringVar(&out, "o", "", "output database file (REF.gasdb)")
	fs.StringVar(&out, "output", "", "same as -o")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return fmt.Errorf("%w\nusage: gas db build --gff3 GENES.gff3[.gz] --fasta REF.fa[.gz] [--known KNOWN.vcf.gz] -o REF.gasdb", err)
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
