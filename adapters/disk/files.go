// Package disk keeps local mode's objects and cold storage as files under
// the data directory, so results of many gigabytes cost disk, not memory,
// and survive restarts and crashes.
//
// Every object is one file: its bytes, then a trailer describing them
// (key, size, modification time). Writes are not hashed (see
// ports.ObjectInfo.SHA256): a trailer written by an older GAS may carry a
// SHA-256, which is still reported. A write streams to a temporary
// file in the same file system, fsyncs it, renames it over the object's
// name and fsyncs the directory, so a crash at any moment leaves either
// the old object or the new one, never a mix, and a reader that opened the
// old one keeps reading it. Temporary files a crash left behind are
// removed at the next start.
package disk

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/ports"
)

// trailerMagic ends every object file; the 8 bytes before it are the
// length of the JSON description before them.
const trailerMagic = "GASOBJ1\n"

// description is an object's trailer.
type description struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256,omitempty"`
	ModTime time.Time `json:"mod_time"`
}

// files is a directory of objects named by the SHA-256 of their keys
// (<h[:2]>/<h>): any key maps to a safe flat name, and keys "a" and "a/b"
// never collide. Temporary files live in tmp/, in the same file system so
// a rename moves them into place.
type files struct{ dir string }

func openFiles(dir string) (files, error) {
	if dir == "" {
		return files{}, fmt.Errorf("disk store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return files{}, fmt.Errorf("disk store %s: %w", dir, err)
	}
	for _, sub := range []string{".", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o700); err != nil {
			return files{}, fmt.Errorf("disk store %s: %w", dir, err)
		}
	}
	// One process owns the data directory (the database lock), so every
	// temporary file is a crashed write's.
	entries, _ := os.ReadDir(filepath.Join(abs, "tmp"))
	for _, e := range entries {
		os.Remove(filepath.Join(abs, "tmp", e.Name()))
	}
	return files{dir: abs}, nil
}

func (f files) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(f.dir, h[:2], h)
}

// put streams r into key's file, atomically replacing any earlier one. It
// stores nothing if r fails, ctx ends or more than limit bytes arrive
// (limit < 0: no limit).
func (f files) put(ctx context.Context, key string, r io.Reader, limit int64, now time.Time) (info ports.ObjectInfo, err error) {
	if err := presign.CheckKey(key); err != nil {
		return info, err
	}
	tmp, err := os.CreateTemp(filepath.Join(f.dir, "tmp"), "put-*")
	if err != nil {
		return info, err
	}
	w := newFileWriter(tmp)
	defer func() {
		if err != nil {
			_ = w.w.wait() // no background sync may outlive the file
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := presign.CopyLimited(ctx, w, r, limit)
	if err != nil {
		return info, err
	}
	info = ports.ObjectInfo{Key: key, Size: n, ModTime: now.UTC()}
	if err = writeTrailer(w, info); err != nil {
		return info, err
	}
	if err = w.sync(); err != nil {
		return info, err
	}
	if err = tmp.Close(); err != nil {
		return info, err
	}
	dst := f.path(key)
	if err = os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return info, err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return info, err
	}
	return info, syncDir(filepath.Dir(dst))
}

func writeTrailer(w io.Writer, info ports.ObjectInfo) error {
	js, err := json.Marshal(description{Key: info.Key, Size: info.Size, SHA256: info.SHA256, ModTime: info.ModTime})
	if err != nil {
		return err
	}
	js = binary.BigEndian.AppendUint64(js, uint64(len(js)))
	_, err = w.Write(append(js, trailerMagic...))
	return err
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// open opens key's file and reads its trailer: the file is positioned at
// the start of the object's bytes, which end at info.Size.
func (f files) open(key string) (*os.File, ports.ObjectInfo, error) {
	fh, err := os.Open(f.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ports.ObjectInfo{}, ports.ErrNotFound
	}
	if err != nil {
		return nil, ports.ObjectInfo{}, err
	}
	info, err := readTrailer(fh, key)
	if err != nil {
		fh.Close()
		return nil, info, err
	}
	return fh, info, nil
}

func readTrailer(fh *os.File, key string) (ports.ObjectInfo, error) {
	st, err := fh.Stat()
	if err != nil {
		return ports.ObjectInfo{}, err
	}
	end := st.Size()
	var tail [8 + len(trailerMagic)]byte
	if end < int64(len(tail)) {
		return ports.ObjectInfo{}, fmt.Errorf("object file %s of %q is truncated", fh.Name(), key)
	}
	if _, err := fh.ReadAt(tail[:], end-int64(len(tail))); err != nil {
		return ports.ObjectInfo{}, err
	}
	n := int64(binary.BigEndian.Uint64(tail[:8]))
	if string(tail[8:]) != trailerMagic || n <= 0 || n > 1<<20 || n > end-int64(len(tail)) {
		return ports.ObjectInfo{}, fmt.Errorf("object file %s of %q has no valid trailer", fh.Name(), key)
	}
	js := make([]byte, n)
	if _, err := fh.ReadAt(js, end-int64(len(tail))-n); err != nil {
		return ports.ObjectInfo{}, err
	}
	var d description
	if err := json.Unmarshal(js, &d); err != nil || d.Key != key || d.Size != end-int64(len(tail))-n {
		return ports.ObjectInfo{}, fmt.Errorf("object file %s: trailer does not describe %q (%v)", fh.Name(), key, err)
	}
	return ports.ObjectInfo{Key: d.Key, Size: d.Size, SHA256: d.SHA256, ModTime: d.ModTime}, nil
}

// remove deletes key's file; a missing one is not an error.
func (f files) remove(key string) error {
	p := f.path(key)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(p))
}

// section is an open object's bytes from offset for length: reads stop at
// the object's end, before the trailer.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s section) Close() error { return s.f.Close() }

func newSection(fh *os.File, size, offset, length int64) section {
	offset = min(max(offset, 0), size)
	if length < 0 || offset+length > size {
		length = size - offset
	}
	return section{SectionReader: io.NewSectionReader(fh, offset, length), f: fh}
}
