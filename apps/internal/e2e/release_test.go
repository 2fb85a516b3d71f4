package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// binaries are built once per test binary run: the gas command line for
// this machine, and the roles as `gas aws release` builds and publishes
// them, fetched back from the release bucket and checked against its
// SHA256SUMS as an instance's user data does.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	// release is where the roles were published (the stack's
	// ReleaseBucket and ReleaseVersion).
	release struct{ bucket, version string }
)

func build(t *testing.T) string {
	t.Helper()
	endpoint := awstest.Endpoint(t)
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gas-e2e-bin-")
		if buildErr == nil {
			buildErr = buildRelease(endpoint)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func buildRelease(endpoint string) error {
	cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "./apps/gas")
	cmd.Dir = filepath.Join("..", "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./apps/gas: %v\n%s", err, out)
	}
	release.bucket, release.version = "gas-e2e-release-"+awstest.Unique(), "e2e-"+awstest.Unique()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cmd = exec.Command(filepath.Join(binDir, "gas"), "aws", "release", "--endpoint", endpoint, "--bucket", release.bucket,
		"--version", release.version, "--platforms", platform)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gas aws release: %v\n%s", err, out)
	}
	return fetchRelease(endpoint, platform)
}

// fetchRelease downloads the roles and SHA256SUMS of the release and
// checks them with sha256sum, exactly as the stack's user data does.
func fetchRelease(endpoint, platform string) error {
	c := awsconfig.Default("release-")
	c.Endpoint, c.PathStyle = endpoint, true
	cl, err := awsconfig.NewClients(context.Background(), c)
	if err != nil {
		return err
	}
	for _, f := range append(stack.Roles(), stack.ChecksumsFile) {
		out, err := cl.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(release.bucket),
			Key: aws.String(stack.ReleaseKey(release.version, platform, f))})
		if err != nil {
			return fmt.Errorf("fetch %s of the release: %w", f, err)
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(binDir, f), data, 0o755); err != nil {
			return err
		}
	}
	check := exec.Command("sha256sum", "--check", "--ignore-missing", "--strict", stack.ChecksumsFile)
	check.Dir = binDir
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("the release's binaries do not match its SHA256SUMS: %v\n%s", err, out)
	}
	return nil
}

// TestMain removes the built binaries after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
