package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain"
)

func init() {
	commands["reconcile"] = command{summary: "scan a deployment's jobs once and re-issue every message a failure lost (--dry-run: report only)",
		usage: "reconcile [--dry-run] [--json] [reconciler role flags]", about: reconcileAbout, run: runReconcile}
}

const reconcileAbout = `Runs one pass of the reconciler (the reconciler role runs it every
GAS_RECONCILE_INTERVAL) against the deployment the GAS_* variables name,
exactly as the roles read them; the reconciler role's settings are also
accepted as flags (docs/configuration.md lists them). It scans every job
with strongly consistent reads and re-issues what should have happened by
now and did not (requests of stranded jobs, archives, thaws, restore
checks, notices). --dry-run reports what it would re-issue and changes
nothing. It prints the count of each finding; repairs are logged on
standard error.`

// runReconcile is `gas reconcile`.
func runReconcile(ctx context.Context, args []string) error {
	return reconcileWith(ctx, args, os.Getenv, os.Stdout, os.Stderr)
}

// reconcileWith is gas reconcile reading variables with getenv, printing
// the report to stdout and logs to stderr.
func reconcileWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dryRun, asJSON, rest, err := reconcileFlags(args)
	if err != nil {
		return err
	}
	c, err := role.Load(role.Reconciler, rest, getenv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	rt := role.NewRuntime(c, stderr)
	r, cleanup, err := initReconcile(ctx, rt)
	if err != nil {
		return err
	}
	defer cleanup()
	rep, err := r.Reconcile(ctx, dryRun)
	if err != nil {
		return err
	}
	return printReport(stdout, rep, asJSON)
}

// reconcileFlags takes gas reconcile's own flags out of args, leaving the
// role's flags to role.Load; -h or --help asks for the command's help.
func reconcileFlags(args []string) (dryRun, asJSON bool, rest []string, err error) {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.BoolVar(&dryRun, "dry-run", false, "report what would be re-issued and change nothing")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	for _, a := range args {
		switch a {
		case "--dry-run", "-dry-run":
			dryRun = true
		case "--json", "-json":
			asJSON = true
		case "-h", "--help", "-help":
			return false, false, nil, &helpRequest{fs}
		default:
			rest = append(rest, a)
		}
	}
	return dryRun, asJSON, rest, nil
}

// printReport writes rep as a table of findings, or as JSON.
func printReport(w io.Writer, rep workers.Report, asJSON bool) error {
	if asJSON {
		found := map[string]int{}
		for _, f := range domain.Findings {
			found[string(f)] = rep.Found[f]
		}
		return json.NewEncoder(w).Encode(map[string]any{"dry_run": rep.DryRun, "scanned": rep.Scanned, "found": found,
			"deferred": rep.Deferred, "errors": rep.Errors, "took_seconds": rep.Took.Seconds()})
	}
	verb := "re-issued"
	if rep.DryRun {
		verb = "would re-issue (dry run)"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "finding\t%s\n", verb)
	for _, f := range domain.Findings {
		fmt.Fprintf(tw, "%s\t%d\n", f, rep.Found[f])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d jobs scanned in %s; %d pending jobs left to the annotate backlog; %d repairs failed\n",
		rep.Scanned, rep.Took.Round(1e6), rep.Deferred, rep.Errors)
	return err
}
