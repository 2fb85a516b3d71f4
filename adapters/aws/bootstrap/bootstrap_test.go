package bootstrap_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/bootstrap"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/ports/message"
)

// TestBootstrapIsIdempotent runs bootstrap twice: the first run creates
// every resource, the second creates nothing and duplicates no
// subscription, and the deployment is wired as ARCHITECTURE.md says.
func TestBootstrapIsIdempotent(t *testing.T) {
	c := awstest.Config(t)
	c.ColdStorage = awsconfig.ColdVault
	env, first := awstest.DeploymentWith(t, c)
	ctx := awstest.Ctx(t)
	n := c.Names
	// 3 buckets, 4 tables and the sessions' time to live, 5 queues + 5
	// DLQs + the parked queue, 3 topics, 3 subscriptions.
	if got, want := len(first.Created), 3+4+1+11+3+3; got != want {
		t.Fatalf("first run created %d resources, want %d: %v", got, want, first.Created)
	}
	second, err := bootstrap.Run(ctx, env.Clients, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if len(second.Created) != 0 || second.Subscriptions != 0 {
		t.Fatalf("second run created %v (%d subscriptions), want nothing", second.Created, second.Subscriptions)
	}
	top := c.Topology()
	for _, p := range top.Topics {
		topic, q := n.Topic(p.Name), n.Queue(p.Subscribers[0])
		subs, err := env.Clients.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(second.TopicARNs[topic])})
		if err != nil {
			t.Fatal(err)
		}
		if len(subs.Subscriptions) != 1 || aws.ToString(subs.Subscriptions[0].Endpoint) != second.QueueARNs[q] {
			t.Fatalf("topic %s subscriptions = %+v, want exactly queue %s", topic, subs.Subscriptions, q)
		}
		attrs, err := env.Clients.SNS.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: subs.Subscriptions[0].SubscriptionArn})
		if err != nil {
			t.Fatal(err)
		}
		if attrs.Attributes["RawMessageDelivery"] != "true" {
			t.Errorf("subscription %s -> %s is not raw delivery: %v", topic, q, attrs.Attributes)
		}
	}
	for _, spec := range top.Queues {
		q := n.Queue(spec.Name)
		a, err := env.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(second.QueueURLs[q]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		var redrive struct {
			Target string `json:"deadLetterTargetArn"`
			Max    any    `json:"maxReceiveCount"`
		}
		if err := json.Unmarshal([]byte(a.Attributes["RedrivePolicy"]), &redrive); err != nil {
			t.Fatalf("queue %s redrive policy %q: %v", q, a.Attributes["RedrivePolicy"], err)
		}
		if redrive.Target != second.QueueARNs[message.DeadLetterName(q)] || fmt.Sprint(redrive.Max) != fmt.Sprint(spec.MaxReceives) {
			t.Errorf("queue %s dead-letters to %s after %v receives, want its DLQ after %d", q, redrive.Target, redrive.Max, spec.MaxReceives)
		}
		if a.Attributes["VisibilityTimeout"] != fmt.Sprint(spec.Visibility.Seconds()) {
			t.Errorf("queue %s visibility timeout = %s s, want %s", q, a.Attributes["VisibilityTimeout"], spec.Visibility)
		}
		if a.Attributes["ReceiveMessageWaitTimeSeconds"] != "0" {
			t.Errorf("queue %s default receive wait = %s s, want 0 (the adapter asks per receive)", q, a.Attributes["ReceiveMessageWaitTimeSeconds"])
		}
	}
	d, err := env.Clients.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(n.JobsTable)})
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]bool{}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		idx[aws.ToString(g.IndexName)] = true
	}
	if !idx[dynamostore.ByOwnerIndex] || !idx[dynamostore.ByOwnerStorageIndex] {
		t.Errorf("jobs table indexes = %v", idx)
	}
	ttl, err := env.Clients.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(n.SessionsTable)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != dynamostore.SessionTTLAttribute || d.TimeToLiveStatus != "ENABLED" {
		t.Errorf("sessions table time to live = %+v, want %s enabled", ttl.TimeToLiveDescription, dynamostore.SessionTTLAttribute)
	}
	for _, b := range n.Buckets() {
		lc, err := env.Clients.S3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatalf("lifecycle of %s: %v", b, err)
		}
		if len(lc.Rules) == 0 || lc.Rules[0].AbortIncompleteMultipartUpload == nil {
			t.Errorf("bucket %s has no abort-incomplete-upload rule: %+v", b, lc.Rules)
		}
	}
	if _, ok := second.QueueURLs[n.Queue(top.Parked)]; !ok {
		t.Errorf("no parked queue %s", n.Queue(top.Parked))
	}
	nc, err := env.Clients.S3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(n.ArchiveBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(nc.TopicConfigurations) != 1 || aws.ToString(nc.TopicConfigurations[0].TopicArn) != second.TopicARNs[n.Topic(message.TopicRestoreCompletions)] {
		t.Errorf("archive bucket notifications = %+v, want restore-completions topic", nc.TopicConfigurations)
	}
}

// TestColdStorageTopicOnlyTakesThisAccount: the restore-completions topic
// lets S3 (from the archive bucket) and Glacier publish, both only on
// behalf of the account that owns the topic (aws:SourceAccount), so no
// other account's bucket or vault can announce restores to GAS.
func TestColdStorageTopicOnlyTakesThisAccount(t *testing.T) {
	c := awstest.Config(t)
	env, res := awstest.DeploymentWith(t, c)
	arn := res.TopicARNs[c.Names.Topic(message.TopicRestoreCompletions)]
	attrs, err := env.Clients.SNS.GetTopicAttributes(awstest.Ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Statement []struct {
			Principal map[string]string
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["Policy"]), &policy); err != nil {
		t.Fatalf("topic policy %q: %v", attrs.Attributes["Policy"], err)
	}
	account := strings.Split(arn, ":")[4]
	services := map[string]bool{}
	for _, s := range policy.Statement {
		svc := s.Principal["Service"]
		services[svc] = true
		if got := s.Condition["StringEquals"]["aws:SourceAccount"]; got != account {
			t.Errorf("%s may publish for source account %q, want only %q", svc, got, account)
		}
		if svc == "s3.amazonaws.com" && s.Condition["ArnLike"]["aws:SourceArn"] != "arn:aws:s3:::"+c.Names.ArchiveBucket {
			t.Errorf("S3 may publish from %q, want only the archive bucket", s.Condition["ArnLike"]["aws:SourceArn"])
		}
	}
	if !services["s3.amazonaws.com"] || !services["glacier.amazonaws.com"] {
		t.Errorf("topic policy lets in %v, want S3 and Glacier", services)
	}
}
