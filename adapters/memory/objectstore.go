package memory

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/ports"
)

// ObjectStore keeps objects in process memory: fast and ephemeral, for
// tests and `gas serve --ephemeral`. Presigned forms and URLs, and the
// handler that serves them, are adapters/presign's, as for the disk store.
type ObjectStore struct {
	blobs  *memBlobs
	clock  ports.Clock
	signer *presign.Signer
}

// ObjectStoreOption configures an ObjectStore.
type ObjectStoreOption func(*presign.Config)

// WithURLPrefix sets where the web app mounts Handler (presign.Config.URLPrefix).
func WithURLPrefix(prefix string) ObjectStoreOption {
	return func(c *presign.Config) { c.URLPrefix = prefix }
}

// WithSigningKey sets the HMAC key of presigned requests (presign.Config.Key).
func WithSigningKey(key []byte) ObjectStoreOption {
	return func(c *presign.Config) { c.Key = key }
}

// WithObjectClock sets the clock of modification times and presigned
// expiry (the system clock by default).
func WithObjectClock(clock ports.Clock) ObjectStoreOption {
	return func(c *presign.Config) { c.Clock = clock }
}

// NewObjectStore makes an empty in-memory object store.
func NewObjectStore(opts ...ObjectStoreOption) (*ObjectStore, error) {
	c := presign.Config{Clock: SystemClock{}}
	for _, o := range opts {
		o(&c)
	}
	signer, err := presign.New(c)
	if err != nil {
		return nil, fmt.Errorf("memory object store: %w", err)
	}
	return &ObjectStore{blobs: newMemBlobs(), clock: c.Clock, signer: signer}, nil
}

// Put streams r to key, computing SHA-256 on the way. If r fails nothing is
// stored and an existing object under key is left as it was.
func (s *ObjectStore) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	return s.PutLimited(ctx, key, r, -1)
}

// PutLimited is Put that refuses (ErrTooLarge) and stores nothing as soon
// as r yields more than limit bytes (limit < 0: no limit).
func (s *ObjectStore) PutLimited(ctx context.Context, key string, r io.Reader, limit int64) (ports.ObjectInfo, error) {
	if err := presign.CheckKey(key); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	info, err := s.blobs.put(ctx, key, r, limit, s.clock.Now())
	if err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	return info, nil
}

// Open reads key with its description; ErrNotFound if absent.
func (s *ObjectStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, ports.ObjectInfo, error) {
	f, info, err := s.blobs.open(key)
	if err != nil {
		return nil, info, fmt.Errorf("get %s: %w", key, err)
	}
	return f, info, nil
}

// Get opens key for reading; ErrNotFound if absent.
func (s *ObjectStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.GetRange(ctx, key, 0, -1)
}

// GetRange opens length bytes of key from offset (length < 0: to the end).
// A range past the end is cut short at the end, as an HTTP range is.
func (s *ObjectStore) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, offset)
	}
	blob, ok := s.blobs.get(key)
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, ports.ErrNotFound)
	}
	data := blob.data[min(offset, int64(len(blob.data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return io.NopCloser(newReader(data)), nil
}

// Head describes key; ErrNotFound if absent.
func (s *ObjectStore) Head(ctx context.Context, key string) (ports.ObjectInfo, error) {
	info, err := s.blobs.head(key)
	if err != nil {
		return info, fmt.Errorf("head %s: %w", key, err)
	}
	return info, nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *ObjectStore) Delete(ctx context.Context, key string) error {
	s.blobs.remove(key)
	return nil
}

// PresignUpload makes a browser upload form for key (presign.Signer.Upload).
func (s *ObjectStore) PresignUpload(ctx context.Context, key string, maxSize int64, redirect string, expires time.Duration) (ports.UploadForm, error) {
	return s.signer.Upload(key, maxSize, redirect, expires)
}

// PresignDownload makes a download URL for key (presign.Signer.Download).
func (s *ObjectStore) PresignDownload(ctx context.Context, key, filename string, expires time.Duration) (string, error) {
	return s.signer.Download(key, filename, expires)
}

// Handler serves the store's presigned forms and URLs; mount it at the
// URL prefix.
func (s *ObjectStore) Handler() http.Handler { return s.signer.Handler(s) }

var _ ports.ObjectStore = (*ObjectStore)(nil)
