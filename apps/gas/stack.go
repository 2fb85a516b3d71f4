package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/stack"
	"github.com/gasproject/gas/domain/scaling"
)

// awsFlags are the flags every stack subcommand shares: where AWS is and
// which deployment.
type awsFlags struct {
	endpoint, region, prefix, stack *string
}

func addAWSFlags(fs *flag.FlagSet) awsFlags {
	return awsFlags{
		endpoint: fs.String("endpoint", "", "endpoint override, e.g. http://127.0.0.1:5000 for moto (default $GAS_AWS_ENDPOINT)"),
		region:   fs.String("region", "", "AWS region (default $GAS_AWS_REGION, $AWS_REGION or us-east-1)"),
		prefix:   fs.String("prefix", "", "resource name prefix (default $GAS_AWS_PREFIX or gas-)"),
		stack:    fs.String("stack", "", "stack name (default the prefix without its trailing dash)"),
	}
}

// config is the deployment's AWS configuration with the flags applied.
func (f awsFlags) config() (awsconfig.Config, error) {
	getenv := func(name string) string {
		switch {
		case name == "GAS_AWS_ENDPOINT" && *f.endpoint != "":
			return *f.endpoint
		case name == "GAS_AWS_REGION" && *f.region != "":
			return *f.region
		case name == "GAS_AWS_PREFIX" && *f.prefix != "":
			return *f.prefix
		}
		return os.Getenv(name)
	}
	c, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

func (f awsFlags) stackName(c awsconfig.Config) string {
	if *f.stack != "" {
		return *f.stack
	}
	return strings.TrimSuffix(c.Prefix, "-")
}

// templateOptions are the flags that shape the generated template.
type templateOptions struct{ wait, meanJob, drain *time.Duration }

func addTemplateFlags(fs *flag.FlagSet) templateOptions {
	return templateOptions{
		wait:    fs.Duration("acceptable-wait", scaling.DefaultAcceptableWait, "how long a job may wait for an annotator (backlog target)"),
		meanJob: fs.Duration("mean-job", stack.DefaultMeanJob, "mean annotation time of a job on the annotators (gas simulate calibrate)"),
		drain:   fs.Duration("drain-timeout", stack.DefaultDrainTimeout, "how long a terminating annotator may finish its job"),
	}
}

func (o templateOptions) generate() (*stack.Template, error) {
	t, err := stack.Generate(stack.Options{AcceptableWait: *o.wait, MeanJob: *o.meanJob, DrainTimeout: *o.drain})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return t, nil
}

// parseNoArgs parses a command's flags and refuses positional arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return nil
}

// runAWSTemplate prints the CloudFormation template.
func runAWSTemplate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws template", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := addTemplateFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of YAML")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	t, err := opts.generate()
	if err != nil {
		return err
	}
	out, err := t.YAML()
	if *asJSON {
		out, err = t.JSON()
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// deployFlags map flags to template parameters; only flags given are
// sent, so an update keeps every other parameter's previous value.
var deployFlags = []struct{ flag, param, help string }{
	{"vpc", stack.ParamVpcID, "VPC to run in (default: create one)"},
	{"subnets", stack.ParamSubnets, "comma-separated public subnets of --vpc, in two zones or more"},
	{"image", stack.ParamImage, "SSM parameter naming the Amazon Linux 2023 image (default: the latest arm64 one; /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 for x86 instance types)"},
	{"web-instance-type", stack.ParamWebInstanceType, "web servers' instance type"},
	{"web-min", stack.ParamWebMin, "fewest web servers"},
	{"web-max", stack.ParamWebMax, "most web servers"},
	{"annotator-instance-type", stack.ParamAnnotatorType, "annotators' instance type"},
	{"annotator-min", stack.ParamAnnotatorMin, "fewest annotators"},
	{"annotator-max", stack.ParamAnnotatorMax, "most annotators"},
	{"housekeeping-instance-type", stack.ParamHousekeepingType, "housekeeping instances' type"},
	{"certificate-arn", stack.ParamCertificate, "ACM certificate for HTTPS (default: plain HTTP)"},
	{"domain", stack.ParamDomain, "the site's domain name"},
	{"oidc-issuer", stack.ParamOIDCIssuer, "OpenID Connect issuer"},
	{"oidc-client-id", stack.ParamOIDCClientID, "OIDC client id (required on the first deploy)"},
	{"secrets", stack.ParamSecretStore, "where secrets are kept: ssm or secretsmanager"},
	{"annotation-db", stack.ParamAnnotationDB, "s3://bucket/key of the annotation database (required on the first deploy)"},
	{"mail-from", stack.ParamSender, "sender address, a verified SES identity (required on the first deploy)"},
	{"upgrade-policy", stack.ParamUpgradePolicy, "who may upgrade users to premium: admin or open"},
	{"admins", stack.ParamAdmins, "comma-separated user ids of the operators who may use the admin page"},
	{"release-bucket", stack.ParamReleaseBucket, "bucket of the release (gas aws release; required on the first deploy)"},
	{"release-version", stack.ParamReleaseVersion, "release version to run (required on the first deploy)"},
	{"scaling", stack.ParamScaling, "target-tracking, or seed for the original's step policies"},
	{"alarm-email", stack.ParamAlarmEmail, "address told of alarms"},
	{"free-window", stack.ParamFreeWindow, "free users' download window"},
}

// runAWSDeploy creates or updates the stack, storing the secrets first.
func runAWSDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws deploy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAWSFlags(fs)
	opts := addTemplateFlags(fs)
	values := map[string]*string{}
	for _, f := range deployFlags {
		values[f.flag] = fs.String(f.flag, "", f.help+" ("+f.param+")")
	}
	oidcSecret := fs.String("oidc-client-secret", "", "OIDC client secret, stored as a secret (default $GAS_OIDC_CLIENT_SECRET; kept from the last deploy when absent)")
	var extra paramList
	fs.Var(&extra, "param", "Key=Value of any other template parameter (repeatable)")
	poll := fs.Duration("poll", 5*time.Second, "how often stack events are read")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	c, err := af.config()
	if err != nil {
		return err
	}
	params := map[string]string{stack.ParamPrefix: c.Prefix}
	fs.Visit(func(f *flag.Flag) {
		for _, d := range deployFlags {
			if d.flag == f.Name {
				params[d.param] = *values[d.flag]
			}
		}
	})
	for k, v := range extra {
		params[k] = v
	}
	t, err := opts.generate()
	if err != nil {
		return err
	}
	body, err := t.JSON()
	if err != nil {
		return err
	}
	sdk, err := awsconfig.Load(ctx, c)
	if err != nil {
		return err
	}
	cl, err := awsconfig.NewClients(ctx, c)
	if err != nil {
		return err
	}
	d := &stack.Deployer{CFN: cfn.NewFromConfig(sdk), S3: cl.S3, Out: stdout, Poll: *poll}
	name := af.stackName(c)
	existing, err := d.Describe(ctx, name)
	if err != nil {
		return err
	}
	store := params[stack.ParamSecretStore]
	if store == "" {
		store = previous(existing, stack.ParamSecretStore, stack.SecretStoreSSM)
	}
	secret := *oidcSecret
	if secret == "" {
		secret = os.Getenv("GAS_OIDC_CLIENT_SECRET")
	}
	stored, err := stack.Secrets{SSM: ssm.NewFromConfig(sdk), SecretsManager: secretsmanager.NewFromConfig(sdk)}.Ensure(ctx, store, c.Prefix,
		map[string]string{stack.SecretOIDCClient: secret})
	if err != nil {
		return err
	}
	for _, s := range stored {
		fmt.Fprintf(stdout, "stored secret %s (%s)\n", s, store)
	}
	bucket := params[stack.ParamReleaseBucket]
	if bucket == "" {
		bucket = previous(existing, stack.ParamReleaseBucket, "")
	}
	res, err := d.Deploy(ctx, stack.Stack{Name: name, Template: body, Parameters: params, Defaults: t.Defaults(), SSM: t.SSMParameters(),
		TemplateBucket: bucket,
		TemplateKey:    "templates/" + name + "-" + time.Now().UTC().Format("20060102T150405Z") + ".json"})
	if err != nil {
		return err
	}
	printOutputs(stdout, res.Outputs)
	return nil
}

// previous is the value a stack's parameter had, or def.
func previous(st *cfntypes.Stack, key, def string) string {
	if st == nil {
		return def
	}
	for _, p := range st.Parameters {
		if p.ParameterKey != nil && *p.ParameterKey == key && p.ParameterValue != nil {
			return *p.ParameterValue
		}
	}
	return def
}

func printOutputs(w io.Writer, outputs map[string]string) {
	fmt.Fprintf(w, "\nGAS is at %s\n", outputs[stack.OutputSiteURL])
	fmt.Fprintf(w, "register this sign-in redirect URL with the OIDC issuer: %s/auth/callback\n", outputs[stack.OutputSiteURL])
	fmt.Fprintf(w, "alarms: %s (subscribe to it, or deploy with --alarm-email)\n\noutputs:\n", outputs[stack.OutputAlarmTopic])
	for _, k := range sortedKeys(outputs) {
		fmt.Fprintf(w, "  %-28s %s\n", k, outputs[k])
	}
}

// paramList collects -param Key=Value flags.
type paramList map[string]string

func (p *paramList) String() string { return fmt.Sprint(map[string]string(*p)) }

func (p *paramList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want Key=Value, got %q", v)
	}
	if *p == nil {
		*p = paramList{}
	}
	(*p)[k] = val
	return nil
}

// runAWSDestroy deletes the stack; buckets and tables stay unless
// --delete-data.
func runAWSDestroy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws destroy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAWSFlags(fs)
	deleteData := fs.Bool("delete-data", false, "also delete the buckets (every object) and tables the stack retains")
	poll := fs.Duration("poll", 5*time.Second, "how often stack events are read")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	c, err := af.config()
	if err != nil {
		return err
	}
	sdk, err := awsconfig.Load(ctx, c)
	if err != nil {
		return err
	}
	cl, err := awsconfig.NewClients(ctx, c)
	if err != nil {
		return err
	}
	d := &stack.Deployer{CFN: cfn.NewFromConfig(sdk), S3: cl.S3, Out: stdout, Poll: *poll}
	name := af.stackName(c)
	st, err := d.Describe(ctx, name)
	if err != nil {
		return err
	}
	outputs := map[string]string{}
	if st != nil {
		for _, o := range st.Outputs {
			outputs[*o.OutputKey] = *o.OutputValue
		}
	}
	if err := d.Destroy(ctx, name); err != nil {
		return err
	}
	buckets, tables := stack.Data(outputs)
	if !*deleteData {
		if len(buckets)+len(tables) > 0 {
			fmt.Fprintf(stdout, "kept buckets %s and tables %s (gas aws destroy --delete-data deletes them)\n",
				strings.Join(buckets, ", "), strings.Join(tables, ", "))
		}
		return nil
	}
	return d.DeleteData(ctx, cl.DynamoDB, buckets, tables)
}
