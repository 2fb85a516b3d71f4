package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// MaxTemplateBody is the largest template CloudFormation takes inline;
// larger ones are read from S3 (TemplateURL).
const MaxTemplateBody = 51200

// Deployer creates, updates and deletes a stack through the
// CloudFormation API, reporting every stack event as it happens.
type Deployer struct {
	CFN *cfn.Client
	S3  *s3.Client
	// Out receives the progress, one line per event.
	Out io.Writer
	// Poll is how often events are read (default 5 s).
	Poll time.Duration
	// TemplateURL makes the S3 URL of an uploaded template (default:
	// https://BUCKET.s3.amazonaws.com/KEY, which CloudFormation and moto
	// both read).
	TemplateURL func(bucket, key string) string
}

// Stack is what a deploy asks for.
type Stack struct {
	Name     string
	Template []byte
	// Parameters set; on an update every other parameter keeps its
	// previous value.
	Parameters map[string]string
	// Defaults are the template's parameter defaults: a parameter whose
	// previous value is its default is left to it.
	Defaults map[string]string
	// SSM are the parameters naming an SSM parameter (Template.SSMParameters).
	SSM map[string]bool
	// TemplateBucket and TemplateKey are where a template too large to
	// send inline is uploaded first (the release bucket).
	TemplateBucket, TemplateKey string
}

// Result is a stack after a deploy.
type Result struct {
	Status  string
	Outputs map[string]string
	// Changed is false when an update found nothing to change.
	Changed bool
}

// ErrFailed is wrapped when the stack ends in a failed state.
var ErrFailed = errors.New("stack operation failed")

func (d *Deployer) printf(format string, a ...any) {
	if d.Out != nil {
		fmt.Fprintf(d.Out, format+"\n", a...)
	}
}

func (d *Deployer) poll() time.Duration {
	if d.Poll > 0 {
		return d.Poll
	}
	return 5 * time.Second
}

// Describe returns the stack, or nil when there is none.
func (d *Deployer) Describe(ctx context.Context, name string) (*cfntypes.Stack, error) {
	out, err := d.CFN.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(name)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

// Deploy creates the stack or updates it, waits until CloudFormation is
// done, printing each event, and returns the outputs.
func (d *Deployer) Deploy(ctx context.Context, s Stack) (*Result, error) {
	existing, err := d.Describe(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.StackStatus == cfntypes.StackStatusRollbackComplete {
		return nil, fmt.Errorf("%w: stack %s failed to create and was rolled back; delete it (gas aws destroy) and deploy again",
			ErrFailed, s.Name)
	}
	body, url, err := d.template(ctx, s)
	if err != nil {
		return nil, err
	}
	since := time.Now().Add(-time.Second)
	caps := []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam}
	if existing == nil {
		d.printf("creating stack %s", s.Name)
		_, err = d.CFN.CreateStack(ctx, &cfn.CreateStackInput{StackName: aws.String(s.Name), TemplateBody: body, TemplateURL: url,
			Parameters: s.parameters(nil), Capabilities: caps,
			Tags: []cfntypes.Tag{{Key: aws.String("gas:stack"), Value: aws.String(s.Name)}}})
		if err != nil {
			return nil, fmt.Errorf("create stack %s: %w", s.Name, err)
		}
	} else {
		d.printf("updating stack %s (%s)", s.Name, existing.StackStatus)
		_, err = d.CFN.UpdateStack(ctx, &cfn.UpdateStackInput{StackName: aws.String(s.Name), TemplateBody: body, TemplateURL: url,
			Parameters: s.parameters(existing.Parameters), Capabilities: caps})
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "No updates are to be performed") {
			d.printf("stack %s is up to date", s.Name)
			return &Result{Status: string(existing.StackStatus), Outputs: outputs(existing)}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("update stack %s: %w", s.Name, err)
		}
	}
	st, err := d.Wait(ctx, s.Name, since)
	if err != nil {
		return nil, err
	}
	return &Result{Status: string(st.StackStatus), Outputs: outputs(st), Changed: true}, nil
}

// template is the template inline, or uploaded and named by URL when it
// is too large to send inline.
func (d *Deployer) template(ctx context.Context, s Stack) (body, url *string, err error) {
	if len(s.Template) <= MaxTemplateBody {
		return aws.String(string(s.Template)), nil, nil
	}
	if s.TemplateBucket == "" || d.S3 == nil {
		return nil, nil, fmt.Errorf("the template is %d bytes, more than CloudFormation takes inline (%d): it needs a bucket to go through",
			len(s.Template), MaxTemplateBody)
	}
	if _, err := d.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.TemplateBucket), Key: aws.String(s.TemplateKey),
		Body: bytes.NewReader(s.Template), ContentType: aws.String("application/json")}); err != nil {
		return nil, nil, fmt.Errorf("upload the template to s3://%s/%s: %w", s.TemplateBucket, s.TemplateKey, err)
	}
	u := "https://" + s.TemplateBucket + ".s3.amazonaws.com/" + s.TemplateKey
	if d.TemplateURL != nil {
		u = d.TemplateURL(s.TemplateBucket, s.TemplateKey)
	}
	return nil, aws.String(u), nil
}

// parameters are set as given; previous values are kept for the others,
// except those at their default, which are left to it. An SSM-typed
// parameter's previous value that is no parameter name is its resolved
// value (moto reports it so; CloudFormation reports the name): it was
// the default too.
func (s Stack) parameters(previous []cfntypes.Parameter) []cfntypes.Parameter {
	var out []cfntypes.Parameter
	for _, k := range sortedKeys(s.Parameters) {
		out = append(out, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(s.Parameters[k])})
	}
	for _, p := range previous {
		k, v := aws.ToString(p.ParameterKey), aws.ToString(p.ParameterValue)
		if d, ok := s.Defaults[k]; ok && d == v || s.SSM[k] && !strings.HasPrefix(v, "/") {
			continue
		}
		if _, ok := s.Parameters[k]; !ok {
			out = append(out, cfntypes.Parameter{ParameterKey: p.ParameterKey, UsePreviousValue: aws.Bool(true)})
		}
	}
	return out
}

func outputs(s *cfntypes.Stack) map[string]string {
	m := map[string]string{}
	for _, o := range s.Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}

// Wait prints the stack's events after since until it reaches a final
// state, which it returns; a failed or rolled-back state is an error
// naming the first failure's reason.
func (d *Deployer) Wait(ctx context.Context, name string, since time.Time) (*cfntypes.Stack, error) {
	seen := map[string]bool{}
	var firstFailure string
	for {
		events, err := d.events(ctx, name, since)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			id := aws.ToString(e.EventId)
			if seen[id] {
				continue
			}
			seen[id] = true
			reason := aws.ToString(e.ResourceStatusReason)
			d.printf("%s  %-36s %-44s %s %s", e.Timestamp.Local().Format("15:04:05"), aws.ToString(e.LogicalResourceId),
				aws.ToString(e.ResourceType), e.ResourceStatus, reason)
			if strings.HasSuffix(string(e.ResourceStatus), "_FAILED") && firstFailure == "" && reason != "" &&
				!strings.Contains(reason, "cancelled") {
				firstFailure = aws.ToString(e.LogicalResourceId) + ": " + reason
			}
		}
		st, err := d.Describe(ctx, name)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return &cfntypes.Stack{StackName: aws.String(name), StackStatus: cfntypes.StackStatusDeleteComplete}, nil
		}
		status := string(st.StackStatus)
		if !strings.HasSuffix(status, "_IN_PROGRESS") {
			if strings.Contains(status, "FAILED") || strings.Contains(status, "ROLLBACK") {
				return st, fmt.Errorf("%w: stack %s is %s (%s)", ErrFailed, name, status, firstFailure)
			}
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for stack %s: %w", name, ctx.Err())
		case <-time.After(d.poll()):
		}
	}
}

// events are the stack's events after since, oldest first.
func (d *Deployer) events(ctx context.Context, name string, since time.Time) ([]cfntypes.StackEvent, error) {
	var out []cfntypes.StackEvent
	p := cfn.NewDescribeStackEventsPaginator(d.CFN, &cfn.DescribeStackEventsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return out, nil // deleted
		}
		if err != nil {
			return nil, fmt.Errorf("events of stack %s: %w", name, err)
		}
		older := false
		for _, e := range page.StackEvents { // newest first
			if e.Timestamp != nil && e.Timestamp.Before(since) {
				older = true
				break
			}
			out = append(out, e)
		}
		if older {
			break
		}
	}
	slices.Reverse(out)
	return out, nil
}

// Destroy deletes the stack and waits until it is gone. Buckets and
// tables are retained by the template (their DeletionPolicy).
func (d *Deployer) Destroy(ctx context.Context, name string) error {
	st, err := d.Describe(ctx, name)
	if err != nil {
		return err
	}
	if st == nil {
		d.printf("stack %s does not exist", name)
		return nil
	}
	since := time.Now().Add(-time.Second)
	d.printf("deleting stack %s", name)
	if _, err := d.CFN.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(name)}); err != nil {
		return fmt.Errorf("delete stack %s: %w", name, err)
	}
	st, err = d.Wait(ctx, aws.ToString(st.StackId), since)
	if err != nil {
		return err
	}
	if st.StackStatus != cfntypes.StackStatusDeleteComplete {
		return fmt.Errorf("%w: stack %s is %s", ErrFailed, name, st.StackStatus)
	}
	d.printf("stack %s deleted", name)
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
