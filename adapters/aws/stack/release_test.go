package stack_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// TestPublishRelease publishes two platforms' binaries: each object and
// the SHA256SUMS user data checks them against are in the bucket, with
// S3's own SHA-256; the bucket is private and versioned; a version is
// never published twice unless asked.
func TestPublishRelease(t *testing.T) {
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	dirs := map[string]string{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		dir := t.TempDir()
		for _, role := range []string{"web", "annotator"} {
			if err := os.WriteFile(filepath.Join(dir, role), []byte(role+" for "+p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		dirs[p] = dir
	}
	pub := stack.Publisher{S3: env.Clients.S3, Region: env.Config.Region}
	bucket := env.Config.Prefix + "release"
	if err := pub.EnsureBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := pub.EnsureBucket(ctx, bucket); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
	v, err := env.Clients.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Fatalf("release bucket versioning: %v %v", v, err)
	}
	if err := pub.Publish(ctx, bucket, "v1", dirs, false); err != nil {
		t.Fatal(err)
	}
	get := func(key string) string {
		out, err := env.Clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		if aws.ToString(out.ChecksumSHA256) == "" {
			t.Errorf("%s has no S3 SHA-256", key)
		}
		return string(b)
	}
	sums := get(stack.ReleaseKey("v1", "linux/arm64", stack.ChecksumsFile))
	for _, role := range []string{"annotator", "web"} {
		body := get(stack.ReleaseKey("v1", "linux/arm64", role))
		sum := sha256.Sum256([]byte(body))
		if body != role+" for linux/arm64" || !strings.Contains(sums, hex.EncodeToString(sum[:])+"  "+role+"\n") {
			t.Errorf("%s: %q, sums %q", role, body, sums)
		}
	}
	if err := pub.Publish(ctx, bucket, "v1", dirs, false); !errors.Is(err, stack.ErrReleaseExists) {
		t.Fatalf("second publish of v1: %v, want ErrReleaseExists", err)
	}
	if err := pub.Publish(ctx, bucket, "v1", dirs, true); err != nil {
		t.Fatalf("replacing v1: %v", err)
	}
}

// TestSecretsAreKeptWhereUserDataReadsThem: the first deploy needs the
// OIDC client secret and generates a session key; later deploys keep
// both unless a new client secret is given; on SSM and Secrets Manager.
func TestSecretsAreKeptWhereUserDataReadsThem(t *testing.T) {
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	s := stack.Secrets{SSM: ssm.NewFromConfig(env.Clients.SDK), SecretsManager: secretsmanager.NewFromConfig(env.Clients.SDK)}
	for _, store := range []string{stack.SecretStoreSSM, stack.SecretStoreSecretsManager} {
		prefix := env.Config.Prefix + store[:3] + "-"
		read := func(secret string) string {
			name := stack.SecretName(store, prefix, secret)
			if store == stack.SecretStoreSSM {
				out, err := s.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return aws.ToString(out.Parameter.Value)
			}
			out, err := s.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return aws.ToString(out.SecretString)
		}
		if _, err := s.Ensure(ctx, store, prefix, nil); !errors.Is(err, stack.ErrMissingSecret) {
			t.Fatalf("%s: first deploy without a client secret: %v", store, err)
		}
		if _, err := s.Ensure(ctx, store, prefix, map[string]string{stack.SecretOIDCClient: "first"}); err != nil {
			t.Fatal(err)
		}
		key := read(stack.SecretSessionKey)
		if read(stack.SecretOIDCClient) != "first" || len(key) < 32 {
			t.Fatalf("%s: stored %q and a %d-byte session key", store, read(stack.SecretOIDCClient), len(key))
		}
		stored, err := s.Ensure(ctx, store, prefix, nil)
		if err != nil || len(stored) != 0 || read(stack.SecretSessionKey) != key {
			t.Fatalf("%s: a later deploy stored %v (%v) or changed the session key", store, stored, err)
		}
		if _, err := s.Ensure(ctx, store, prefix, map[string]string{stack.SecretOIDCClient: "second"}); err != nil || read(stack.SecretOIDCClient) != "second" {
			t.Fatalf("%s: new client secret not stored: %v", store, err)
		}
	}
}
