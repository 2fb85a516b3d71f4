// Package reference downloads standard reference data (Ensembl and GENCODE
// gene models and genome FASTA) with resumable transfers and verifies the
// checksums the providers publish, so `gas db fetch` can set up an
// annotation database in one step. It knows the providers' directory
// layouts; the base URL is overridable for mirrors and tests.
package download

import (
	"errors"
	"fmt"
	"strings"
)

// Default base URLs of the providers' public trees.
const (
	EnsemblBase = "https://ftp.ensembl.org/pub"
	GencodeBase = "https://ftp.ebi.ac.uk/pub/databases/gencode/Gencode_human"
)

// Default releases: Ensembl 113 and GENCODE 47 are the same annotation.
const (
	DefaultEnsemblRelease = 113
	DefaultGencodeRelease = 47
)

// Algo names a published checksum algorithm.
type Algo int

// Checksum algorithms used by the providers.
const (
	// BSDSum is the 16-bit rotating checksum of BSD `sum` (Ensembl's
	// CHECKSUMS files: "checksum blocks filename").
	BSDSum Algo = iota
	// MD5 is GENCODE's MD5SUMS ("md5  filename").
	MD5
)

// Remote is one file to fetch and the checksum list that covers it.
type Remote struct {
	URL         string
	Name        string // file name, as listed in the checksum file
	ChecksumURL string
	Algo        Algo
}

// Plan is everything a reference needs.
type Plan struct {
	Label string // e.g. "ensembl-GRCh38-113", used for directory and db names
	GFF3  Remote
	FASTA Remote
	Known *Remote // optional known-variants VCF (Ensembl variation)
}

// ErrLayout is wrapped when a source/assembly/release has no known layout.
var ErrLayout = errors.New("no known download layout")

func join(base string, parts ...string) string {
	return strings.TrimRight(base, "/") + "/" + strings.Join(parts, "/")
}

// Ensembl returns the plan for Ensembl human gene models (GFF3) and the
// primary-assembly FASTA. GRCh38 lives at pub/release-N; GRCh37 at
// pub/grch37/release-N (from release 82, when GRCh37 files moved there).
// withKnown adds Ensembl Variation's VCF (dbSNP-derived rsIDs).
func Ensembl(base, assembly string, release int, withKnown bool) (Plan, error) {
	if base == "" {
		base = EnsemblBase
	}
	var root string
	switch assembly {
	case "GRCh38":
		if release < 76 {
			return Plan{}, fmt.Errorf("%w: Ensembl GRCh38 GFF3 starts at release 76, not %d", ErrLayout, release)
		}
		root = join(base, fmt.Sprintf("release-%d", release))
	case "GRCh37":
		if release < 82 {
			return Plan{}, fmt.Errorf("%w: Ensembl GRCh37 files are published under grch37/release-N from release 82, not %d", ErrLayout, release)
		}
		root = join(base, "grch37", fmt.Sprintf("release-%d", release))
	default:
		return Plan{}, fmt.Errorf("%w: Ensembl assembly %q (GRCh38 or GRCh37)", ErrLayout, assembly)
	}
	gffDir := join(root, "gff3", "homo_sapiens")
	faDir := join(root, "fasta", "homo_sapiens", "dna")
	gff := fmt.Sprintf("Homo_sapiens.%s.%d.gff3.gz", assembly, release)
	fa := fmt.Sprintf("Homo_sapiens.%s.dna.primary_assembly.fa.gz", assembly)
	p := Plan{
		Label: fmt.Sprintf("ensembl-%s-%d", assembly, release),
		GFF3:  Remote{URL: join(gffDir, gff), Name: gff, ChecksumURL: join(gffDir, "CHECKSUMS"), Algo: BSDSum},
		FASTA: Remote{URL: join(faDir, fa), Name: fa, ChecksumURL: join(faDir, "CHECKSUMS"), Algo: BSDSum},
	}
	if withKnown {
		vDir := join(root, "variation", "vcf", "homo_sapiens")
		p.Known = &Remote{URL: join(vDir, "homo_sapiens.vcf.gz"), Name: "homo_sapiens.vcf.gz", ChecksumURL: join(vDir, "CHECKSUMS"), Algo: BSDSum}
	}
	return p, nil
}

// Gencode returns the plan for GENCODE human: the comprehensive annotation
// GFF3 and the primary-assembly FASTA of release_N, or for GRCh37 the
// lifted-over files under release_N/GRCh37_mapping.
func Gencode(base, assembly string, release int) (Plan, error) {
	if base == "" {
		base = GencodeBase
	}
	if release < 20 {
		return Plan{}, fmt.Errorf("%w: GENCODE releases before 20 are not supported (got %d)", ErrLayout, release)
	}
	root := join(base, fmt.Sprintf("release_%d", release))
	var dir, gff, fa string
	switch assembly {
	case "GRCh38":
		dir = root
		gff = fmt.Sprintf("gencode.v%d.annotation.gff3.gz", release)
		fa = "GRCh38.primary_assembly.genome.fa.gz"
	case "GRCh37":
		dir = join(root, "GRCh37_mapping")
		gff = fmt.Sprintf("gencode.v%dlift37.annotation.gff3.gz", release)
		fa = "GRCh37.primary_assembly.genome.fa.gz"
	default:
		return Plan{}, fmt.Errorf("%w: GENCODE assembly %q (GRCh38 or GRCh37)", ErrLayout, assembly)
	}
	sums := join(dir, "MD5SUMS")
	return Plan{
		Label: fmt.Sprintf("gencode-%s-%d", assembly, release),
		GFF3:  Remote{URL: join(dir, gff), Name: gff, ChecksumURL: sums, Algo: MD5},
		FASTA: Remote{URL: join(dir, fa), Name: fa, ChecksumURL: sums, Algo: MD5},
	}, nil
}
