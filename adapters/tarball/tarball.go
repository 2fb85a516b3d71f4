// Package tarball is the format of a job's archive in cold storage: the
// result VCF and its variant-table index in one PAX tar whose entries each
// carry their SHA-256, so a restore proves it wrote back exactly what was
// archived. The archive protocol (domain/archival) decides when to pack
// and unpack; this adapter is the codec.
package tarball

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

// shaRecord is the PAX record carrying an entry's SHA-256.
const shaRecord = "GAS.sha256"

// Bundler is the ports.Bundler over an object store.
type Bundler struct{ objects ports.ObjectStore }

var _ ports.Bundler = Bundler{}

// New packs from and unpacks into objects.
func New(objects ports.ObjectStore) Bundler { return Bundler{objects: objects} }

// entry is one file of a bundle, opened for reading.
type entry struct {
	name string
	info ports.ObjectInfo
	r    io.ReadCloser
}

// Bundle describes and opens the result VCF and index of keys (every
// object-store call is made here, in order, before any byte is read) and
// returns the tar streaming from them through a pipe: nothing is buffered
// whole. An object whose store records no SHA-256 (ports.ObjectInfo) is
// read once here to hash it, so every entry carries one. Reading fails if
// an object's bytes do not match its size or checksum.
func (b Bundler) Bundle(ctx context.Context, keys domain.ResultKeys) (io.ReadCloser, error) {
	var files []entry
	closeAll := func() {
		for _, f := range files {
			f.r.Close()
		}
	}
	for _, e := range []struct{ name, key string }{{jobs.ResultVCFName, keys.VCF}, {jobs.ResultIndexName, keys.Index}} {
		if e.key == "" {
			continue
		}
		info, err := b.objects.Head(ctx, e.key)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("describe %s: %w", e.key, err)
		}
		if info.SHA256 == "" {
			if info.SHA256, err = b.hash(ctx, e.key); err != nil {
				closeAll()
				return nil, err
			}
		}
		r, err := b.objects.Get(ctx, e.key)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("open %s: %w", e.key, err)
		}
		files = append(files, entry{name: e.name, info: info, r: r})
	}
	pr, pw := io.Pipe()
	go func() {
		defer closeAll()
		pw.CloseWithError(write(pw, files))
	}()
	return pr, nil
}

// hash is the hex SHA-256 of key's bytes.
func (b Bundler) hash(ctx context.Context, key string) (string, error) {
	r, err := b.objects.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", key, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("hash %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func write(w io.Writer, files []entry) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := writeEntry(tw, f); err != nil {
			return fmt.Errorf("bundle %s: %w", f.name, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, f entry) error {
	hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: f.info.Size, ModTime: f.info.ModTime, Format: tar.FormatPAX}
	if f.info.SHA256 != "" {
		hdr.PAXRecords = map[string]string{shaRecord: f.info.SHA256}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.CopyN(tw, io.TeeReader(f.r, h), f.info.Size); err != nil {
		return err
	}
	if n, _ := f.r.Read(make([]byte, 1)); n != 0 {
		return errors.New("object is larger than described")
	}
	return verify(h, f.info.SHA256)
}

func verify(h hash.Hash, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("%w: sha256 %s, recorded %s", ports.ErrChecksum, got, want)
	}
	return nil
}

// Unbundle writes bundle r back to target's keys, verifying each entry's
// size and SHA-256. On failure it leaves what it wrote: a duplicate
// restore of the same retrieval writes the same keys and may be about to
// record them, so deleting them could lose the results; a retry overwrites
// them.
func (b Bundler) Unbundle(ctx context.Context, r io.Reader, target domain.ResultKeys) error {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read bundle: %w", err)
		}
		if err := b.writeBack(ctx, tr, hdr, target); err != nil {
			return err
		}
		seen[hdr.Name] = true
	}
	if !seen[jobs.ResultVCFName] || (target.Index != "" && !seen[jobs.ResultIndexName]) {
		return errors.New("read bundle: it lacks the result VCF or index")
	}
	return nil
}

func (b Bundler) writeBack(ctx context.Context, r io.Reader, hdr *tar.Header, target domain.ResultKeys) error {
	var key string
	switch hdr.Name {
	case jobs.ResultVCFName:
		key = target.VCF
	case jobs.ResultIndexName:
		key = target.Index
	}
	if key == "" {
		return fmt.Errorf("read bundle: unexpected entry %q", hdr.Name)
	}
	h := sha256.New()
	info, err := b.objects.Put(ctx, key, io.TeeReader(r, h))
	if err != nil {
		return fmt.Errorf("write back %s: %w", key, err)
	}
	if info.Size != hdr.Size {
		return fmt.Errorf("write back %s: %d bytes stored, %d archived", key, info.Size, hdr.Size)
	}
	if err := verify(h, hdr.PAXRecords[shaRecord]); err != nil {
		return fmt.Errorf("write back %s: %w", key, err)
	}
	return nil
}
