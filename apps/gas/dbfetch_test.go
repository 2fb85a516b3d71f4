package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/download"
	"github.com/gasproject/gas/adapters/engine/synth"
)

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// TestDBFetchFromMirror serves a tiny Ensembl-layout and GENCODE-layout
// tree (the synthetic small reference) from 127.0.0.1 and runs the whole
// fetch: download, checksum verification, database build.
func TestDBFetchFromMirror(t *testing.T) {
	g, err := synth.New(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	var gff, fa bytes.Buffer
	g.WriteGFF3(&gff)
	g.WriteFASTA(&fa)
	gffGz, faGz := gzipBytes(gff.Bytes()), gzipBytes(fa.Bytes())
	bsd := func(name string, data []byte) string {
		s, b, _ := download.BSDSumOf(bytes.NewReader(data))
		return fmt.Sprintf("%05d %5d %s\n", s, b, name)
	}
	md := func(name string, data []byte) string {
		h := md5.Sum(data)
		return hex.EncodeToString(h[:]) + "  " + name + "\n"
	}
	files := map[string][]byte{
		"/pub/release-110/gff3/homo_sapiens/Homo_sapiens.GRCh38.110.gff3.gz":                     gffGz,
		"/pub/release-110/gff3/homo_sapiens/CHECKSUMS":                                           []byte(bsd("Homo_sapiens.GRCh38.110.gff3.gz", gffGz)),
		"/pub/release-110/fasta/homo_sapiens/dna/Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz": faGz,
		"/pub/release-110/fasta/homo_sapiens/dna/CHECKSUMS":                                      []byte(bsd("Homo_sapiens.GRCh38.dna.primary_assembly.fa.gz", faGz)),
		"/gencode/release_44/gencode.v44.annotation.gff3.gz":                                     gffGz,
		"/gencode/release_44/GRCh38.primary_assembly.genome.fa.gz":                               faGz,
		"/gencode/release_44/MD5SUMS":                                                            []byte(md("gencode.v44.annotation.gff3.gz", gffGz) + md("GRCh38.primary_assembly.genome.fa.gz", faGz)),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()

	dir := t.TempDir()
	if err := runDBFetch(context.Background(), []string{"--mirror", srv.URL + "/pub", "--release", "110", "--dir", dir}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ensembl-GRCh38-110.gasdb")
	if st, err := os.Stat(db); err != nil || st.Size() == 0 {
		t.Fatalf("no database built: %v", err)
	}
	gdir := t.TempDir()
	out := filepath.Join(gdir, "g.gasdb")
	if err := runDBFetch(context.Background(), []string{"--source", "gencode", "--mirror", srv.URL + "/gencode", "--release", "44", "--dir", gdir, "-o", out}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	// usage errors
	for _, args := range [][]string{{"--source", "refseq"}, {"--assembly", "hg19"}, {"extra"}, {"--source", "gencode", "--known"}} {
		if err := runDBFetch(context.Background(), args); !errors.Is(err, errUsage) {
			t.Errorf("%v: got %v want a usage error", args, err)
		}
	}
}
