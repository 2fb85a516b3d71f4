package memory

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gasproject/gas/ports"
)

// DefaultURLPrefix is where the object handler is mounted when no prefix is
// configured.
const DefaultURLPrefix = "/objects"

// Form field names of a presigned upload. The file must be the last part
// (as S3 also requires), so the policy is checked before any byte is stored.
const (
	// FieldKey carries the object key, which must equal the signed one.
	FieldKey = "key"
	// FieldPolicy carries the base64 JSON policy: key, size limit, expiry, redirect.
	FieldPolicy = "policy"
	// FieldSignature carries the policy's HMAC (and a download URL's).
	FieldSignature = "signature"
	// FieldFile is the file part, which must come last.
	FieldFile = "file"
)

// Presigned-URL errors, returned by the handler's checks and shown in its
// 403 responses.
var (
	// ErrBadSignature: the request was not signed by this store's key, or was altered.
	ErrBadSignature = errors.New("signature does not match")
	// ErrExpired: the presigned form or URL is past its expiry.
	ErrExpired = errors.New("presigned request has expired")
)

// objectStore is the behaviour shared by MemoryObjectStore and
// DiskObjectStore; only where the bytes live differs.
type objectStore struct {
	blobs  blobs
	clock  ports.Clock
	secret []byte
	prefix string // absolute URL or path, no trailing slash
	path   string // path part of prefix
}

// ObjectStoreOption configures an object store.
type ObjectStoreOption func(*objectStore) error

// WithURLPrefix sets where the web app mounts Handler: a path ("/objects")
// or an absolute URL ("http://127.0.0.1:8080/objects"). Presigned forms and
// URLs point under it.
func WithURLPrefix(prefix string) ObjectStoreOption {
	return func(s *objectStore) error {
		prefix = strings.TrimRight(prefix, "/")
		u, err := url.Parse(prefix)
		if err != nil || prefix == "" || (u.Scheme == "" && !strings.HasPrefix(prefix, "/")) || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("url prefix %q must be an absolute path or URL without query", prefix)
		}
		s.prefix, s.path = prefix, u.Path
		return nil
	}
}

// WithSigningKey sets the HMAC key of presigned requests, so several
// processes (or a restarted one) accept each other's URLs. By default a
// random key is made per store.
func WithSigningKey(key []byte) ObjectStoreOption {
	return func(s *objectStore) error {
		if len(key) < 16 {
			return fmt.Errorf("signing key must be at least 16 bytes")
		}
		s.secret = append([]byte(nil), key...)
		return nil
	}
}

// WithObjectClock sets the clock used for modification times and presigned
// expiry (the system clock by default).
func WithObjectClock(clock ports.Clock) ObjectStoreOption {
	return func(s *objectStore) error {
		if clock == nil {
			return fmt.Errorf("nil clock")
		}
		s.clock = clock
		return nil
	}
}

func newObjectStore(b blobs, opts []ObjectStoreOption) (*objectStore, error) {
	s := &objectStore{blobs: b, clock: SystemClock{}, prefix: DefaultURLPrefix, path: DefaultURLPrefix}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
	}
	if s.secret == nil {
		s.secret = make([]byte, 32)
		rand.Read(s.secret) // never fails (crypto/rand)
	}
	return s, nil
}

// ObjectStore keeps objects in process memory: fast and ephemeral,
// for tests and small local runs.
type ObjectStore struct{ *objectStore }

// NewObjectStore makes an empty in-memory object store.
func NewObjectStore(opts ...ObjectStoreOption) (*ObjectStore, error) {
	s, err := newObjectStore(newMemBlobs(), opts)
	if err != nil {
		return nil, err
	}
	return &ObjectStore{s}, nil
}

// DiskObjectStore keeps objects as files under a directory, so local mode
// can hold gigabyte results without holding them in memory, and keeps them
// across restarts.
type DiskObjectStore struct{ *objectStore }

// NewDiskObjectStore stores objects under dir (created if missing).
func NewDiskObjectStore(dir string, opts ...ObjectStoreOption) (*DiskObjectStore, error) {
	b, err := newDiskBlobs(dir)
	if err != nil {
		return nil, err
	}
	s, err := newObjectStore(b, opts)
	if err != nil {
		return nil, err
	}
	return &DiskObjectStore{s}, nil
}

// Put streams r to key, computing SHA-256 on the way. If r fails nothing is
// stored and an existing object under key is left as it was.
func (s *objectStore) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	return s.put(ctx, key, r, -1)
}

func (s *objectStore) put(ctx context.Context, key string, r io.Reader, limit int64) (ports.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	info, err := s.blobs.put(ctx, key, r, limit, s.clock.Now())
	if err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	return info, nil
}

// Get opens key for reading; ErrNotFound if absent.
func (s *objectStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.GetRange(ctx, key, 0, -1)
}

// GetRange opens length bytes of key from offset (length < 0: to the end).
// A range past the end is cut short at the end, as an HTTP range is.
func (s *objectStore) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, offset)
	}
	f, info, err := s.blobs.open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if offset > info.Size {
		offset = info.Size
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Head describes key; ErrNotFound if absent.
func (s *objectStore) Head(ctx context.Context, key string) (ports.ObjectInfo, error) {
	info, err := s.blobs.head(key)
	if err != nil {
		return info, fmt.Errorf("head %s: %w", key, err)
	}
	return info, nil
}

// Delete removes key; deleting a missing key is not an error.
func (s *objectStore) Delete(ctx context.Context, key string) error {
	if err := s.blobs.remove(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// uploadPolicy is what a presigned upload form allows; it travels
// base64-encoded in the form and is signed, so the browser cannot change it.
type uploadPolicy struct {
	Key      string `json:"key"`
	MaxSize  int64  `json:"max_size"`
	Expires  int64  `json:"expires"` // unix seconds
	Redirect string `json:"redirect,omitempty"`
}

// PresignUpload makes a form that lets a browser post one file of at most
// maxSize bytes to key before expires passes; Handler enforces all of it
// and redirects to redirect (with key and sha256 added to its query).
func (s *objectStore) PresignUpload(ctx context.Context, key string, maxSize int64, redirect string, expires time.Duration) (ports.UploadForm, error) {
	if err := validateKey(key); err != nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: %w", key, err)
	}
	if maxSize < 0 || expires <= 0 {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: need maxSize >= 0 and a positive expiry", key)
	}
	if redirect != "" {
		if _, err := url.Parse(redirect); err != nil {
			return ports.UploadForm{}, fmt.Errorf("presign upload %s: redirect: %w", key, err)
		}
	}
	raw, err := json.Marshal(uploadPolicy{Key: key, MaxSize: maxSize, Expires: s.expiry(expires), Redirect: redirect})
	if err != nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: %w", key, err)
	}
	policy := base64.RawURLEncoding.EncodeToString(raw)
	return ports.UploadForm{
		URL:    s.prefix + "/upload",
		Key:    key,
		Fields: map[string]string{FieldKey: key, FieldPolicy: policy, FieldSignature: s.sign("upload", policy)},
	}, nil
}

// PresignDownload makes a URL, valid for expires, that downloads key with
// filename as the suggested file name.
func (s *objectStore) PresignDownload(ctx context.Context, key, filename string, expires time.Duration) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("presign download %s: %w", key, err)
	}
	if expires <= 0 {
		return "", fmt.Errorf("presign download %s: expiry must be positive", key)
	}
	exp := strconv.FormatInt(s.expiry(expires), 10)
	q := url.Values{"key": {key}, "filename": {filename}, "expires": {exp}}
	q.Set(FieldSignature, s.sign("download", key, filename, exp))
	return s.prefix + "/download?" + q.Encode(), nil
}

// sign is HMAC-SHA256 over the purpose and values, so a signature made for
// a download can never pass as an upload's and vice versa.
func (s *objectStore) sign(purpose string, values ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose))
	for _, v := range values {
		m.Write([]byte{0})
		m.Write([]byte(v))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (s *objectStore) verify(sig, purpose string, values ...string) error {
	want := s.sign(purpose, values...)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// expiry is the unix second a presigned request made now for d expires,
// rounded up so it lasts at least d.
func (s *objectStore) expiry(d time.Duration) int64 {
	at := s.clock.Now().Add(d)
	sec := at.Unix()
	if at.After(time.Unix(sec, 0)) {
		sec++
	}
	return sec
}

func (s *objectStore) checkExpiry(unix int64) error {
	if !s.clock.Now().Before(time.Unix(unix, 0)) {
		return ErrExpired
	}
	return nil
}

var (
	_ ports.ObjectStore = (*ObjectStore)(nil)
	_ ports.ObjectStore = (*DiskObjectStore)(nil)
)
