package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's command reference")

// TestEveryHelpExitsZeroAndListsEveryFlag runs the real binary: `gas X
// --help` (and -h) for every command and group exits 0, prints on standard
// output, and names every flag the command parses with its meaning.
func TestEveryHelpExitsZeroAndListsEveryFlag(t *testing.T) {
	bin := buildGas(t)
	gas := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out.String(), errb.String(), exit.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), 0
	}
	for _, path := range leaves() {
		_, fs, err := helpOf(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"--help", "-h"} {
			out, errOut, code := gas(append(strings.Fields(path), h)...)
			if code != 0 || errOut != "" || !strings.HasPrefix(out, "usage: gas "+path) {
				t.Fatalf("gas %s %s: exit %d, stderr %q, stdout %q", path, h, code, errOut, out)
			}
			fs.VisitAll(func(f *flag.Flag) {
				doc := flagDoc{Name: f.Name}
				if !strings.Contains(out, doc.Synopsis()) || f.Usage == "" {
					t.Errorf("gas %s %s does not list %s with its meaning", path, h, doc.Synopsis())
				}
			})
		}
	}
	for _, group := range []string{"db", "load", "simulate", "aws"} {
		out, _, code := gas(group, "--help")
		if code != 0 || !strings.Contains(out, "subcommands:") {
			t.Errorf("gas %s --help: exit %d, %q", group, code, out)
		}
	}
	out, _, code := gas("--help")
	if code != 0 || !strings.Contains(out, "serve") || !strings.Contains(out, "db build") {
		t.Errorf("gas --help: exit %d, %q", code, out)
	}
	// Mistakes stay usage errors (exit 2), on standard error.
	for _, args := range [][]string{{}, {"nope"}, {"db"}, {"db", "nope"}, {"serve", "--nope"}, {"annotate", "--format", "xml"}} {
		if _, errOut, code := gas(args...); code != exitUsage || errOut == "" {
			t.Errorf("gas %v: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
	// gas serve's help has what the issue found missing.
	out, _, _ = gas("serve", "--help")
	for _, want := range []string{"--workers-min N", "--acceptable-wait DURATION", "--quiet", "(default 2 × CPUs)", "--oidc-client-id"} {
		if !strings.Contains(out, want) {
			t.Errorf("gas serve --help lacks %q:\n%s", want, out)
		}
	}
}

// TestReadmeCommandReference keeps README.md's command reference equal to
// the flag sets the commands parse with (go test ./apps/gas -run
// TestReadmeCommandReference -update rewrites it).
func TestReadmeCommandReference(t *testing.T) {
	const path = "../../README.md"
	const begin, end = "<!-- commands:begin -->\n", "<!-- commands:end -->"
	want, err := commandReference()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	if *update {
		readme = readme[:i+len(begin)] + want + readme[j:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if readme[i+len(begin):j] != want {
		t.Fatal("README.md's command reference is stale: go test ./apps/gas -run TestReadmeCommandReference -update")
	}
	for _, p := range leaves() {
		if !strings.Contains(want, "#### `gas "+p+"`") {
			t.Errorf("gas %s missing from the reference", p)
		}
	}
}
