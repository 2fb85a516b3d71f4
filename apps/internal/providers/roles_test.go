package providers

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/engine/gasdb"
	"github.com/gasproject/gas/adapters/engine/synth"
	"github.com/gasproject/gas/apps/internal/reference"
	"github.com/gasproject/gas/apps/internal/role"
)

// The annotator role loads its database from a local path or an s3://
// object (that path runs in the end-to-end test against moto); malformed
// s3:// sources are refused before any request.
func TestAnnotationDBFromPath(t *testing.T) {
	g, err := synth.New(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	var gff, fa, db bytes.Buffer
	if err := g.WriteGFF3(&gff); err != nil {
		t.Fatal(err)
	}
	if err := g.WriteFASTA(&fa); err != nil {
		t.Fatal(err)
	}
	ref, err := engine.BuildReference(engine.Sources{Name: "unit ref", Genes: &gff, Format: engine.GFF3, FASTA: &fa})
	if err != nil {
		t.Fatal(err)
	}
	if err := gasdb.Write(&db, ref, gasdb.Meta{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ref.gasdb")
	if err := os.WriteFile(path, db.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(src string) (string, error) {
		ref, _, err := reference.Read(context.Background(), src, s3Remote{})
		if err != nil {
			return "", err
		}
		return ref.Name, nil
	}
	if name, err := load(path); err != nil || name != "unit ref" {
		t.Fatalf("loaded %q, %v", name, err)
	}
	if err := os.WriteFile(path, db.Bytes()[:db.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("truncated database: %v", err)
	}
	for _, bad := range []string{"s3://", "s3://bucket-only", "s3:///key", filepath.Join(t.TempDir(), "missing.gasdb")} {
		if _, err := load(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRolePipelineConfigCarriesTheSettings(t *testing.T) {
	c, err := role.Load(role.Notifier, []string{"--visibility", "7s", "--poll-wait", "3s", "--retry-delay", "2s",
		"--redrive-delay", "9s", "--max-redrives", "4", "--concurrency", "2", "--base-url", "https://gas.example.org",
		"--free-window", "1m"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	rt := role.NewRuntime(c, &bytes.Buffer{})
	s := RoleSettings(rt)
	p := RolePipelineConfig(rt, s)
	if p.Visibility != 7*time.Second || p.Wait != 3*time.Second || p.RetryDelay != 2*time.Second ||
		p.RedriveDelay != 9*time.Second || p.MaxRedrives != 4 || p.Concurrency != 2 ||
		s.BaseURL != "https://gas.example.org" || p.Policy.FreeWindow != time.Minute || p.ResultPrefix != "results/" {
		t.Fatalf("pipeline config %+v", p)
	}
	if s.InputPrefix != "inputs/" || s.Logger != rt.Log {
		t.Fatalf("settings %+v", s)
	}
}
