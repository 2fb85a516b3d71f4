package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gopkg.in/yaml.v3"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// TestAWSTemplatePrintsTheStack: gas aws template prints YAML
// CloudFormation reads, and refuses options it cannot honour.
func TestAWSTemplatePrintsTheStack(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := runAWSTemplate([]string{"--mean-job", "20s"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version    string         `yaml:"AWSTemplateFormatVersion"`
		Resources  map[string]any `yaml:"Resources"`
		Parameters map[string]struct {
			Default any `yaml:"Default"`
		} `yaml:"Parameters"`
	}
	if err := yaml.Unmarshal(out.Bytes(), &doc); err != nil || doc.Version != "2010-09-09" || len(doc.Resources) < 50 {
		t.Fatalf("template: %v, %d resources", err, len(doc.Resources))
	}
	if d := doc.Parameters[stack.ParamBacklogTarget].Default; d != 6 {
		t.Fatalf("backlog target for a 2m wait and 20s jobs: %v, want 6", d)
	}
	if err := runAWSTemplate([]string{"--mean-job", "-1s"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("a negative mean job time: %v, want a usage error", err)
	}
}

// TestAWSDeployUpdateDestroy deploys a stack to the test server, deploys
// it again (an update keeping every parameter), and destroys it: the
// buckets and tables stay; destroy --delete-data on a second stack
// removes them too.
func TestAWSDeployUpdateDestroy(t *testing.T) {
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	release := env.Config.Prefix + "release"
	if _, err := env.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(release)}); err != nil {
		t.Fatal(err)
	}
	deploy := func(prefix string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		base := []string{"--endpoint", env.Config.Endpoint, "--prefix", prefix, "--poll", "100ms"}
		if err := runAWSDeploy(ctx, append(base, args...), &out, &errOut); err != nil {
			t.Fatalf("deploy %v: %v\n%s%s", args, err, out.String(), errOut.String())
		}
		return out.String()
	}
	// In the default VPC: moto deletes a stack's own VPC before what is in it.
	vpc, subnets := defaultNetwork(t, env.Config.Endpoint)
	first := []string{"--vpc", vpc, "--subnets", strings.Join(subnets, ","),
		"--release-bucket", release, "--release-version", "v1", "--oidc-client-id", "gas",
		"--oidc-client-secret", "s3cret", "--annotation-db", "s3://" + release + "/ref.gasdb", "--mail-from", "gas@example.org"}
	prefix := env.Config.Prefix
	out := deploy(prefix, first...)
	if !strings.Contains(out, "creating stack "+strings.TrimSuffix(prefix, "-")) || !strings.Contains(out, "CREATE_COMPLETE") ||
		!strings.Contains(out, "GAS is at http://") || !strings.Contains(out, "InputsBucket") {
		t.Fatalf("first deploy printed:\n%s", out)
	}
	out = deploy(prefix, "--web-max", "6")
	if !strings.Contains(out, "updating stack") || strings.Contains(out, "stored secret") {
		t.Fatalf("second deploy printed:\n%s", out)
	}
	destroy := func(prefix string, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := runAWSDestroy(ctx, append([]string{"--endpoint", env.Config.Endpoint, "--prefix", prefix, "--poll", "100ms"}, args...),
			&out, &errOut); err != nil {
			t.Fatalf("destroy: %v\n%s", err, errOut.String())
		}
		return out.String()
	}
	if out := destroy(prefix); !strings.Contains(out, "deleted") || !strings.Contains(out, "kept buckets "+prefix+"inputs") {
		t.Fatalf("destroy printed:\n%s", out)
	}
	if _, err := env.Clients.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(prefix + "results")}); err != nil {
		t.Fatalf("results bucket not kept: %v", err)
	}
	if _, err := env.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(prefix + "jobs")}); err != nil {
		t.Fatalf("jobs table not kept: %v", err)
	}
	other := "d" + awstest.Unique() + "-"
	deploy(other, first...)
	if _, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other + "results"), Key: aws.String("results/x"),
		Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	destroy(other, "--delete-data")
	if _, err := env.Clients.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(other + "results")}); err == nil {
		t.Fatal("results bucket kept despite --delete-data")
	}
	if _, err := env.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(other + "jobs")}); err == nil {
		t.Fatal("jobs table kept despite --delete-data")
	}
}

// defaultNetwork is the test server's default VPC and its subnets (EC2's
// query API, unsigned: moto does not check signatures).
func defaultNetwork(t *testing.T, endpoint string) (string, []string) {
	t.Helper()
	query := func(body string) string {
		req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body+"&Version=2016-11-15"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	vpc := regexp.MustCompile(`<vpcId>(vpc-[0-9a-f]+)</vpcId>`).FindStringSubmatch(query("Action=DescribeVpcs&Filter.1.Name=isDefault&Filter.1.Value.1=true"))
	if vpc == nil {
		t.Fatal("no default VPC on the test server")
	}
	var subnets []string
	for _, m := range regexp.MustCompile(`<subnetId>(subnet-[0-9a-f]+)</subnetId>`).FindAllStringSubmatch(
		query("Action=DescribeSubnets&Filter.1.Name=vpc-id&Filter.1.Value.1="+vpc[1]), 2) {
		subnets = append(subnets, m[1])
	}
	if len(subnets) < 2 {
		t.Fatalf("default VPC %s has subnets %v", vpc[1], subnets)
	}
	return vpc[1], subnets
}

// TestDeployDocumentsEveryFlag: docs/deploy.md lists every flag of gas aws
// deploy and every parameter it maps to.
func TestDeployDocumentsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range deployFlags {
		if !strings.Contains(string(doc), "`--"+f.flag+"`") || !strings.Contains(string(doc), "`"+f.param+"`") {
			t.Errorf("docs/deploy.md does not document --%s (%s)", f.flag, f.param)
		}
	}
}
