// Package presign plays S3's part for the object stores that are not S3
// (memory for tests and --ephemeral, disk for local mode): the object-key
// rules S3 enforces, presigned upload forms and download URLs signed with
// HMAC-SHA256, and the HTTP handler that serves them — refusing forgeries,
// expired requests and bodies over the signed limit while they stream.
// The stores keep the bytes; this package only checks what a browser may do
// with them, so both behave alike and like S3.
package presign

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
	"unicode/utf8"

	"github.com/gasproject/gas/ports"
)

// DefaultURLPrefix is where a store's handler is mounted when no prefix is
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

// Errors of the handler's checks, shown in its 403 responses.
var (
	// ErrBadSignature: the request was not signed by this key, or was altered.
	ErrBadSignature = errors.New("signature does not match")
	// ErrExpired: the presigned form or URL is past its expiry.
	ErrExpired = errors.New("presigned request has expired")
)

// MaxKeyLength is the longest object key accepted (S3's limit), so a key
// that works locally also works on AWS.
const MaxKeyLength = 1024

// ErrInvalidKey is returned for keys S3 would refuse or that could not be
// stored safely.
var ErrInvalidKey = errors.New("invalid object key")

// CheckKey refuses keys S3 would refuse: empty, too long, not UTF-8, or
// with control characters.
func CheckKey(key string) error {
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

// Signer makes and checks presigned requests for one store.
type Signer struct {
	clock  ports.Clock
	secret []byte
	prefix string // absolute URL or path, no trailing slash
	path   string // path part of prefix
}

// Config says where a store's handler is mounted and how its requests are
// signed.
type Config struct {
	// URLPrefix is where the web app mounts the handler: a path
	// ("/objects", the default) or an absolute URL
	// ("http://127.0.0.1:8080/objects"). Forms and URLs point under it.
	URLPrefix string
	// Key is the HMAC key (at least 16 bytes). Keep it across restarts and
	// processes so earlier URLs stay valid; empty: a random key per Signer.
	Key []byte
	// Clock times expiry (required).
	Clock ports.Clock
}

// New makes a Signer from c.
func New(c Config) (*Signer, error) {
	if c.Clock == nil {
		return nil, fmt.Errorf("presign: nil clock")
	}
	prefix := strings.TrimRight(c.URLPrefix, "/")
	if c.URLPrefix == "" {
		prefix = DefaultURLPrefix
	}
	u, err := url.Parse(prefix)
	if err != nil || prefix == "" || (u.Scheme == "" && !strings.HasPrefix(prefix, "/")) || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("presign: url prefix %q must be an absolute path or URL without query", c.URLPrefix)
	}
	s := &Signer{clock: c.Clock, prefix: prefix, path: u.Path}
	switch {
	case c.Key == nil:
		s.secret = make([]byte, 32)
		rand.Read(s.secret) // never fails (crypto/rand)
	case len(c.Key) < 16:
		return nil, fmt.Errorf("presign: signing key must be at least 16 bytes")
	default:
		s.secret = append([]byte(nil), c.Key...)
	}
	return s, nil
}

// uploadPolicy is what a presigned upload form allows; it travels
// base64-encoded in the form and is signed, so the browser cannot change it.
type uploadPolicy struct {
	Key      string `json:"key"`
	MaxSize  int64  `json:"max_size"`
	Expires  int64  `json:"expires"` // unix seconds
	Redirect string `json:"redirect,omitempty"`
}

// Upload makes a form that lets a browser post one file of at most
// maxSize bytes to key before expires passes; the handler enforces all of
// it and redirects to redirect (with key, and sha256 where the store
// records one, added to its query).
func (s *Signer) Upload(key string, maxSize int64, redirect string, expires time.Duration) (ports.UploadForm, error) {
	if err := CheckKey(key); err != nil {
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

// Download makes a URL, valid for expires, that downloads key with
// filename as the suggested file name.
func (s *Signer) Download(key, filename string, expires time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
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
func (s *Signer) sign(purpose string, values ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(purpose))
	for _, v := range values {
		m.Write([]byte{0})
		m.Write([]byte(v))
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Signer) verify(sig, purpose string, values ...string) error {
	want := s.sign(purpose, values...)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// expiry is the unix second a presigned request made now for d expires,
// rounded up so it lasts at least d.
func (s *Signer) expiry(d time.Duration) int64 {
	at := s.clock.Now().Add(d)
	sec := at.Unix()
	if at.After(time.Unix(sec, 0)) {
		sec++
	}
	return sec
}

func (s *Signer) checkExpiry(unix int64) error {
	if !s.clock.Now().Before(time.Unix(unix, 0)) {
		return ErrExpired
	}
	return nil
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

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// CopyLimited copies r to w and fails with ports.ErrTooLarge as soon as
// more than limit bytes (limit < 0: no limit) have arrived, or with ctx's
// error once the caller gives up. It returns the size. Without a limit, a
// reader that writes itself out (io.WriterTo: a stream of chunks) hands
// w its chunks, saving a copy of every byte.
func CopyLimited(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	if wt, ok := r.(io.WriterTo); ok && limit < 0 {
		return wt.WriteTo(ctxWriter{ctx, w})
	}
	src := io.Reader(ctxReader{ctx, r})
	if limit >= 0 {
		src = io.LimitReader(src, limit+1)
	}
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(w, src, buf)
	if err != nil {
		return n, err
	}
	if limit >= 0 && n > limit {
		return n, fmt.Errorf("%w: more than %d bytes", ports.ErrTooLarge, limit)
	}
	return n, nil
}
