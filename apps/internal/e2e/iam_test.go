package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/stack"
)

// grant is one action on one resource (ARN or pattern).
type grant struct{ action, resource string }

// unexercised are grants the policies make on purpose although the suite
// does not (or not always) make the call: paths it cannot provoke, or
// provokes only when timing allows (racy). Each says why the code needs
// it; anything else granted and never called fails the test, and so does
// an entry that is not racy and no longer needed.
var unexercised = map[string][]struct {
	action, resource, why string
	racy                  bool
}{
	"*": {
		{"sqs:ChangeMessageVisibility", ":", "a failed step is retried after a back-off (ChangeMessageVisibility) and a long one's visibility is extended", true},
		{"sqs:SendMessage", ":", "a consumer re-delays a message that arrived early (message.Schedule on its own queue)", true},
		{"sqs:DeleteMessage", "-dlq", "dead letters of every queue are drained; the suite dead-letters only job requests", true},
		{"s3:AbortMultipartUpload", ":::", "results and archives over 8 MiB go up in parts, aborted when an upload fails", true},
	},
	"archiver": {
		{"s3:RestoreObject", "-archive/", "a user who upgraded while their result was being archived is restored at once", true},
		{"s3:GetObject", "-archive/", "(with RestoreObject) the restore of a user upgraded mid-archive", true},
		{"sqs:SendMessage", "-restore", "(with RestoreObject) the restore of a user upgraded mid-archive schedules its check", true},
		{"s3:ListBucket", "-archive", "(with RestoreObject) an archive already gone answers 404, not 403", true},
	},
	"thawer": {
		{"s3:GetObject", "-archive/", "a thaw of an archive whose restore is already running keeps that restore's tier, read from the .restore-tier record beside the archive (a second thaw request, e.g. the reconciler's, while the first restore runs)", true},
	},
	"reconciler": {
		{"sns:Publish", ":", "a lost result notice, thaw request or restore check is published again (findings notice_unsent, archived_premium, restore_overdue); the suite strands only a job request", false},
	},
	"notifier": {
		{"sqs:SendMessage", "", "housekeeping dead letters are sent back to their queue (redrive); the suite dead-letters only job requests", false},
		{"ses:SendEmail", ":identity/", "the domain's identity, when the sender's domain is verified rather than its address", false},
	},
}

// checkPolicies compares, role by role, the AWS calls the role's
// processes made in this run (recorded by GAS_TEST_RECORD_CALLS, plus the
// browsers' presigned uploads, which the web role signs) with the IAM
// policy the stack gave the role: every call must be allowed, and every
// grant must have been used or be listed in unexercised with its reason.
func (c *cluster) checkPolicies(t *testing.T) {
	account := strings.Split(c.stack.outputs[stack.OutputAlarmTopic], ":")[4]
	needed := map[string]bool{} // unexercised entries some grant needed
	api := iam.NewFromConfig(c.aws.SDK)
	for _, role := range stack.Roles() {
		calls := c.recorded(t, role)
		out, err := api.GetRolePolicy(awstest.Ctx(t), &iam.GetRolePolicyInput{RoleName: aws.String(c.stack.outputs[stack.RoleOutput(role)]),
			PolicyName: aws.String("calls")})
		if err != nil {
			t.Fatalf("policy of %s: %v", role, err)
		}
		policy := parsePolicy(t, aws.ToString(out.PolicyDocument))
		used := map[grant]bool{}
		seen := 0
		for _, call := range calls {
			for _, g := range c.grantsOf(t, call, account) {
				seen++
				p, ok := policy.allows(g)
				if !ok {
					t.Errorf("%s calls %s on %s, which its policy does not allow", role, g.action, g.resource)
				}
				used[p] = true
				if g.action == "s3:GetObject" || g.action == "s3:RestoreObject" { // a missing key: 404, not 403
					used[grant{"s3:ListBucket", strings.SplitN(g.resource, "/", 2)[0]}] = true
				}
			}
		}
		for _, g := range policy.grants() {
			if !used[g] && !justified(role, g, needed) {
				t.Errorf("%s may %s on %s but never did in this run (grant it only where the code calls it)", role, g.action, g.resource)
			}
		}
		t.Logf("%s: %d calls, %d grants, all used or justified", role, seen, len(policy.grants()))
	}
	for r, us := range unexercised {
		for _, u := range us {
			if !u.racy && !needed[r+" "+u.action+" "+u.resource] {
				t.Errorf("unexercised lists %s %s on %q, which the run used or no policy grants: remove it", r, u.action, u.resource)
			}
		}
	}
}

// justified reports whether an unused grant is listed in unexercised,
// noting the entry as needed.
func justified(role string, g grant, needed map[string]bool) bool {
	for _, r := range []string{role, "*"} {
		for _, u := range unexercised[r] {
			if u.action == g.action && strings.Contains(g.resource, u.resource) {
				needed[r+" "+u.action+" "+u.resource] = true
				return true
			}
		}
	}
	return false
}

// recorded are the calls of every process of role, with the browsers'
// presigned uploads for the web role.
func (c *cluster) recorded(t *testing.T, role string) []awsfault.Call {
	c.mu.Lock()
	procs := slices.Clone(c.procs)
	c.mu.Unlock()
	var out []awsfault.Call
	for _, p := range procs {
		if filepath.Base(p.cmd.Path) != role {
			continue
		}
		f, err := os.Open(c.callsOf(p.name))
		if err != nil {
			t.Fatalf("calls of %s: %v", p.name, err)
		}
		calls, err := awsfault.ReadCalls(f)
		f.Close()
		if err != nil {
			t.Fatalf("calls of %s: %v", p.name, err)
		}
		out = append(out, calls...)
	}
	if role == stack.RoleWeb {
		out = append(out, c.presigned()...)
	}
	return out
}

// called reports whether process name called operation of service.
func (c *cluster) called(t *testing.T, name, service, operation string) bool {
	f, err := os.Open(c.callsOf(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calls, err := awsfault.ReadCalls(f)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(calls, func(c awsfault.Call) bool { return c.Service == service && c.Operation == operation })
}

// grantsOf is what IAM checks for a call: its actions and resources.
func (c *cluster) grantsOf(t *testing.T, call awsfault.Call, account string) []grant {
	p := func(k string) string {
		if v := call.Params[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	region := c.cfg.Region
	arn := func(service, resource string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
	}
	table := func(name string) string { return arn("dynamodb", "table/"+name) }
	switch call.Service {
	case "DynamoDB":
		switch call.Operation {
		case "TransactWriteItems":
			var gs []grant
			for _, kind := range []string{"Put", "Update", "Delete", "ConditionCheck"} {
				for _, name := range call.Params["TransactItems."+kind+".TableName"] {
					action := "dynamodb:" + kind + "Item"
					gs = append(gs, grant{action, table(name)})
				}
			}
			return gs
		case "BatchGetItem":
			var gs []grant
			for _, name := range call.Params["RequestItems{}"] {
				gs = append(gs, grant{"dynamodb:BatchGetItem", table(name)})
			}
			return gs
		}
		r := table(p("TableName"))
		if idx := p("IndexName"); idx != "" {
			r += "/index/" + idx
		}
		return []grant{{"dynamodb:" + call.Operation, r}}
	case "SQS":
		name := p("QueueName")
		if u := p("QueueUrl"); u != "" {
			name = path.Base(u)
		}
		return []grant{{"sqs:" + call.Operation, arn("sqs", name)}}
	case "SNS":
		if call.Operation == "ListTopics" {
			return []grant{{"sns:ListTopics", "*"}}
		}
		return []grant{{"sns:" + call.Operation, p("TopicArn")}}
	case "S3":
		object := "arn:aws:s3:::" + p("Bucket") + "/" + p("Key")
		switch call.Operation {
		case "HeadObject", "GetObject":
			return []grant{{"s3:GetObject", object}}
		case "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
			return []grant{{"s3:PutObject", object}}
		case "ListObjectsV2", "HeadBucket":
			return []grant{{"s3:ListBucket", "arn:aws:s3:::" + p("Bucket")}}
		}
		return []grant{{"s3:" + call.Operation, object}}
	case "SESv2":
		return []grant{{"ses:" + call.Operation, arn("ses", "identity/"+p("FromEmailAddress"))}}
	case "Auto Scaling":
		return []grant{{"autoscaling:" + call.Operation,
			arn("autoscaling", "autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/"+p("AutoScalingGroupName"))}}
	}
	t.Fatalf("a call of %s %s: no IAM mapping (add one)", call.Service, call.Operation)
	return nil
}

// policy is an identity policy's Allow statements.
type policy []struct {
	Action   []string
	Resource []string
}

// parsePolicy reads a policy document as IAM returns it: URL-encoded
// JSON on AWS; moto returns the Python form of the template's document.
func parsePolicy(t *testing.T, doc string) policy {
	if d, err := url.QueryUnescape(doc); err == nil {
		doc = d
	}
	var p struct{ Statement policy }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		if err := json.Unmarshal([]byte(strings.ReplaceAll(doc, "'", `"`)), &p); err != nil {
			t.Fatalf("policy %q: %v", doc, err)
		}
	}
	return p.Statement
}

func (p policy) grants() []grant {
	var out []grant
	for _, s := range p {
		for _, a := range s.Action {
			for _, r := range s.Resource {
				out = append(out, grant{a, r})
			}
		}
	}
	return out
}

// allows returns the grant of p that allows g.
func (p policy) allows(g grant) (grant, bool) {
	for _, pg := range p.grants() {
		if strings.EqualFold(pg.action, g.action) && glob(pg.resource, g.resource) {
			return pg, true
		}
	}
	return grant{}, false
}

// glob matches IAM's * and ? in pattern.
func glob(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if glob(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && glob(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && glob(pattern[1:], s[1:])
}

// recordPresigned notes a browser's upload through a form the web role
// presigned: the web role's credentials allowed it.
func (c *cluster) recordPresigned(bucket, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.uploads = append(c.uploads, awsfault.Call{Service: "S3", Operation: "PutObject",
		Params: map[string][]string{"Bucket": {bucket}, "Key": {key}}})
}

func (c *cluster) presigned() []awsfault.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.uploads)
}
