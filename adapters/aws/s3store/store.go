// Package s3store implements ports.ObjectStore on Amazon S3: streaming
// uploads and downloads through the SDK's transfer manager (multipart for
// large objects, nothing buffered whole), SHA-256 of every object written
// recorded as an object tag and verified when it is read back, browser
// uploads through a SigV4 presigned POST whose policy pins the key prefix,
// the redirect and the size limit, and short-lived presigned downloads that
// save under the user's file name.
package s3store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	tm "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/ports"
)

// SHA256Tag is the object tag holding the hex SHA-256 of the object's bytes,
// computed while they streamed in. A tag, not metadata, because metadata
// must be sent before the body and the digest is only known after it.
const SHA256Tag = "gas-sha256"

// Options configure a Store.
type Options struct {
	// Bucket holds every key no Routes entry claims.
	Bucket string
	// Routes sends keys by prefix to other buckets (longest prefix wins),
	// e.g. {"inputs/": "gas-inputs"}, so one ObjectStore serves the
	// inputs and results buckets with their own lifecycle rules.
	Routes map[string]string
	// StorageClass of objects written (empty: STANDARD). The cold-storage
	// adapter writes GLACIER.
	StorageClass types.StorageClass
	// PartSize is the multipart part size (0: 8 MiB; S3's minimum is 5 MiB).
	PartSize int64
	// Now is the clock for ObjectInfo.ModTime of a Put (nil: time.Now).
	Now func() time.Time
}

// Store is an S3-backed ports.ObjectStore.
type Store struct {
	api     *s3.Client
	tm      *tm.Client
	presign *s3.PresignClient
	opts    Options
	routes  []route
}

type route struct{ prefix, bucket string }

var _ ports.ObjectStore = (*Store)(nil)

// DefaultPartSize is the multipart part size: objects up to it are one PUT.
const DefaultPartSize = 8 << 20

// New makes a Store on client.
func New(client *s3.Client, o Options) (*Store, error) {
	if client == nil || o.Bucket == "" {
		return nil, errors.New("s3 object store: client and bucket are required")
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < 5<<20 {
		return nil, fmt.Errorf("s3 object store: part size %d is below S3's 5 MiB minimum", o.PartSize)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{api: client, presign: s3.NewPresignClient(client), opts: o}
	s.tm = tm.New(client, func(t *tm.Options) {
		t.PartSizeBytes = o.PartSize
		t.MultipartUploadThreshold = o.PartSize
		t.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmSha256
		t.Concurrency = 4
		// Ranged parts of PartSize: bounded memory whatever the object's
		// upload history, and zero-length objects download in one GET.
		t.GetObjectType = tmtypes.GetObjectRanges
		t.GetObjectBufferSize = 2 * o.PartSize
	})
	for p, b := range o.Routes {
		if p == "" || b == "" {
			return nil, fmt.Errorf("s3 object store: route %q -> %q needs a prefix and a bucket", p, b)
		}
		s.routes = append(s.routes, route{p, b})
	}
	return s, nil
}

// bucketFor picks the bucket of key by longest matching route prefix.
func (s *Store) bucketFor(key string) string {
	best, bucket := -1, s.opts.Bucket
	for _, r := range s.routes {
		if strings.HasPrefix(key, r.prefix) && len(r.prefix) > best {
			best, bucket = len(r.prefix), r.bucket
		}
	}
	return bucket
}

// ErrInvalidKey is wrapped for keys S3 cannot store or GAS must not use.
var ErrInvalidKey = errors.New("invalid object key")

func validateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > 1024:
		return fmt.Errorf("%w: longer than 1024 bytes", ErrInvalidKey)
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: %q contains control characters", ErrInvalidKey, key)
	}
	return nil
}

// Put streams r to key and records its SHA-256.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	h := sha256.New()
	body := &countingReader{r: io.TeeReader(r, h)}
	bucket := s.bucketFor(key)
	// A failed single PUT stores nothing and the transfer manager aborts a
	// failed multipart upload, so an error leaves any old object intact.
	if _, err := s.tm.UploadObject(ctx, &tm.UploadObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: body,
		StorageClass: tmtypes.StorageClass(s.opts.StorageClass),
	}); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := s.api.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(SHA256Tag), Value: aws.String(sum)}}},
	}); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("put %s: record checksum: %w", key, err)
	}
	return ports.ObjectInfo{Key: key, Size: body.n, SHA256: sum, ModTime: s.opts.Now().UTC()}, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// isNotFound recognises S3's several spellings of "no such key/bucket".
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	return false
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Get opens key for reading through the transfer manager (parallel ranged
// parts, bounded buffer). When the object carries a recorded SHA-256 the
// reader verifies it and fails with ports.ErrChecksum at the end if the
// bytes differ.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	want, err := s.recordedSHA256(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	rctx, cancel := context.WithCancel(ctx)
	out, err := s.tm.GetObject(rctx, &tm.GetObjectInput{Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key)})
	if err != nil {
		cancel()
		if isNotFound(err) {
			return nil, fmt.Errorf("get %s: %w", key, ports.ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	body := &cancelReader{r: out.Body, cancel: cancel}
	if want == "" {
		return body, nil
	}
	return VerifySHA256(body, want, key), nil
}

type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *cancelReader) Close() error {
	c.cancel()
	if rc, ok := c.r.(io.Closer); ok {
		return rc.Close()
	}
	return nil
}

// VerifySHA256 wraps rc so that reading it to the end fails with
// ports.ErrChecksum unless the bytes hash to want (hex).
func VerifySHA256(rc io.ReadCloser, want, what string) io.ReadCloser {
	return &verifyingReader{rc: rc, h: sha256.New(), want: strings.ToLower(want), what: what}
}

type verifyingReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
	what string
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("%s: sha256 %s, recorded %s: %w", v.what, got, v.want, ports.ErrChecksum)
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// GetRange opens length bytes of key from offset (length < 0: to the end).
// A range past the end is cut short at the end, as an HTTP range is.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d", key, offset)
	}
	if length == 0 {
		if _, err := s.Head(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	rng := fmt.Sprintf("bytes=%d-", offset)
	if length > 0 {
		rng = fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key), Range: aws.String(rng),
	})
	switch {
	case err == nil:
		return out.Body, nil
	case isNotFound(err):
		return nil, fmt.Errorf("get %s: %w", key, ports.ErrNotFound)
	case errorCode(err) == "InvalidRange":
		// The object exists but is shorter than offset.
		return io.NopCloser(strings.NewReader("")), nil
	}
	return nil, fmt.Errorf("get %s %s: %w", key, rng, err)
}

// Head describes key, including the SHA-256 recorded at write (empty for
// objects not written by Put, such as browser uploads).
func (s *Store) Head(ctx context.Context, key string) (ports.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("head %s: %w", key, err)
	}
	out, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return ports.ObjectInfo{}, fmt.Errorf("head %s: %w", key, ports.ErrNotFound)
		}
		return ports.ObjectInfo{}, fmt.Errorf("head %s: %w", key, err)
	}
	info := ports.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified).UTC()}
	if info.SHA256, err = s.recordedSHA256(ctx, key); err != nil {
		return ports.ObjectInfo{}, fmt.Errorf("head %s: %w", key, err)
	}
	return info, nil
}

// recordedSHA256 reads the checksum tag; "" when the object has none.
func (s *Store) recordedSHA256(ctx context.Context, key string) (string, error) {
	out, err := s.api.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return "", ports.ErrNotFound
		}
		return "", fmt.Errorf("read checksum tag: %w", err)
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) == SHA256Tag {
			return aws.ToString(t.Value), nil
		}
	}
	return "", nil
}

// Delete removes key; deleting a missing key is not an error (S3's own rule).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if _, err := s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Bucket is the bucket key lives in, for the cold-storage adapter and
// event translation that share this Store's routing.
func (s *Store) Bucket(key string) string { return s.bucketFor(key) }

// Client is the S3 client, for adapters built on a Store.
func (s *Store) Client() *s3.Client { return s.api }
