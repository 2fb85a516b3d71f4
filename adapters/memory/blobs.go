package memory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gasproject/gas/ports"
)

// MaxKeyLength is the longest object key accepted (S3's limit), so a key
// that works locally also works on AWS.
const MaxKeyLength = 1024

// ErrInvalidKey is returned for keys S3 would refuse or that could not be
// stored safely.
var ErrInvalidKey = errors.New("invalid object key")

func validateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLength)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidKey)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %q contains control characters", ErrInvalidKey, key)
		}
	}
	return nil
}

// blobs is where an object store or archive keeps bytes: process memory or
// a directory. put stores nothing unless the whole stream was read without
// error and within limit, and replaces an existing blob atomically.
type blobs interface {
	put(ctx context.Context, key string, r io.Reader, limit int64, now time.Time) (ports.ObjectInfo, error)
	open(key string) (io.ReadSeekCloser, ports.ObjectInfo, error)
	head(key string) (ports.ObjectInfo, error)
	remove(key string) error
}

// ctxReader stops a long copy when the caller gives up.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyLimited copies r to w hashing as it goes and fails with ErrTooLarge
// as soon as more than limit bytes (limit < 0: no limit) have arrived.
func copyLimited(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, hash.Hash, error) {
	h := sha256.New()
	src := io.Reader(ctxReader{ctx, r})
	if limit >= 0 {
		src = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(w, h), src)
	if err != nil {
		return n, nil, err
	}
	if limit >= 0 && n > limit {
		return n, nil, fmt.Errorf("%w: more than %d bytes", ports.ErrTooLarge, limit)
	}
	return n, h, nil
}

// memBlobs keeps every blob in process memory; each stored slice is never
// modified again, so readers share it without copying. Blobs are spread
// over shards by key, each with its own lock, so concurrent uploads and
// downloads of different objects do not queue behind one another.
type memBlobs struct {
	seed   maphash.Seed
	shards [storeShards]memBlobShard
}

type memBlobShard struct {
	mu sync.RWMutex
	m  map[string]memBlob
}

type memBlob struct {
	data []byte
	info ports.ObjectInfo
}

func newMemBlobs() *memBlobs {
	b := &memBlobs{seed: maphash.MakeSeed()}
	for i := range b.shards {
		b.shards[i].m = map[string]memBlob{}
	}
	return b
}

func (b *memBlobs) shard(key string) *memBlobShard {
	return &b.shards[maphash.String(b.seed, key)%storeShards]
}

func (b *memBlobs) put(ctx context.Context, key string, r io.Reader, limit int64, now time.Time) (ports.ObjectInfo, error) {
	var buf bytes.Buffer
	n, h, err := copyLimited(ctx, &buf, r, limit)
	if err != nil {
		return ports.ObjectInfo{}, err
	}
	info := ports.ObjectInfo{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ModTime: now}
	sh := b.shard(key)
	sh.mu.Lock()
	sh.m[key] = memBlob{data: buf.Bytes(), info: info}
	sh.mu.Unlock()
	return info, nil
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func (b *memBlobs) get(key string) (memBlob, bool) {
	sh := b.shard(key)
	sh.mu.RLock()
	blob, ok := sh.m[key]
	sh.mu.RUnlock()
	return blob, ok
}

func (b *memBlobs) open(key string) (io.ReadSeekCloser, ports.ObjectInfo, error) {
	blob, ok := b.get(key)
	if !ok {
		return nil, ports.ObjectInfo{}, ports.ErrNotFound
	}
	return nopSeekCloser{bytes.NewReader(blob.data)}, blob.info, nil
}

func (b *memBlobs) head(key string) (ports.ObjectInfo, error) {
	blob, ok := b.get(key)
	if !ok {
		return ports.ObjectInfo{}, ports.ErrNotFound
	}
	return blob.info, nil
}

func (b *memBlobs) remove(key string) error {
	sh := b.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
	return nil
}

// diskBlobs keeps blobs in a directory so local mode can hold results of
// many gigabytes. A blob lives at objects/<h[:2]>/<h>.data with its
// description in <h>.json, where h is the SHA-256 of the key: any key maps
// to a safe flat file name, and keys "a" and "a/b" never collide. Writes
// stream to tmp/ and are renamed into place, so a reader never sees half a
// file and a failed upload leaves nothing behind.
type diskBlobs struct {
	dir string
	mu  sync.RWMutex // orders the data+description rename pair against readers
}

func newDiskBlobs(dir string) (*diskBlobs, error) {
	if dir == "" {
		return nil, fmt.Errorf("disk store: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk store %s: %w", dir, err)
	}
	for _, sub := range []string{"objects", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o750); err != nil {
			return nil, fmt.Errorf("disk store %s: %w", dir, err)
		}
	}
	removeStaleTemps(filepath.Join(abs, "tmp"), time.Hour)
	return &diskBlobs{dir: abs}, nil
}

// removeStaleTemps deletes temporary files a crashed process left behind.
// Only old ones go, so a second store briefly open on the same directory
// keeps its uploads in progress.
func removeStaleTemps(dir string, age time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-age)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func (b *diskBlobs) paths(key string) (data, meta string) {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	base := filepath.Join(b.dir, "objects", h[:2], h)
	return base + ".data", base + ".json"
}

func (b *diskBlobs) put(ctx context.Context, key string, r io.Reader, limit int64, now time.Time) (info ports.ObjectInfo, err error) {
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return info, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, h, err := copyLimited(ctx, tmp, r, limit)
	if err != nil {
		return info, err
	}
	if err = tmp.Sync(); err != nil {
		return info, err
	}
	if err = tmp.Close(); err != nil {
		return info, err
	}
	info = ports.ObjectInfo{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ModTime: now}
	desc, err := json.Marshal(diskMeta{Key: key, Size: n, SHA256: info.SHA256, ModTime: now})
	if err != nil {
		return info, err
	}
	metaTmp := tmp.Name() + ".json"
	if err = os.WriteFile(metaTmp, desc, 0o640); err != nil {
		return info, err
	}
	defer func() {
		if err != nil {
			os.Remove(metaTmp)
		}
	}()
	data, meta := b.paths(key)
	if err = os.MkdirAll(filepath.Dir(data), 0o750); err != nil {
		return info, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err = os.Rename(tmp.Name(), data); err != nil {
		return info, err
	}
	if err = os.Rename(metaTmp, meta); err != nil {
		os.Remove(data)
		return info, err
	}
	return info, nil
}

type diskMeta struct {
	Key     string    `json:"key"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	ModTime time.Time `json:"mod_time"`
}

func (b *diskBlobs) headLocked(key string) (ports.ObjectInfo, error) {
	_, meta := b.paths(key)
	raw, err := os.ReadFile(meta)
	if errors.Is(err, os.ErrNotExist) {
		return ports.ObjectInfo{}, ports.ErrNotFound
	}
	if err != nil {
		return ports.ObjectInfo{}, err
	}
	var m diskMeta
	if err := json.Unmarshal(raw, &m); err != nil || m.Key != key {
		return ports.ObjectInfo{}, fmt.Errorf("corrupt description %s: %v", meta, err)
	}
	return ports.ObjectInfo{Key: m.Key, Size: m.Size, SHA256: m.SHA256, ModTime: m.ModTime}, nil
}

func (b *diskBlobs) head(key string) (ports.ObjectInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.headLocked(key)
}

func (b *diskBlobs) open(key string) (io.ReadSeekCloser, ports.ObjectInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	info, err := b.headLocked(key)
	if err != nil {
		return nil, info, err
	}
	data, _ := b.paths(key)
	f, err := os.Open(data)
	if errors.Is(err, os.ErrNotExist) {
		return nil, info, ports.ErrNotFound
	}
	if err != nil {
		return nil, info, err
	}
	return f, info, nil
}

func (b *diskBlobs) remove(key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, meta := b.paths(key)
	// Description first: once it is gone the object is gone for readers.
	if err := os.Remove(meta); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(data); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
