package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// runAWSRelease builds every role's binary for each platform and
// publishes them, with their SHA256SUMS, to the release bucket, where the
// stack's instances fetch them at boot.
func runAWSRelease(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAWSFlags(fs)
	bucket := fs.String("bucket", "", "release bucket (created, private and versioned, when absent)")
	version := fs.String("version", "", "release version: a folder of the bucket, never overwritten")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "GOOS/GOARCH pairs to build")
	replace := fs.Bool("replace", false, "publish over an existing version")
	keep := fs.String("out", "", "keep the built binaries in this directory (default: a temporary one)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *bucket == "" || *version == "" {
		return fmt.Errorf("%w: --bucket and --version are required", errUsage)
	}
	c, err := af.config()
	if err != nil {
		return err
	}
	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gas-release-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	dirs := map[string]string{}
	for _, p := range strings.Split(*platforms, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" {
			return fmt.Errorf("%w: platform %q is not GOOS/GOARCH", errUsage, p)
		}
		out := filepath.Join(dir, goos+"-"+goarch)
		if err := buildRoles(ctx, goos, goarch, out, stderr); err != nil {
			return err
		}
		dirs[goos+"/"+goarch] = out
	}
	cl, err := awsconfig.NewClients(ctx, c)
	if err != nil {
		return err
	}
	pub := stack.Publisher{S3: cl.S3, Region: c.Region, Out: stdout}
	if err := pub.EnsureBucket(ctx, *bucket); err != nil {
		return err
	}
	if err := pub.Publish(ctx, *bucket, *version, dirs, *replace); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "released %s to s3://%s/%s/ (deploy with --release-bucket %s --release-version %s)\n",
		*version, *bucket, *version, *bucket, *version)
	return nil
}

// buildRoles builds the roles of the deployment (stack.Roles) for one
// platform, statically linked (no cgo: the instances' C library need not
// match the build machine's) and stripped.
func buildRoles(ctx context.Context, goos, goarch, out string, stderr io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	args := []string{"build", "-ldflags=-s -w", "-o", out + string(os.PathSeparator)}
	for _, r := range stack.Roles() {
		args = append(args, "./apps/"+r)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build the roles for %s/%s (run gas aws release inside the GAS source tree): %w", goos, goarch, err)
	}
	return nil
}

// moduleRoot is the GAS source tree the release is built from.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/gasproject/gas").Output()
	if err != nil {
		return "", fmt.Errorf("find the GAS source tree (run gas aws release inside it, with Go installed): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
