package stack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ChecksumsFile lists a platform's binaries with their SHA-256, in the
// format sha256sum --check reads; user data checks every binary it
// fetched against it.
const ChecksumsFile = "SHA256SUMS"

// ReleaseKey is where a release keeps a platform's file: a version is a
// folder of the release bucket, never overwritten, so instances of one
// stack version all run the same bytes.
func ReleaseKey(version, platform, file string) string {
	return version + "/" + strings.ReplaceAll(platform, "/", "-") + "/" + file
}

// ErrReleaseExists is returned when a version is published twice.
var ErrReleaseExists = errors.New("release version already published")

// Publisher uploads releases.
type Publisher struct {
	S3     *s3.Client
	Region string
	Out    io.Writer
}

// EnsureBucket creates the release bucket when it does not exist: private,
// versioned (an object overwritten by mistake can be recovered).
func (p Publisher) EnsureBucket(ctx context.Context, bucket string) error {
	if _, err := p.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
		return nil
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if p.Region != "" && p.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(p.Region)}
	}
	var owned *s3types.BucketAlreadyOwnedByYou
	if _, err := p.S3.CreateBucket(ctx, in); err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("create release bucket %s: %w", bucket, err)
	}
	if _, err := p.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true),
			IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("block public access to %s: %w", bucket, err)
	}
	if _, err := p.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		return fmt.Errorf("turn on versioning of %s: %w", bucket, err)
	}
	return nil
}

// Publish uploads each platform's directory of binaries (platform
// "linux/amd64" -> directory) under version, with its SHA256SUMS; S3
// verifies each object against the SHA-256 sent with it. It refuses a
// version already published unless replace is set.
func (p Publisher) Publish(ctx context.Context, bucket, version string, dirs map[string]string, replace bool) error {
	platforms := sortedKeys(dirs)
	for _, platform := range platforms {
		key := ReleaseKey(version, platform, ChecksumsFile)
		_, err := p.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err == nil && !replace {
			return fmt.Errorf("%w: s3://%s/%s", ErrReleaseExists, bucket, key)
		}
	}
	for _, platform := range platforms {
		sums, err := p.publishDir(ctx, bucket, version, platform, dirs[platform])
		if err != nil {
			return err
		}
		if err := p.put(ctx, bucket, ReleaseKey(version, platform, ChecksumsFile), []byte(sums)); err != nil {
			return err
		}
	}
	return nil
}

func (p Publisher) publishDir(ctx context.Context, bucket, version, platform, dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("release %s: %w", platform, err)
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || e.Name() == ChecksumsFile {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", fmt.Errorf("release %s: %w", platform, err)
		}
		sum := sha256.Sum256(data)
		if err := p.put(ctx, bucket, ReleaseKey(version, platform, e.Name()), data); err != nil {
			return "", err
		}
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+e.Name())
		if p.Out != nil {
			fmt.Fprintf(p.Out, "s3://%s/%s  %d bytes  sha256 %s\n", bucket, ReleaseKey(version, platform, e.Name()), len(data),
				hex.EncodeToString(sum[:]))
		}
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("release %s: no binaries in %s", platform, dir)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n", nil
}

func (p Publisher) put(ctx context.Context, bucket, key string, data []byte) error {
	sum := sha256.Sum256(data)
	if _, err := p.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
