package stack_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/resources"
	"github.com/gasproject/gas/adapters/aws/stack"
	"github.com/gasproject/gas/domain/scaling"
	"github.com/gasproject/gas/ports/message"
)

// doc is a generated template as CloudFormation reads it.
type doc map[string]any

func generate(t *testing.T, o stack.Options) doc {
	t.Helper()
	tpl, err := stack.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := tpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(j, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d doc) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := d["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

func (d doc) props(t *testing.T, id string) map[string]any {
	t.Helper()
	p, _ := d.resource(t, id)["Properties"].(map[string]any)
	return p
}

// ofType lists the resources of a type by logical id.
func (d doc) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range d["Resources"].(map[string]any) {
		if r.(map[string]any)["Type"] == typ {
			out[id] = r.(map[string]any)
		}
	}
	return out
}

// js is v as compact JSON, for comparisons of intrinsics.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sub(s string) string { return js(map[string]any{"Fn::Sub": s}) }

// camel is a base name as logical ids spell it ("job-results" -> "JobResults").
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(strings.TrimPrefix(s, "${Prefix}"), func(r rune) bool { return r == '-' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// TestTemplatePassesCfnLint runs cfn-lint, AWS's template linter, on the
// template: no errors (warnings are logged).
func TestTemplatePassesCfnLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed (pip install cfn-lint; .ci/run installs it)")
	}
	tpl, err := stack.Generate(stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := tpl.YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gas.yaml")
	if err := os.WriteFile(path, y, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(lint, "--format", "parseable", path).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode()&2 == 0 && exit.ExitCode() < 16:
		// 4: warnings, 8: informational findings.
		t.Logf("cfn-lint warnings:\n%s", out)
	default:
		t.Fatalf("cfn-lint found errors (%v):\n%s", err, out)
	}
}

// TestTemplateDeclaresTheDeployment: every bucket, table, queue and topic
// resources.Describe lists (what gas aws bootstrap creates) is in the
// template under its prefixed name, configured the same way.
func TestTemplateDeclaresTheDeployment(t *testing.T) {
	d := generate(t, stack.Options{})
	want := resources.Describe(awsconfig.Default("${Prefix}"))
	names := func(typ, prop string) []string {
		var out []string
		for _, r := range d.ofType(typ) {
			out = append(out, js(r["Properties"].(map[string]any)[prop]))
		}
		slices.Sort(out)
		return out
	}
	check := func(typ, prop string, expected []string) {
		t.Helper()
		var w []string
		for _, n := range expected {
			w = append(w, sub(n))
		}
		slices.Sort(w)
		if got := names(typ, prop); !slices.Equal(got, w) {
			t.Errorf("%s: %v, want %v", typ, got, w)
		}
	}
	var buckets, tables, queues, topics []string
	for _, b := range want.Buckets {
		buckets = append(buckets, b.Name)
	}
	for _, tb := range want.Tables {
		tables = append(tables, tb.Name())
	}
	for _, q := range want.Queues {
		queues = append(queues, q.Name)
	}
	for _, p := range want.Topics {
		topics = append(topics, p.Name)
	}
	check("AWS::S3::Bucket", "BucketName", buckets)
	check("AWS::DynamoDB::Table", "TableName", tables)
	check("AWS::SQS::Queue", "QueueName", queues)
	check("AWS::SNS::Topic", "TopicName", append(topics, "${Prefix}alarms"))
	for _, tb := range want.Tables {
		r := d.resource(t, "Table"+camel(strings.TrimPrefix(tb.Name(), "${Prefix}")))
		p := r["Properties"].(map[string]any)
		ttl := "null"
		if tb.TTLAttribute != "" {
			ttl = `{"AttributeName":"` + tb.TTLAttribute + `","Enabled":true}`
		}
		if r["DeletionPolicy"] != "Retain" || p["BillingMode"] != "PAY_PER_REQUEST" || js(p["TimeToLiveSpecification"]) != ttl ||
			js(p["PointInTimeRecoverySpecification"]) != `{"PointInTimeRecoveryEnabled":`+js(tb.PointInTimeRecovery)+`}` {
			t.Errorf("table %s: %v", tb.Name(), js(r))
		}
	}
	jobs := d.props(t, "TableJobs")
	if idx := js(jobs["GlobalSecondaryIndexes"]); !strings.Contains(idx, `"IndexName":"by-owner"`) || !strings.Contains(idx, `"IndexName":"by-owner-storage"`) {
		t.Errorf("jobs indexes: %s", idx)
	}
	for id, r := range d.ofType("AWS::S3::Bucket") {
		if r["DeletionPolicy"] != "Retain" || !strings.Contains(js(r), `"BlockPublicPolicy":true`) || !strings.Contains(js(r), resources.AbortUploadsRuleID) {
			t.Errorf("bucket %s: %s", id, js(r))
		}
	}
	if n := js(d.props(t, "BucketArchive")["NotificationConfiguration"]); !strings.Contains(n, `"Event":"s3:ObjectRestore:Completed"`) ||
		!strings.Contains(n, `{"Ref":"TopicRestoreCompletions"}`) {
		t.Errorf("archive restore events: %s", n)
	}
	for _, q := range want.Queues {
		id := "Queue" + camel(q.Base)
		if q.IsDeadLetter() {
			id = "DeadLetter" + id
		}
		p := d.props(t, id)
		visibility := any(nil)
		if q.Visibility > 0 {
			visibility = q.Visibility.Seconds()
		}
		if p["MessageRetentionPeriod"] != float64(q.Retention.Seconds()) || p["VisibilityTimeout"] != visibility {
			t.Errorf("queue %s: %s", q.Name, js(p))
		}
		if q.DeadLetter != "" && !strings.Contains(js(p["RedrivePolicy"]), `"maxReceiveCount":`+js(q.MaxReceives)) {
			t.Errorf("queue %s redrive: %s", q.Name, js(p["RedrivePolicy"]))
		}
	}
	// Only this account's archive bucket and vaults announce restores.
	cold := js(d.props(t, "TopicRestoreCompletionsPolicy")["PolicyDocument"])
	if strings.Count(cold, `"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}`) != 2 ||
		!strings.Contains(cold, `"aws:SourceArn":{"Fn::Sub":"arn:${AWS::Partition}:s3:::${Prefix}archive"}`) {
		t.Errorf("cold-storage topic policy: %s", cold)
	}
	subs := d.ofType("AWS::SNS::Subscription")
	for _, p := range want.Topics {
		for _, q := range p.Subscribers {
			found := false
			for _, s := range subs {
				sp := s["Properties"].(map[string]any)
				if sp["Protocol"] == "sqs" && sp["RawMessageDelivery"] == true && js(sp["Endpoint"]) == `{"Fn::GetAtt":["Queue`+camel(q)+`","Arn"]}` &&
					js(sp["TopicArn"]) == `{"Ref":"Topic`+camel(p.Name)+`"}` {
					found = true
				}
			}
			if !found {
				t.Errorf("no raw subscription of %s to %s", q, p.Name)
			}
		}
	}
}

// TestScalingFollowsTheDomain: moto ignores scaling policies and alarms,
// so they are checked here: web target tracking on
// ALBRequestCountPerTarget; two annotator target tracking rules on metric
// math (backlog and jobs in flight per instance in service) with
// domain/scaling's targets as the parameters' defaults; the original's
// step policies and alarms exactly, as the other choice; the
// annotators' termination lifecycle hook.
func TestScalingFollowsTheDomain(t *testing.T) {
	o := stack.Options{AcceptableWait: 3 * time.Minute, MeanJob: 45 * time.Second, DrainTimeout: 7 * time.Minute}
	d := generate(t, o)
	params := d["Parameters"].(map[string]any)
	def := func(p string) any { return params[p].(map[string]any)["Default"] }
	backlog, _ := scaling.AnnotatorBacklogTarget(o.AcceptableWait, o.MeanJob)
	if def(stack.ParamWebTarget) != scaling.WebRequestCountPerTarget || def(stack.ParamBacklogTarget) != backlog ||
		def(stack.ParamInFlightTarget) != scaling.AnnotatorUtilisationTarget {
		t.Fatalf("targets: web %v, backlog %v (want %v), in flight %v", def(stack.ParamWebTarget), def(stack.ParamBacklogTarget), backlog,
			def(stack.ParamInFlightTarget))
	}
	web := d.resource(t, "WebRequestTracking")
	if web["Condition"] != "UseTargetTracking" || !strings.Contains(js(web), `"PredefinedMetricType":"ALBRequestCountPerTarget"`) ||
		!strings.Contains(js(web), `"TargetValue":{"Ref":"WebRequestsPerTarget"}`) || !strings.Contains(js(web), "TargetGroupFullName") {
		t.Errorf("web tracking: %s", js(web))
	}
	policy, _ := scaling.TargetTrackingAnnotator(o.AcceptableWait, o.MeanJob)
	if len(policy.Rules()) != 2 {
		t.Fatalf("the domain has %d annotator rules", len(policy.Rules()))
	}
	for _, rule := range policy.Rules() {
		tt := rule.(scaling.TargetTracking)
		id := "Annotator" + camel(tt.Name())
		r := js(d.resource(t, id))
		target := stack.ParamBacklogTarget
		if tt.Metric() == scaling.MessagesInFlight {
			target = stack.ParamInFlightTarget
		}
		for _, want := range []string{`"Condition":"UseTargetTracking"`, `"TargetValue":{"Ref":"` + target + `"}`,
			`"MetricName":"` + string(tt.Metric()) + `"`, `"Value":{"Fn::Sub":"${Prefix}annotate"}`,
			`"MetricName":"GroupInServiceInstances"`, `"Value":{"Fn::Sub":"${Prefix}annotators"}`, `"Expression":"queue / instances"`} {
			if !strings.Contains(r, want) {
				t.Errorf("%s lacks %s: %s", id, want, r)
			}
		}
	}
	for _, s := range append(scaling.SeedWebSteps(), scaling.SeedAnnotatorSteps()...) {
		id := "Seed" + camel(s.Name())
		p, a := d.resource(t, id), d.resource(t, id+"Alarm")
		spec := s.Alarm().Spec()
		pp, ap := p["Properties"].(map[string]any), a["Properties"].(map[string]any)
		if p["Condition"] != "UseSeedPolicies" || a["Condition"] != "UseSeedPolicies" || pp["ScalingAdjustment"] != float64(s.Adjustment()) ||
			pp["Cooldown"] != js(int(s.Cooldown().Seconds())) || ap["MetricName"] != string(spec.Metric) || ap["Threshold"] != spec.Threshold ||
			ap["Period"] != spec.Period.Seconds() || ap["ComparisonOperator"] != spec.Comparison.String() ||
			ap["TreatMissingData"] != spec.Missing.String() || ap["Statistic"] != spec.Statistic.String() ||
			js(ap["AlarmActions"]) != `[{"Ref":"`+id+`"}]` {
			t.Errorf("seed %s: %s %s", s.Name(), js(p), js(a))
		}
	}
	hooks := js(d.props(t, "AnnotatorsGroup")["LifecycleHookSpecificationList"])
	if !strings.Contains(hooks, `"LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING"`) || !strings.Contains(hooks, `"HeartbeatTimeout":420`) ||
		!strings.Contains(hooks, `"DefaultResult":"CONTINUE"`) || !strings.Contains(hooks, stack.LifecycleHook) {
		t.Errorf("annotator lifecycle hook: %s", hooks)
	}
	for _, g := range stack.Groups() {
		if m := js(d.props(t, stack.GroupID(g))["MetricsCollection"]); !strings.Contains(m, "GroupInServiceInstances") {
			t.Errorf("group %s collects %s", g.Name, m)
		}
	}
}

// TestAlarmsCoverWhatOperatorsMustHear: a dead letter on any dead-letter
// queue, a parked message, the oldest annotation request's age, the 5xx
// rate, the reconciler finding lost work; all on the alarm topic.
func TestAlarmsCoverWhatOperatorsMustHear(t *testing.T) {
	d := generate(t, stack.Options{})
	alarms := d.ofType("AWS::CloudWatch::Alarm")
	dead := 0
	for id, a := range alarms {
		if a["Condition"] == "UseSeedPolicies" {
			continue
		}
		p := a["Properties"].(map[string]any)
		if js(p["AlarmActions"]) != `[{"Ref":"AlarmTopic"}]` {
			t.Errorf("alarm %s notifies %s", id, js(p["AlarmActions"]))
		}
		if strings.HasPrefix(id, "DeadLetters") && p["MetricName"] == "ApproximateNumberOfMessagesVisible" && p["Threshold"] == 0.0 &&
			p["ComparisonOperator"] == "GreaterThanThreshold" {
			dead++
		}
	}
	if want := len(message.DefaultTopology().Queues); dead != want {
		t.Errorf("%d dead-letter alarms, want one per dead-letter queue (%d)", dead, want)
	}
	parked := js(d.resource(t, "ParkedAlarm"))
	if !strings.Contains(parked, `{"Fn::Sub":"${Prefix}`+message.QueueParked+`"}`) || !strings.Contains(parked, `"Threshold":0`) ||
		!strings.Contains(parked, "ApproximateNumberOfMessagesVisible") {
		t.Errorf("parked alarm: %s", parked)
	}
	findings := js(d.resource(t, "ReconcilerFindingsAlarm"))
	if !strings.Contains(findings, `"MetricName":"gas_reconcile_findings"`) || !strings.Contains(findings, `"Namespace":"`+stack.MetricNamespace+`"`) ||
		!strings.Contains(findings, `"Value":"`+message.RoleReconciler+`"`) || !strings.Contains(findings, `"EvaluationPeriods":3`) {
		t.Errorf("reconciler findings alarm: %s", findings)
	}
	oldest := js(d.resource(t, "OldestRequestAlarm"))
	if !strings.Contains(oldest, "ApproximateAgeOfOldestMessage") || !strings.Contains(oldest, `{"Fn::Sub":"${Prefix}annotate"}`) ||
		!strings.Contains(oldest, `"Threshold":{"Ref":"OldestRequestAlarmSeconds"}`) {
		t.Errorf("oldest request alarm: %s", oldest)
	}
	errs := js(d.resource(t, "ServerErrorsAlarm"))
	for _, m := range []string{"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount", `"Threshold":5`} {
		if !strings.Contains(errs, m) {
			t.Errorf("5xx alarm lacks %s: %s", m, errs)
		}
	}
}

// TestLoadBalancerKeepsMetricsPrivate: HTTPS with a certificate and HTTP
// redirected to it, plain HTTP without one; /metrics answered 404 on every
// listener that forwards; health checks on /readyz.
func TestLoadBalancerKeepsMetricsPrivate(t *testing.T) {
	d := generate(t, stack.Options{})
	if c := d.resource(t, "HttpsListener")["Condition"]; c != "HasCertificate" {
		t.Errorf("HTTPS listener condition %v", c)
	}
	redirect := js(d.resource(t, "HttpRedirectListener"))
	if !strings.Contains(redirect, `"Protocol":"HTTPS"`) || !strings.Contains(redirect, `"StatusCode":"HTTP_301"`) ||
		!strings.Contains(redirect, `"Condition":"HasCertificate"`) {
		t.Errorf("HTTP redirect: %s", redirect)
	}
	for _, l := range []string{"HttpsListener", "HttpListener"} {
		rule := js(d.resource(t, l+"HidesMetrics"))
		if !strings.Contains(rule, `"/metrics"`) || !strings.Contains(rule, `"StatusCode":"404"`) || !strings.Contains(rule, `"Ref":"`+l+`"`) {
			t.Errorf("%s does not hide /metrics: %s", l, rule)
		}
	}
	if p := d.props(t, "WebTargetGroup"); p["HealthCheckPath"] != "/readyz" || p["Port"] != float64(stack.WebPort) {
		t.Errorf("target group: %s", js(p))
	}
}

// TestPoliciesFollowTheTopology: each role may consume exactly the queues
// the topology gives it, and no policy grants a wildcard action.
func TestPoliciesFollowTheTopology(t *testing.T) {
	d := generate(t, stack.Options{})
	top := message.DefaultTopology()
	for _, role := range stack.Roles() {
		doc := js(d.props(t, stack.RoleID(role))["Policies"])
		if strings.Contains(doc, `:*"`) && !strings.Contains(doc, `"sns:ListTopics"`) || strings.Contains(doc, `"*:`) {
			t.Errorf("%s has a wildcard action: %s", role, doc)
		}
		for _, q := range top.Reconciler.Sends {
			sends := strings.Contains(doc, `"sqs:SendMessage"],"Effect":"Allow","Resource":[`) &&
				strings.Contains(doc, `${AWS::AccountId}:${Prefix}`+q+`"}`)
			if role == top.Reconciler.Role && !sends {
				t.Errorf("the reconciler may not send to %s: %s", q, doc)
			}
		}
		for _, p := range top.Reconciler.Publishes {
			if role == top.Reconciler.Role && !strings.Contains(doc, `${AWS::AccountId}:${Prefix}`+p+`"}`) {
				t.Errorf("the reconciler may not publish to %s: %s", p, doc)
			}
		}
		for _, q := range top.Queues {
			receives := strings.Contains(doc, `"sqs:ReceiveMessage","sqs:DeleteMessage","sqs:ChangeMessageVisibility","sqs:GetQueueAttributes","sqs:SendMessage"],"Effect":"Allow","Resource":[{"Fn::Sub":"arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Prefix}`+q.Name+`"}]`)
			if receives != (q.Consumer == role) {
				t.Errorf("%s consumes %s: %v, topology says %s", role, q.Name, receives, q.Consumer)
			}
		}
	}
}
