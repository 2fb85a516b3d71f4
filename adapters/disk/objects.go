package disk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gasproject/gas/adapters/presign"
	"github.com/gasproject/gas/ports"
)

// ObjectStore is ports.ObjectStore on files (see the package comment):
// local mode's inputs and hot results. Reads and writes stream; nothing
// holds a whole object in memory. Presigned forms and URLs, and the
// handler that serves them, are adapters/presign's.
type ObjectStore struct {
	files  files
	clock  ports.Clock
	signer *presign.Signer
}

var _ ports.ObjectStore = (*ObjectStore)(nil)

// NewObjectStore keeps objects under dir (created if missing), signing
// presigned requests as c says.
func NewObjectStore(dir string, c presign.Config) (*ObjectStore, error) {
	f, err := openFiles(dir)
	if err != nil {
		return nil, err
	}
	signer, err := presign.New(c)
	if err != nil {
		return nil, fmt.Errorf("disk object store: %w", err)
	}
	return &ObjectStore{files: f, clock: c.Clock, signer: signer}, nil
}

// Put streams r to key (without hashing it: see ports.ObjectInfo.SHA256).
// If r fails nothing is stored and an existing object under key is left
// as it was.
func (s *ObjectStore) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	return s.PutLimited(ctx, key, r, -1)
}

// PutLimited is Put that refuses (ErrTooLarge) and stores nothing as soon
// as r yields more than limit bytes (limit < 0: no limit).
func (s *ObjectStore) PutLimited(ctx context.Context, key string, r io.Reader, limit int64) (ports.ObjectInfo, error) {
	info, err := s.files.put(ctx, key, r, limit, s.clock.Now())
	if err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	return info, nil
}

// Open reads key with its description; ErrNotFound if absent.
func (s *ObjectStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, ports.ObjectInfo, error) {
	fh, info, err := s.files.open(key)
	if err != nil {
		return nil, info, fmt.Errorf("get %s: %w", key, err)
	}
	return newSection(fh, info.Size, 0, -1), info, nil
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
	fh, info, err := s.files.open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return newSection(fh, info.Size, offset, length), nil
}

// Head describes key; ErrNotFound if absent.
func (s *ObjectStore) Head(ctx context.Context, key string) (ports.ObjectInfo, error) {
	fh, info, err := s.files.open(key)
	if err != nil {
		return info, fmt.Errorf("head %s: %w", key, err)
	}
	fh.Close()
	return info, nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *ObjectStore) Delete(ctx context.Context, key string) error {
	if err := s.files.remove(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
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
