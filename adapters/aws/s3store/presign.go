package s3store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gasproject/gas/ports"
)

// MaxPresignExpiry is SigV4's longest validity.
const MaxPresignExpiry = 7 * 24 * time.Hour

// Form field names of a presigned POST, as S3 defines them.
const (
	FieldKey        = "key"
	FieldRedirect   = "success_action_redirect"
	FieldPolicy     = "policy"
	FieldAlgorithm  = "x-amz-algorithm"
	FieldCredential = "x-amz-credential"
	FieldDate       = "x-amz-date"
	FieldSignature  = "x-amz-signature"
	FieldToken      = "x-amz-security-token"
	// FieldFile is the file part, which S3 requires to be the form's last.
	FieldFile = "file"
)

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// PostPolicy is the decoded policy document of a presigned POST: when it
// expires and the conditions S3 checks the form against.
type PostPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// PresignUpload makes a browser form that posts one file to key. The signed
// policy lets S3 accept it only under key's folder, only up to maxSize
// bytes (content-length-range), only with the given redirect, and only
// before expires passes. The SDK has no presigned POST, so this signs the
// policy with SigV4 itself. (Test servers such as moto do not enforce the
// conditions; the web role also re-checks the object's size with HEAD.)
func (s *Store) PresignUpload(ctx context.Context, key string, maxSize int64, redirect string, expires time.Duration) (ports.UploadForm, error) {
	if err := validateKey(key); err != nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: %w", key, err)
	}
	if maxSize < 0 || expires <= 0 || expires > MaxPresignExpiry {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: need maxSize >= 0 and an expiry within (0, %s]", key, MaxPresignExpiry)
	}
	if redirect != "" {
		if u, err := url.Parse(redirect); err != nil || !u.IsAbs() {
			return ports.UploadForm{}, fmt.Errorf("presign upload %s: redirect %q must be an absolute URL", key, redirect)
		}
	}
	o := s.api.Options()
	if o.Credentials == nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: no credentials", key)
	}
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: credentials: %w", key, err)
	}
	bucket := s.bucketFor(key)
	now := s.opts.Now().UTC()
	date := now.Format("20060102")
	amzDate := now.Format("20060102T150405Z")
	credential := strings.Join([]string{creds.AccessKeyID, date, o.Region, "s3", "aws4_request"}, "/")
	prefix := key[:strings.LastIndex(key, "/")+1]
	if prefix == "" {
		prefix = key
	}
	conds := []any{
		map[string]string{"bucket": bucket},
		[]any{"starts-with", "$key", prefix},
		[]any{"content-length-range", 0, maxSize},
		map[string]string{FieldAlgorithm: sigV4Algorithm},
		map[string]string{FieldCredential: credential},
		map[string]string{FieldDate: amzDate},
	}
	fields := map[string]string{
		FieldKey: key, FieldAlgorithm: sigV4Algorithm, FieldCredential: credential, FieldDate: amzDate,
	}
	if redirect != "" {
		conds = append(conds, map[string]string{FieldRedirect: redirect})
		fields[FieldRedirect] = redirect
	}
	if creds.SessionToken != "" {
		conds = append(conds, map[string]string{FieldToken: creds.SessionToken})
		fields[FieldToken] = creds.SessionToken
	}
	doc, err := json.Marshal(PostPolicy{Expiration: now.Add(expires).Format("2006-01-02T15:04:05.000Z"), Conditions: conds})
	if err != nil {
		return ports.UploadForm{}, fmt.Errorf("presign upload %s: %w", key, err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	fields[FieldPolicy] = policy
	fields[FieldSignature] = hex.EncodeToString(hmacSHA256(signingKey(creds.SecretAccessKey, date, o.Region, "s3"), policy))
	return ports.UploadForm{URL: s.bucketURL(bucket), Fields: fields, Key: key}, nil
}

// signingKey derives the SigV4 key for one day, region and service.
func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// bucketURL is where a form posts: path-style under the endpoint override
// (moto), else the bucket's virtual-hosted regional endpoint.
func (s *Store) bucketURL(bucket string) string {
	o := s.api.Options()
	if ep := aws.ToString(o.BaseEndpoint); ep != "" {
		ep = strings.TrimRight(ep, "/")
		if o.UsePathStyle {
			return ep + "/" + bucket
		}
		if u, err := url.Parse(ep); err == nil {
			u.Host = bucket + "." + u.Host
			return u.String()
		}
	}
	if o.UsePathStyle {
		return fmt.Sprintf("https://s3.%s.amazonaws.com/%s", o.Region, bucket)
	}
	return fmt.Sprintf("https://%s.s3.%s.amazonaws.com", bucket, o.Region)
}

// PresignDownload makes a URL valid for expires that downloads key as
// filename (Content-Disposition: attachment, RFC 2231-encoded when the name
// is not ASCII) with the media type its extension names (ports.MediaType):
// S3 would otherwise answer with the type the object was stored with.
func (s *Store) PresignDownload(ctx context.Context, key, filename string, expires time.Duration) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("presign download %s: %w", key, err)
	}
	if expires <= 0 || expires > MaxPresignExpiry {
		return "", fmt.Errorf("presign download %s: expiry %s must be within (0, %s]", key, expires, MaxPresignExpiry)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucketFor(key)), Key: aws.String(key),
		ResponseContentType: aws.String(ports.MediaType(filename)), ResponseCacheControl: aws.String("private, no-store")}
	if filename != "" {
		in.ResponseContentDisposition = aws.String(ContentDisposition(filename))
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(expires))
	if err != nil {
		return "", fmt.Errorf("presign download %s: %w", key, err)
	}
	return req.URL, nil
}

// ContentDisposition is the attachment header that saves a download as
// filename; path separators and control characters are replaced so a
// crafted name cannot escape the user's download folder.
func ContentDisposition(filename string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, filename)
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": clean}); v != "" {
		return v
	}
	return "attachment"
}
