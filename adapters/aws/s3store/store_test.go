package s3store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// newStore makes a store over fresh inputs and results buckets, routing
// "inputs/" to the inputs bucket.
func newStore(t *testing.T) (*s3store.Store, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	n := env.Config.Names
	for _, b := range []string{n.InputsBucket, n.ResultsBucket} {
		if _, err := env.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := s3store.New(env.Clients.S3, s3store.Options{Bucket: n.ResultsBucket, Routes: map[string]string{"inputs/": n.InputsBucket}})
	if err != nil {
		t.Fatal(err)
	}
	return s, env
}

func data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutGetHeadRangeDelete(t *testing.T) {
	s, env := newStore(t)
	ctx := awstest.Ctx(t)
	for _, size := range []int{0, 1000, 12 << 20} { // 12 MiB: multipart (two 8 MiB parts)
		key := "inputs/u/j/" + strings.Repeat("x", size%7) + "input"
		want := data(size)
		info, err := s.Put(ctx, key, bytes.NewReader(want))
		if err != nil {
			t.Fatalf("put %d bytes: %v", size, err)
		}
		if info.Size != int64(size) || info.SHA256 != hexSHA(want) || info.Key != key {
			t.Fatalf("put info %+v, want size %d sha %s", info, size, hexSHA(want))
		}
		// The routed key lives in the inputs bucket.
		if _, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(env.Config.Names.InputsBucket), Key: aws.String(key)}); err != nil {
			t.Fatalf("object not in inputs bucket: %v", err)
		}
		head, err := s.Head(ctx, key)
		if err != nil || head.Size != int64(size) || head.SHA256 != info.SHA256 || head.ModTime.IsZero() {
			t.Fatalf("head %+v, %v", head, err)
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("get %d bytes: got %d bytes, err %v", size, len(got), err)
		}
	}
	key := "results/u/j/g/annotated.vcf"
	want := data(5000)
	if _, err := s.Put(ctx, key, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ off, n, from, to int64 }{
		{0, 10, 0, 10}, {4990, 100, 4990, 5000}, {100, -1, 100, 5000}, {6000, 10, 5000, 5000}, {7, 0, 7, 7},
	} {
		rc, err := s.GetRange(ctx, key, c.off, c.n)
		if err != nil {
			t.Fatalf("range %d+%d: %v", c.off, c.n, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, want[c.from:c.to]) {
			t.Fatalf("range %d+%d: got %d bytes, want %d", c.off, c.n, len(got), c.to-c.from)
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.Head(ctx, key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("head deleted: %v", err)
	}
	if _, err := s.GetRange(ctx, key, 0, 5); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("range of deleted: %v", err)
	}
}

// TestChecksumVerifiedOnRead: bytes that no longer match the SHA-256
// recorded at write fail the read with ErrChecksum.
func TestChecksumVerifiedOnRead(t *testing.T) {
	s, env := newStore(t)
	ctx := awstest.Ctx(t)
	key := "results/x/y/z"
	if _, err := s.Put(ctx, key, bytes.NewReader(data(3000))); err != nil {
		t.Fatal(err)
	}
	// Corrupt: replace the bytes behind the store's back, keeping the tag.
	if _, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(env.Config.Names.ResultsBucket), Key: aws.String(key), Body: bytes.NewReader(data(2999)),
		Tagging: aws.String(s3store.SHA256Tag + "=" + hexSHA(data(3000))),
	}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ports.ErrChecksum) {
		t.Fatalf("reading corrupted object: %v, want ErrChecksum", err)
	}
}

// TestPresignedPOSTPolicy decodes the policy and asserts every condition
// (moto does not enforce them), then posts a file through the form the way
// a browser does and follows S3's redirect.
func TestPresignedPOSTPolicy(t *testing.T) {
	s, env := newStore(t)
	ctx := awstest.Ctx(t)
	key := "inputs/user-1/job-1/input"
	redirect := "http://127.0.0.1:8080/jobs/job-1/submitted?name=a.vcf"
	form, err := s.PresignUpload(ctx, key, 150*1024, redirect, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if want := env.Config.Endpoint + "/" + env.Config.Names.InputsBucket; form.URL != want || form.Key != key {
		t.Fatalf("form URL %q key %q, want %q and %q", form.URL, form.Key, want, key)
	}
	p, err := decodePolicy(form.Fields[s3store.FieldPolicy])
	if err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse("2006-01-02T15:04:05.000Z", p.Expiration)
	if err != nil || time.Until(exp) < 9*time.Minute || time.Until(exp) > 11*time.Minute {
		t.Fatalf("expiration %q (%v), want about 10 minutes from now", p.Expiration, err)
	}
	want := []any{
		map[string]any{"bucket": env.Config.Names.InputsBucket},
		[]any{"starts-with", "$key", "inputs/user-1/job-1/"},
		[]any{"content-length-range", float64(0), float64(150 * 1024)},
		map[string]any{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]any{"x-amz-credential": form.Fields["x-amz-credential"]},
		map[string]any{"x-amz-date": form.Fields["x-amz-date"]},
		map[string]any{"success_action_redirect": redirect},
	}
	if !reflect.DeepEqual(p.Conditions, want) {
		t.Fatalf("conditions\n got %#v\nwant %#v", p.Conditions, want)
	}
	if c := form.Fields["x-amz-credential"]; !strings.HasPrefix(c, "test/") || !strings.HasSuffix(c, "/us-east-1/s3/aws4_request") {
		t.Fatalf("credential scope %q", c)
	}
	if sig := form.Fields["x-amz-signature"]; len(sig) != 64 {
		t.Fatalf("signature %q is not a hex SHA-256 HMAC", sig)
	}
	// Post as a browser would: every field, then the file last.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range form.Fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(s3store.FieldFile, "a.vcf")
	content := []byte("##fileformat=VCFv4.2\n")
	fw.Write(content)
	mw.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(form.URL, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST status %d, want 303", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), "http://127.0.0.1:8080/jobs/job-1/submitted?") || loc.Query().Get("key") != key || loc.Query().Get("name") != "a.vcf" {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	info, err := s.Head(ctx, key)
	if err != nil || info.Size != int64(len(content)) || info.SHA256 != "" {
		t.Fatalf("uploaded object %+v, %v", info, err)
	}
}

func TestPresignedDownload(t *testing.T) {
	s, _ := newStore(t)
	ctx := awstest.Ctx(t)
	key := "results/u/j/g/annotated.vcf"
	content := data(777)
	if _, err := s.Put(ctx, key, bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignDownload(ctx, key, "my run ü.annotated.vcf", 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if q := pu.Query(); q.Get("X-Amz-Expires") != "120" || q.Get("X-Amz-Signature") == "" {
		t.Fatalf("presigned URL %s lacks a 120 s expiry or signature", u)
	}
	// S3 answers with the signed response-content-disposition as the
	// header; moto ignores the parameter, so the signed URL is what we check.
	cd := pu.Query().Get("response-content-disposition")
	if cd != `attachment; filename*=utf-8''my%20run%20%C3%BC.annotated.vcf` {
		t.Fatalf("response-content-disposition %q", cd)
	}
	// A VCF, not a contact card (text/vcard); never kept in a shared cache.
	if ct, cc := pu.Query().Get("response-content-type"), pu.Query().Get("response-cache-control"); ct != "text/x-vcf; charset=utf-8" || cc != "private, no-store" {
		t.Fatalf("response-content-type %q, response-cache-control %q", ct, cc)
	}
	if !strings.Contains(pu.Query().Get("X-Amz-SignedHeaders"), "host") {
		t.Fatalf("signed headers %q", pu.Query().Get("X-Amz-SignedHeaders"))
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Fatalf("download status %d, %d bytes", resp.StatusCode, len(got))
	}
	if got := s3store.ContentDisposition(`../evil"\name.vcf`); got != `attachment; filename=".._evil\"_name.vcf"` {
		t.Fatalf("sanitised disposition %q", got)
	}
	if _, err := s.PresignDownload(ctx, key, "x", 8*24*time.Hour); err == nil {
		t.Fatal("an expiry beyond SigV4's 7 days was accepted")
	}
}

func TestStorageClassIsApplied(t *testing.T) {
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	b := env.Config.Names.ArchiveBucket
	if _, err := env.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	s, err := s3store.New(env.Clients.S3, s3store.Options{Bucket: b, StorageClass: types.StorageClassGlacier})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a/b.tar", bytes.NewReader(data(10))); err != nil {
		t.Fatal(err)
	}
	h, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("a/b.tar")})
	if err != nil || h.StorageClass != types.StorageClassGlacier {
		t.Fatalf("storage class %q, %v", h.StorageClass, err)
	}
}

func TestObjectStoreContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestObjectStore(t, func(t *testing.T) contract.ObjectStoreFixture {
		s, _ := newStore(t)
		// S3 records no SHA-256 for an object a browser POSTs (the digest
		// would have to be computed in the browser and signed into the
		// policy), so Head reports "" for it; TestPresignedPOSTPolicy
		// asserts the signed policy moto does not enforce.
		return contract.ObjectStoreFixture{Store: s, Sleep: time.Sleep, HashesPresignedUploads: false, HashesPuts: true}
	})
}

// decodePolicy reads the policy field of an upload form.
func decodePolicy(field string) (s3store.PostPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(field)
	if err != nil {
		return s3store.PostPolicy{}, fmt.Errorf("decode POST policy: %w", err)
	}
	var p s3store.PostPolicy
	if err := json.Unmarshal(raw, &p); err != nil {
		return s3store.PostPolicy{}, fmt.Errorf("decode POST policy: %w", err)
	}
	return p, nil
}
