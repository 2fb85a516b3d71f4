package e2e

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/bootstrap"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// deployed is a deployment `gas aws deploy` made: the stack's outputs and
// the annotators' instances moto launched for its group.
type deployed struct {
	name      string
	outputs   map[string]string
	instances []string

	mu         sync.Mutex
	annotators int
	// instanceOf and metadata are each annotator process's instance and
	// instance metadata service.
	instanceOf map[string]string
	metadata   map[string]*metadata
}

// newStackCluster deploys the whole stack to the test server with
// `gas aws deploy`, as an operator would, and configures the roles from
// the stack's outputs: the suite then runs against the resources the
// stack created, not bootstrap's.
func newStackCluster(t *testing.T, settings ...string) *cluster {
	t.Helper()
	c := newBase(t, settings...)
	ctx := awstest.Ctx(t)
	c.uploadDatabase(ctx)
	d := &deployed{name: strings.TrimSuffix(c.cfg.Prefix, "-"), instanceOf: map[string]string{}, metadata: map[string]*metadata{}}
	out, err := c.command("gas", "aws", "deploy", "--stack", d.name, "--poll", "200ms",
		"--release-bucket", release.bucket, "--release-version", release.version,
		"--oidc-client-id", c.oidc.ClientID, "--oidc-client-secret", c.oidc.ClientSecret,
		"--annotation-db", c.db, "--mail-from", c.sender, "--annotator-min", "2", "--free-window", "4s")
	if err != nil {
		t.Fatalf("gas aws deploy: %v\n%s", err, out)
	}
	if !strings.Contains(out, "GAS is at http://") {
		t.Fatalf("gas aws deploy printed no site URL:\n%s", out)
	}
	st, err := cfn.NewFromConfig(c.aws.SDK).DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(d.name)})
	if err != nil || len(st.Stacks) != 1 || st.Stacks[0].StackStatus != "CREATE_COMPLETE" {
		t.Fatalf("stack %s: %v %+v", d.name, err, st)
	}
	d.outputs = map[string]string{}
	for _, o := range st.Stacks[0].Outputs {
		d.outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	// The roles find every resource by the names in the outputs; those
	// are the names the prefix gives (awsconfig), or the template drifted.
	for v, name := range c.cfg.Names.Variables() {
		got := d.outputs[stack.OutputOf(v)]
		if got != name {
			t.Fatalf("stack output %s (%s) is %q, the roles' name for it %q", stack.OutputOf(v), v, got, name)
		}
		c.env = append(c.env, v+"="+got)
	}
	c.completeMoto()
	c.readSecrets()
	c.stack = d
	groups, err := autoscaling.NewFromConfig(c.aws.SDK).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{d.outputs[stack.GroupOutput(group(stack.GroupAnnotators))]}})
	if err != nil || len(groups.AutoScalingGroups) != 1 || len(groups.AutoScalingGroups[0].Instances) != 2 {
		t.Fatalf("annotators' group: %v %+v", err, groups)
	}
	for _, in := range groups.AutoScalingGroups[0].Instances {
		d.instances = append(d.instances, aws.ToString(in.InstanceId))
	}
	c.ready()
	return c
}

func group(name string) stack.Group {
	for _, g := range stack.Groups() {
		if g.Name == name {
			return g
		}
	}
	panic(name)
}

// completeMoto adds what moto's CloudFormation ignores and real
// CloudFormation creates from the same template (AWS::SNS::Subscription,
// AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy, buckets' lifecycle rules
// and notifications, tables' time to live): bootstrap converges the
// deployment on the description the template was generated from. It may
// attach those and nothing else: every bucket, table, queue and topic
// must already be the stack's.
func (c *cluster) completeMoto() {
	t := c.t
	cfg := c.cfg
	cfg.MaxReceives = 0 // each queue's own, as the template has it
	res, err := bootstrap.Run(awstest.Ctx(t), c.aws, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("complete the stack on moto: %v", err)
	}
	for _, r := range res.Created {
		if !strings.HasPrefix(r, "subscription ") && !strings.HasPrefix(r, "time to live ") {
			t.Fatalf("the stack did not create %s (bootstrap had to)", r)
		}
	}
	t.Logf("moto's CloudFormation ignores subscriptions, resource policies, bucket rules and table settings; bootstrap added %d: %v",
		len(res.Created), res.Created)
}

// readSecrets takes the web role's secrets from where gas aws deploy
// stored them (SSM SecureString), as the web servers' user data does.
func (c *cluster) readSecrets() {
	t := c.t
	api := ssm.NewFromConfig(c.aws.SDK)
	get := func(secret string) string {
		out, err := api.GetParameter(awstest.Ctx(t), &ssm.GetParameterInput{
			Name: aws.String(stack.SecretName(stack.SecretStoreSSM, c.cfg.Prefix, secret)), WithDecryption: aws.Bool(true)})
		if err != nil {
			t.Fatalf("secret %s: %v", secret, err)
		}
		return aws.ToString(out.Parameter.Value)
	}
	if c.oidcSecret = get(stack.SecretOIDCClient); c.oidcSecret != c.oidc.ClientSecret {
		t.Fatalf("stored OIDC client secret %q, want the one given to gas aws deploy", c.oidcSecret)
	}
	if c.sessionKey = get(stack.SecretSessionKey); len(c.sessionKey) < 32 {
		t.Fatalf("generated session key has %d bytes", len(c.sessionKey))
	}
}

// annotatorEnv ties an annotator process to one of the group's instances,
// as the user data does, with an instance metadata service of its own.
func (c *cluster) annotatorEnv(name string) []string {
	d := c.stack
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.instances[d.annotators%len(d.instances)]
	d.annotators++
	md := newMetadata(c.t)
	d.instanceOf[name], d.metadata[name] = id, md
	return []string{"GAS_AUTOSCALING_GROUP=" + d.outputs[stack.GroupOutput(group(stack.GroupAnnotators))], "GAS_INSTANCE_ID=" + id,
		"GAS_UNPROTECT_AFTER=1s", "GAS_LIFECYCLE_POLL=200ms", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + md.URL}
}

// protected reports the scale-in protection of process name's instance.
func (c *cluster) protected(t *testing.T, name string) bool {
	t.Helper()
	out, err := autoscaling.NewFromConfig(c.aws.SDK).DescribeAutoScalingInstances(awstest.Ctx(t),
		&autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{c.stack.instanceOf[name]}})
	if err != nil || len(out.AutoScalingInstances) != 1 {
		t.Fatalf("instance of %s: %v", name, err)
	}
	return aws.ToBool(out.AutoScalingInstances[0].ProtectedFromScaleIn)
}

// metadata is an instance metadata service (IMDSv2) telling the target
// lifecycle state, which a test sets to Terminated as the group would.
type metadata struct {
	*httptest.Server
	mu    sync.Mutex
	state string
}

func newMetadata(t *testing.T) *metadata {
	m := &metadata{state: "InService"}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "300")
			io.WriteString(w, "token")
		case r.URL.Path == "/latest/meta-data/"+asg.TargetStatePath:
			m.mu.Lock()
			defer m.mu.Unlock()
			io.WriteString(w, m.state)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	return m
}

// terminate makes the group terminate the instance.
func (m *metadata) terminate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = "Terminated"
}

func (d *deployed) String() string { return fmt.Sprintf("stack %s", d.name) }
