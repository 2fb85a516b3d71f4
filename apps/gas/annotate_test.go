package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/engine/synth"
)

// TestAnnotateCLI runs `gas annotate` and `gas db build` in-process on a
// small synthetic reference: outputs, formats and exit-code classes.
func TestAnnotateCLI(t *testing.T) {
	dir := t.TempDir()
	files, err := synth.WriteFiles(dir, synth.Small(), synth.FileOptions{Known: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := filepath.Join(dir, "out.vcf")
	if err := runAnnotate(ctx, []string{"--gff3", files.GFF3, "--fasta", files.FASTA, "--known", files.Known, "-o", out, files.Variants}); err != nil {
		t.Fatal(err)
	}
	vcf, _ := os.ReadFile(out)
	if !strings.Contains(string(vcf), "##INFO=<ID=ANN,") || !strings.Contains(string(vcf), "KNOWN_AF=") {
		t.Fatal("annotated VCF lacks ANN or KNOWN_AF")
	}
	db := filepath.Join(dir, "ref.gasdb")
	if err := dispatch(ctx, "db", []string{"build", "--gff3", files.GFF3, "--fasta", files.FASTA, "--known", files.Known, "--name", "synth-small", "-o", db}); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "out2.vcf")
	if err := runAnnotate(ctx, []string{files.Variants, "--db", db, "-o", out2}); err != nil {
		t.Fatal(err)
	}
	vcf2, _ := os.ReadFile(out2)
	if string(vcf) != string(vcf2) {
		t.Fatal("--db output differs from --gff3/--fasta output")
	}
	tsv := filepath.Join(dir, "out.tsv")
	if err := runAnnotate(ctx, []string{"--db", db, "--format", "tsv", "-o", tsv, files.Variants}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(tsv)
	if !strings.HasPrefix(string(b), "CHROM\tPOS\tID\tREF\tALT") {
		t.Fatalf("TSV header: %.80s", b)
	}
	gz := filepath.Join(dir, "out.vcf.gz")
	if err := runAnnotate(ctx, []string{"--db", db, "-o", gz, files.Variants}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(gz); len(b) < 18 || b[0] != 0x1f || b[1] != 0x8b || b[12] != 'B' || b[13] != 'C' {
		t.Fatal(".gz output is not BGZF")
	}

	usage := [][]string{
		{"--fasta", files.FASTA, files.Variants},
		{"--gff3", files.GFF3, files.Variants},
		{"--db", db, "--format", "xml", files.Variants},
		{"--db", db, "--on-error", "maybe", files.Variants},
		{"--db", db, "a.vcf", "b.vcf"},
		{"--db", db, "--gff3", files.GFF3, files.Variants},
		{"--bogus"},
	}
	for _, args := range usage {
		if err := runAnnotate(ctx, args); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error (exit 2)", args, err)
		}
	}
	bad := filepath.Join(dir, "bad.vcf")
	os.WriteFile(bad, []byte("chr1\t5\t.\tA\tC\t.\t.\t.\n"), 0o644)
	if err := runAnnotate(ctx, []string{"--db", db, bad}); !errors.Is(err, errBadInput) {
		t.Errorf("malformed input: %v, want a bad-input error (exit 3)", err)
	}
	if err := runAnnotate(ctx, []string{"--db", db, "--on-error", "skip", "-o", filepath.Join(dir, "x.vcf"), bad}); !errors.Is(err, errBadInput) {
		t.Errorf("missing header is not skippable: %v", err)
	}
	if err := dispatch(ctx, "db", []string{"build", "--gff3", files.GFF3, "--fasta", files.FASTA}); !errors.Is(err, errUsage) {
		t.Errorf("db build without -o: %v", err)
	}
}
