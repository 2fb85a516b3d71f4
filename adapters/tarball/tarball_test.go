package tarball_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/disk"
	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/adapters/tarball"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

var (
	hot  = domain.ResultKeys{VCF: "r/u/j/v1/annotated.vcf", Index: "r/u/j/v1/annotated.idx"}
	back = domain.ResultKeys{VCF: "r/u/j/r1/annotated.vcf", Index: "r/u/j/r1/annotated.idx"}
)

// stores are the results to bundle in a store that hashes what is put
// (memory) and in one that records no digest (disk), whose objects the
// bundler hashes itself.
func stores(t *testing.T) map[string]ports.ObjectStore {
	t.Helper()
	d, err := disk.NewObjectStore(t.TempDir(), presign.Config{Clock: memory.NewFakeClock(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]ports.ObjectStore{"Memory": store(t), "Disk": filled(t, d)}
}

func store(t *testing.T) *memory.ObjectStore {
	t.Helper()
	s, err := memory.NewObjectStore()
	if err != nil {
		t.Fatal(err)
	}
	return filled(t, s)
}

func filled[S ports.ObjectStore](t *testing.T, s S) S {
	t.Helper()
	for k, v := range map[string]string{hot.VCF: "##fileformat=VCFv4.2\nchr1\t1\t.\tA\tC\n", hot.Index: "GASVIX01..."} {
		if _, err := s.Put(context.Background(), k, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func read(t *testing.T, s ports.ObjectStore, key string) string {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func TestRoundTripIsByteIdentical(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) { roundTrip(t, s) })
	}
}

func roundTrip(t *testing.T, s ports.ObjectStore) {
	ctx := context.Background()
	b := tarball.New(s)
	rc, err := b.Bundle(ctx, hot)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unbundle(ctx, bytes.NewReader(data), back); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][2]string{{hot.VCF, back.VCF}, {hot.Index, back.Index}} {
		if got, want := read(t, s, k[1]), read(t, s, k[0]); got != want {
			t.Errorf("%s restored as %q, archived %q", k[1], got, want)
		}
	}
}

// tamper rewrites the bundle's first entry body with same-length bytes, so
// only the checksum can tell.
func tamper(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(data)), tar.NewWriter(&out)
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		body, _ := io.ReadAll(tr)
		if first {
			body = bytes.ToUpper(body)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	return out.Bytes()
}

func TestUnbundleRefusesWhatWasNotArchived(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) { refusesTampered(t, s) })
	}
}

func refusesTampered(t *testing.T, s ports.ObjectStore) {
	ctx := context.Background()
	b := tarball.New(s)
	rc, _ := b.Bundle(ctx, hot)
	data, _ := io.ReadAll(rc)
	if err := b.Unbundle(ctx, bytes.NewReader(tamper(t, data)), back); !errors.Is(err, ports.ErrChecksum) {
		t.Errorf("tampered bundle: %v, want ErrChecksum", err)
	}
	onlyVCF, _ := b.Bundle(ctx, domain.ResultKeys{VCF: hot.VCF})
	data, _ = io.ReadAll(onlyVCF)
	if err := b.Unbundle(ctx, bytes.NewReader(data), back); err == nil {
		t.Error("a bundle without the index restored to keys that need one")
	}
	if err := b.Unbundle(ctx, strings.NewReader("not a tar"), back); err == nil {
		t.Error("garbage accepted")
	}
}

func TestBundleFailsOnMissingObject(t *testing.T) {
	s := store(t)
	if _, err := tarball.New(s).Bundle(context.Background(), back); !errors.Is(err, ports.ErrNotFound) {
		t.Errorf("bundle of absent results: %v", err)
	}
}
