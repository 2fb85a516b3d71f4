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

// tsvRows reads a TSV export: rows keyed by allele (CHROM POS ALT) in
// order, each as its columns by name.
func tsvRows(t *testing.T, path string) (keys []string, rows map[string][]map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	head := strings.Split(lines[0], "\t")
	rows = map[string][]map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		r := map[string]string{}
		for i, h := range head {
			r[h] = f[i]
		}
		k := r["CHROM"] + ":" + r["POS"] + ":" + r["ALT"]
		if _, seen := rows[k]; !seen {
			keys = append(keys, k)
		}
		rows[k] = append(rows[k], r)
	}
	return keys, rows
}

// TestAnnotatePick: --pick most-severe writes each allele's first (most
// severe) entry of the full output; --pick canonical its entries on
// canonical transcripts, or that first entry when it has none. Entries
// carry INFO_CANONICAL / INFO_MANE_SELECT and the export's Canonical and
// MANE_Select columns agree with them.
func TestAnnotatePick(t *testing.T) {
	dir := t.TempDir()
	files, err := synth.WriteFiles(dir, synth.Small(), synth.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(pick string) (string, []string, map[string][]map[string]string) {
		out := filepath.Join(dir, pick+".tsv")
		if err := runAnnotate(ctx, []string{"--gff3", files.GFF3, "--fasta", files.FASTA, "--format", "tsv", "--pick", pick, "-o", out, files.Variants}); err != nil {
			t.Fatal(err)
		}
		keys, rows := tsvRows(t, out)
		return out, keys, rows
	}
	_, keys, all := run("all")
	_, msKeys, ms := run("most-severe")
	_, cKeys, canon := run("canonical")
	if len(keys) < 1000 || len(msKeys) != len(keys) || len(cKeys) != len(keys) {
		t.Fatalf("alleles: all %d, most-severe %d, canonical %d", len(keys), len(msKeys), len(cKeys))
	}
	canonical, mane, withoutCanonical := 0, 0, 0
	for _, k := range keys {
		rows := all[k]
		if len(ms[k]) != 1 || strings.Join(mapValues(ms[k][0]), "|") != strings.Join(mapValues(rows[0]), "|") {
			t.Fatalf("%s: most-severe %v, want the first of %v", k, ms[k], rows)
		}
		var want []map[string]string
		for _, r := range rows {
			tagged := strings.Contains(r["Warnings"], "INFO_CANONICAL")
			if tagged != (r["Canonical"] == "YES") || strings.Contains(r["Warnings"], "INFO_MANE_SELECT") != (r["MANE_Select"] == "YES") {
				t.Fatalf("%s: columns disagree with the Warnings field: %v", k, r)
			}
			if tagged {
				want = append(want, r)
				canonical++
			}
			if r["MANE_Select"] == "YES" {
				mane++
			}
		}
		if len(want) == 0 {
			want = rows[:1]
			withoutCanonical++
		}
		if len(canon[k]) != len(want) || canon[k][0]["Feature_ID"] != want[0]["Feature_ID"] {
			t.Fatalf("%s: canonical pick %v, want %v", k, canon[k], want)
		}
	}
	if canonical == 0 || mane == 0 || withoutCanonical == 0 {
		t.Fatalf("canonical %d, MANE %d, alleles without a canonical entry %d: the sample does not exercise the pick", canonical, mane, withoutCanonical)
	}
	if err := runAnnotate(ctx, []string{"--gff3", files.GFF3, "--fasta", files.FASTA, "--pick", "first", files.Variants}); !errors.Is(err, errUsage) {
		t.Fatalf("--pick first: %v, want a usage error", err)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, k := range []string{"CHROM", "POS", "ALT", "Annotation", "Feature_ID", "HGVS_c", "Warnings"} {
		out = append(out, m[k])
	}
	return out
}
