package memory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"io"
	"sync"
	"time"

	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/ports"
)

// memBlobs keeps every blob of an object store or archive in process
// memory; each stored slice is never modified again, so readers share it
// without copying. Blobs are spread over shards by key, each with its own
// lock, so concurrent uploads and downloads of different objects do not
// queue behind one another. put stores nothing unless the whole stream was
// read without error and within limit, and replaces an existing blob
// atomically.
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
	var buf chunks
	h := sha256.New()
	n, err := presign.CopyLimited(ctx, io.MultiWriter(&buf, h), r, limit)
	if err != nil {
		return ports.ObjectInfo{}, err
	}
	info := ports.ObjectInfo{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ModTime: now}
	data := buf.bytes(n)
	sh := b.shard(key)
	sh.mu.Lock()
	sh.m[key] = memBlob{data: data, info: info}
	sh.mu.Unlock()
	return info, nil
}

// chunks collects a stream in 1 MiB pieces and joins them once at the
// end: a growing buffer would copy (and clear) a large object several
// times over as it doubles.
type chunks [][]byte

const chunkSize = 1 << 20

func (c *chunks) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(*c) == 0 || len((*c)[len(*c)-1]) == chunkSize {
			*c = append(*c, make([]byte, 0, chunkSize))
		}
		last := &(*c)[len(*c)-1]
		k := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (c chunks) bytes(n int64) []byte {
	out := make([]byte, 0, n)
	for _, b := range c {
		out = append(out, b...)
	}
	return out
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func newReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

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

func (b *memBlobs) remove(key string) {
	sh := b.shard(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}
