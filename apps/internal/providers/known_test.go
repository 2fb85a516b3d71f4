package providers

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/known"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/apps/internal/role"
)

// TestRoleAnnotatorKnownVariantsFromS3 starts the annotator role's engine
// the way apps/annotator does, against the AWS test server: the database
// and the known-variants VCF (with its .tbi) are S3 objects, the source is
// GAS_KNOWN_VARIANTS or, unset, the one the database recorded next to it;
// jobs get rsIDs and KNOWN_AF, and shutdown removes the downloaded copy.
func TestRoleAnnotatorKnownVariantsFromS3(t *testing.T) {
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	bucket := env.Config.Names.ResultsBucket
	if _, err := env.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := synth.WriteFiles(dir, synth.Small(), synth.FileOptions{Known: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := known.EnsureIndex(files.Known); err != nil {
		t.Fatal(err)
	}
	gff, _ := os.ReadFile(files.GFF3)
	fa, _ := os.ReadFile(files.FASTA)
	ref, err := engine.BuildReference(engine.Sources{Name: "s3 ref", Genes: bytes.NewReader(gff), Format: engine.GFF3, FASTA: bytes.NewReader(fa)})
	if err != nil {
		t.Fatal(err)
	}
	var db bytes.Buffer
	if err := gasdb.Write(&db, ref, gasdb.Meta{Known: "dbsnp.vcf.gz"}); err != nil { // recorded next to the database
		t.Fatal(err)
	}
	knownVCF, _ := os.ReadFile(files.Known)
	tbi, _ := os.ReadFile(files.Known + ".tbi")
	for key, body := range map[string][]byte{"refs/small.gasdb": db.Bytes(), "refs/dbsnp.vcf.gz": knownVCF,
		"refs/dbsnp.vcf.gz.tbi": tbi, "other/known.vcf.gz": knownVCF} {
		if _, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	variants, _ := os.ReadFile(files.Variants)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the role downloads the source
	dbURI := "s3://" + bucket + "/refs/small.gasdb"
	clients := env.Clients

	for _, c := range []struct {
		name, known string
	}{
		{"recorded next to the database", ""},
		{"GAS_KNOWN_VARIANTS without a .tbi", "s3://" + bucket + "/other/known.vcf.gz"},
		{"none", "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"GAS_ANNOTATION_DB": dbURI, "GAS_KNOWN_VARIANTS": c.known}
			cfg, err := role.Load(role.Annotator, nil, func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			rt := role.NewRuntime(cfg, &logs)
			a, cleanup, err := RoleAnnotator(ctx, rt, clients)
			if err != nil {
				t.Fatalf("%v\n%s", err, logs.String())
			}
			var out bytes.Buffer
			sum, err := a[0].AnnotateJob(ctx, bytes.NewReader(variants), &out, engine.Job{})
			if err != nil {
				t.Fatal(err)
			}
			downloaded, _ := filepath.Glob(filepath.Join(tmp, "gas-known-*", "*"))
			cleanup()
			left, _ := filepath.Glob(filepath.Join(tmp, "gas-known-*"))
			if len(left) != 0 {
				t.Fatalf("downloaded source left after shutdown: %v", left)
			}
			if c.known == "none" {
				if sum.Known != 0 || len(downloaded) != 0 || !strings.Contains(logs.String(), `"known_variants":""`) {
					t.Fatalf("none: %d known, downloaded %v\n%s", sum.Known, downloaded, logs.String())
				}
				return
			}
			if sum.Known == 0 || !strings.Contains(out.String(), "KNOWN_AF=") || !strings.Contains(out.String(), "\trs") {
				t.Fatalf("no known variants annotated (%d)\n%s", sum.Known, logs.String())
			}
			want := c.known
			if want == "" {
				want = "s3://" + bucket + "/refs/dbsnp.vcf.gz"
			}
			if !strings.Contains(logs.String(), `"known_variants":"`+want+`"`) || len(downloaded) != 2 {
				t.Fatalf("source %s with its index not downloaded (%v):\n%s", want, downloaded, logs.String())
			}
			t.Logf("%s: %d of %d alleles known", c.name, sum.Known, sum.Variants)
		})
	}

	// A configured source missing from the bucket stops the role at start.
	cfg, _ := role.Load(role.Annotator, nil, func(k string) string {
		return map[string]string{"GAS_ANNOTATION_DB": dbURI, "GAS_KNOWN_VARIANTS": "s3://" + bucket + "/absent.vcf.gz"}[k]
	})
	if _, _, err := RoleAnnotator(ctx, role.NewRuntime(cfg, &bytes.Buffer{}), clients); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing GAS_KNOWN_VARIANTS object: %v", err)
	}
}
