// Package bootstrap creates, idempotently, every AWS resource a GAS
// deployment needs: buckets with lifecycle rules and restore-event
// notifications, DynamoDB tables with their indexes, and the message
// topology (message.DefaultTopology): SQS queues with dead-letter queues,
// SNS topics with raw-delivery subscriptions. Running it
// again converges instead of failing or duplicating, so a new deployment and
// every test use the same code.
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/ports/message"
)

// Result is what bootstrap found or made, for logs and for callers (tests)
// that need the ARNs and URLs without resolving them again.
type Result struct {
	QueueURLs map[string]string // queue name (including "-dlq") -> URL
	QueueARNs map[string]string // queue name -> ARN
	TopicARNs map[string]string // topic name -> ARN
	// Subscriptions counts subscriptions created by this run (0 on a rerun).
	Subscriptions int
	// Created lists resources made by this run, "kind name" (empty on a rerun).
	Created []string
}

// Run makes the deployment c exist. It is safe to run repeatedly and
// concurrently with running roles: every step is create-if-absent or a
// put of the whole desired configuration.
func Run(ctx context.Context, cl *awsconfig.Clients, c awsconfig.Config, log *slog.Logger) (*Result, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := &run{cl: cl, c: c, log: log, res: &Result{
		QueueURLs: map[string]string{}, QueueARNs: map[string]string{}, TopicARNs: map[string]string{},
	}}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"topics", b.topics},
		{"queues", b.queues},
		{"subscriptions", b.subscriptions},
		{"buckets", b.buckets},
		{"tables", b.tables},
		{"vault", b.vault},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return b.res, fmt.Errorf("bootstrap %s: %w", s.name, err)
		}
	}
	return b.res, nil
}

type run struct {
	cl  *awsconfig.Clients
	c   awsconfig.Config
	log *slog.Logger
	res *Result
}

func (b *run) created(kind, name string) {
	b.res.Created = append(b.res.Created, kind+" "+name)
	b.log.Info("created", "kind", kind, "name", name)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (b *run) topics(ctx context.Context) error {
	existing := map[string]string{}
	p := sns.NewListTopicsPaginator(b.cl.SNS, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		for _, t := range page.Topics {
			arn := aws.ToString(t.TopicArn)
			existing[arn[strings.LastIndex(arn, ":")+1:]] = arn
		}
	}
	for _, p := range b.c.Topology().Topics {
		name := b.c.Names.Topic(p.Name)
		if arn, ok := existing[name]; ok {
			b.res.TopicARNs[name] = arn
			continue
		}
		out, err := b.cl.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if err != nil {
			return fmt.Errorf("create topic %s: %w", name, err)
		}
		b.res.TopicARNs[name] = aws.ToString(out.TopicArn)
		b.created("topic", name)
	}
	// S3 restore events and Glacier vault job notifications publish to the
	// cold-storage topic; it must let those services in.
	restore := b.coldStorageTopic()
	arn := b.res.TopicARNs[restore]
	// Both are pinned to this account (aws:SourceAccount, the owner of the
	// topic): bucket names are global, and without it any account's vault
	// could publish fake restore completions to the topic.
	account := accountOf(arn)
	policy := policyDoc(arn, "SNS:Publish", []principal{
		{service: "s3.amazonaws.com", sourceArn: "arn:aws:s3:::" + b.c.Names.ArchiveBucket, sourceAccount: account},
		{service: "glacier.amazonaws.com", sourceAccount: account},
	})
	if _, err := b.cl.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{
		TopicArn: aws.String(arn), AttributeName: aws.String("Policy"), AttributeValue: aws.String(policy),
	}); err != nil {
		return fmt.Errorf("set policy of topic %s: %w", restore, err)
	}
	return nil
}

// coldStorageTopic is the SNS name of the topic cold storage notifies.
func (b *run) coldStorageTopic() string {
	p, _ := b.c.Topology().ColdStorageTopic() // Config.Validate checked the topology
	return b.c.Names.Topic(p.Name)
}

type principal struct{ service, sourceArn, sourceAccount string }

// accountOf is the account id in an ARN (arn:aws:sns:region:account:name).
func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// policyDoc allows each principal to perform action on resource; a
// sourceArn condition pins which bucket or topic may do it, and a
// sourceAccount condition which account it must belong to.
func policyDoc(resource, action string, ps []principal) string {
	type statement struct {
		Sid       string         `json:"Sid"`
		Effect    string         `json:"Effect"`
		Principal map[string]any `json:"Principal"`
		Action    string         `json:"Action"`
		Resource  string         `json:"Resource"`
		Condition map[string]any `json:"Condition,omitempty"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{Version: "2012-10-17"}
	for i, p := range ps {
		s := statement{Sid: "gas" + strconv.Itoa(i), Effect: "Allow", Principal: map[string]any{"Service": p.service},
			Action: action, Resource: resource}
		cond := map[string]any{}
		if p.sourceArn != "" {
			cond["ArnLike"] = map[string]string{"aws:SourceArn": p.sourceArn}
		}
		if p.sourceAccount != "" {
			cond["StringEquals"] = map[string]string{"aws:SourceAccount": p.sourceAccount}
		}
		if len(cond) > 0 {
			s.Condition = cond
		}
		doc.Statement = append(doc.Statement, s)
	}
	out, _ := json.Marshal(doc) // plain structs of strings: cannot fail
	return string(out)
}

func (b *run) queue(ctx context.Context, name string, attrs map[string]string) error {
	urlOut, err := b.cl.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	var url string
	switch {
	case err == nil:
		url = aws.ToString(urlOut.QueueUrl)
	case errorCode(err) == "AWS.SimpleQueueService.NonExistentQueue" || errorCode(err) == "QueueDoesNotExist":
		out, err := b.cl.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("create queue %s: %w", name, err)
		}
		url = aws.ToString(out.QueueUrl)
		b.created("queue", name)
	default:
		return fmt.Errorf("look up queue %s: %w", name, err)
	}
	if len(attrs) > 0 {
		if _, err := b.cl.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs}); err != nil {
			return fmt.Errorf("configure queue %s: %w", name, err)
		}
	}
	a, err := b.cl.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("read ARN of queue %s: %w", name, err)
	}
	b.res.QueueURLs[name] = url
	b.res.QueueARNs[name] = a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	return nil
}

// retentionSeconds (14 days, the SQS maximum) keeps a dead letter long
// enough to be looked at. Queues keep SQS's default receive wait of 0: the
// SDK omits a zero WaitTimeSeconds, so a queue default would turn every
// short poll into a long one; the adapter passes its long-poll wait on
// each receive instead.
const retentionSeconds = 14 * 24 * 3600

func (b *run) queues(ctx context.Context) error {
	t := b.c.Topology()
	for _, q := range t.Queues {
		name := b.c.Names.Queue(q.Name)
		dlq := message.DeadLetterName(name)
		if err := b.queue(ctx, dlq, map[string]string{
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(retentionSeconds),
		}); err != nil {
			return err
		}
		redrive, _ := json.Marshal(map[string]string{
			"deadLetterTargetArn": b.res.QueueARNs[dlq],
			"maxReceiveCount":     strconv.Itoa(q.MaxReceives),
		})
		attrs := map[string]string{
			string(sqstypes.QueueAttributeNameRedrivePolicy):                 string(redrive),
			string(sqstypes.QueueAttributeNameMessageRetentionPeriod):        strconv.Itoa(retentionSeconds),
			string(sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds): "0",
			string(sqstypes.QueueAttributeNameVisibilityTimeout):             strconv.Itoa(int(q.Visibility.Seconds())),
		}
		if err := b.queue(ctx, name, attrs); err != nil {
			return err
		}
		if err := b.allowTopics(ctx, name, t.Feeders(q.Name)); err != nil {
			return err
		}
	}
	return b.queue(ctx, b.c.Names.Queue(t.Parked), map[string]string{
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(retentionSeconds),
	})
}

// allowTopics lets the topics feeding queue send to it.
func (b *run) allowTopics(ctx context.Context, queue string, feeders []message.TopicSpec) error {
	if len(feeders) == 0 {
		return nil
	}
	var ps []principal
	for _, p := range feeders {
		ps = append(ps, principal{service: "sns.amazonaws.com", sourceArn: b.res.TopicARNs[b.c.Names.Topic(p.Name)]})
	}
	policy := policyDoc(b.res.QueueARNs[queue], "sqs:SendMessage", ps)
	if _, err := b.cl.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
		QueueUrl:   aws.String(b.res.QueueURLs[queue]),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNamePolicy): policy},
	}); err != nil {
		return fmt.Errorf("set policy of queue %s: %w", queue, err)
	}
	return nil
}

func (b *run) subscriptions(ctx context.Context) error {
	for _, p := range b.c.Topology().Topics {
		for _, sub := range p.Subscribers {
			if err := b.subscribe(ctx, b.c.Names.Topic(p.Name), b.c.Names.Queue(sub)); err != nil {
				return err
			}
		}
	}
	return nil
}

// subscribe delivers topic to queue raw, once.
func (b *run) subscribe(ctx context.Context, topic, q string) error {
	topicARN, queueARN := b.res.TopicARNs[topic], b.res.QueueARNs[q]
	var subARN string
	p := sns.NewListSubscriptionsByTopicPaginator(b.cl.SNS, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)})
	for p.HasMorePages() && subARN == "" {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list subscriptions of %s: %w", topic, err)
		}
		for _, s := range page.Subscriptions {
			if aws.ToString(s.Protocol) == "sqs" && aws.ToString(s.Endpoint) == queueARN {
				subARN = aws.ToString(s.SubscriptionArn)
			}
		}
	}
	if subARN == "" {
		if _, err := b.cl.SNS.Subscribe(ctx, &sns.SubscribeInput{
			TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN),
			Attributes:            map[string]string{"RawMessageDelivery": "true"},
			ReturnSubscriptionArn: true,
		}); err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", q, topic, err)
		}
		b.res.Subscriptions++
		b.created("subscription", topic+"->"+q)
		return nil
	}
	// An existing subscription may predate raw delivery: converge.
	if _, err := b.cl.SNS.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{
		SubscriptionArn: aws.String(subARN), AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true"),
	}); err != nil {
		return fmt.Errorf("set raw delivery on %s: %w", subARN, err)
	}
	return nil
}

func (b *run) bucket(ctx context.Context, name string) error {
	// us-east-1 answers CreateBucket on an owned bucket with success, so
	// only HEAD tells whether this run made it.
	if _, err := b.cl.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err == nil {
		return b.blockPublic(ctx, name)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if b.c.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(b.c.Region),
		}
	}
	_, err := b.cl.S3.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	switch {
	case err == nil:
		b.created("bucket", name)
	case errors.As(err, &owned):
	default:
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b.blockPublic(ctx, name)
}

func (b *run) blockPublic(ctx context.Context, name string) error {
	// Nothing in GAS is public: uploads and downloads use presigned requests.
	if _, err := b.cl.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(name),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		return fmt.Errorf("block public access to %s: %w", name, err)
	}
	return nil
}

func (b *run) buckets(ctx context.Context) error {
	n := b.c.Names
	for _, name := range n.Buckets() {
		if err := b.bucket(ctx, name); err != nil {
			return err
		}
	}
	// Abandoned multipart uploads (a worker killed mid-upload) cost money
	// forever unless a rule aborts them.
	abort := s3types.LifecycleRule{
		ID: aws.String("gas-abort-incomplete-uploads"), Status: s3types.ExpirationStatusEnabled,
		Filter:                         &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
		AbortIncompleteMultipartUpload: &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(1)},
	}
	rules := map[string][]s3types.LifecycleRule{
		n.InputsBucket:  {abort},
		n.ResultsBucket: {abort},
		n.ArchiveBucket: {abort},
	}
	if d := b.c.InputRetentionDays; d > 0 {
		rules[n.InputsBucket] = append(rules[n.InputsBucket], s3types.LifecycleRule{
			ID: aws.String("gas-expire-inputs"), Status: s3types.ExpirationStatusEnabled,
			Filter:     &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
			Expiration: &s3types.LifecycleExpiration{Days: aws.Int32(int32(d))},
		})
	}
	for _, name := range n.Buckets() {
		if _, err := b.cl.S3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
			Bucket:                 aws.String(name),
			LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: rules[name]},
		}); err != nil {
			return fmt.Errorf("set lifecycle of %s: %w", name, err)
		}
	}
	// Restore completions of GLACIER-class archives are announced on the
	// restore-completions topic; the restorer also polls, because an
	// event can be late or (on moto) only emitted on the next read.
	if _, err := b.cl.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{
		Bucket: aws.String(n.ArchiveBucket),
		NotificationConfiguration: &s3types.NotificationConfiguration{
			TopicConfigurations: []s3types.TopicConfiguration{{
				Id:       aws.String("gas-restore-completed"),
				TopicArn: aws.String(b.res.TopicARNs[b.coldStorageTopic()]),
				Events:   []s3types.Event{s3types.EventS3ObjectRestoreCompleted},
			}},
		},
	}); err != nil {
		return fmt.Errorf("set restore notifications of %s: %w", n.ArchiveBucket, err)
	}
	return nil
}

func (b *run) tables(ctx context.Context) error {
	for _, spec := range []*dynamodb.CreateTableInput{
		dynamostore.JobsTableSpec(b.c.Names.JobsTable),
		dynamostore.UsersTableSpec(b.c.Names.UsersTable),
		dynamostore.TokensTableSpec(b.c.Names.TokensTable),
		dynamostore.SessionsTableSpec(b.c.Names.SessionsTable),
	} {
		name := aws.ToString(spec.TableName)
		_, err := b.cl.DynamoDB.CreateTable(ctx, spec)
		var inUse *ddbtypes.ResourceInUseException
		switch {
		case err == nil:
			b.created("table", name)
		case errors.As(err, &inUse):
		default:
			return fmt.Errorf("create table %s: %w", name, err)
		}
		w := dynamodb.NewTableExistsWaiter(b.cl.DynamoDB, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 200 * time.Millisecond
			o.MaxDelay = 5 * time.Second
		})
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
	}
	return b.sessionsExpire(ctx)
}

// sessionsExpire turns on DynamoDB's time to live for the sessions table,
// so ended sessions do not accumulate (the store also refuses expired
// ones itself: TTL deletion lags by up to a couple of days).
func (b *run) sessionsExpire(ctx context.Context) error {
	name := b.c.Names.SessionsTable
	out, err := b.cl.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("time to live of %s: %w", name, err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == dynamostore.SessionTTLAttribute &&
		(d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		return nil
	}
	if _, err := b.cl.DynamoDB.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{
			AttributeName: aws.String(dynamostore.SessionTTLAttribute), Enabled: aws.Bool(true),
		},
	}); err != nil {
		return fmt.Errorf("turn on time to live of %s: %w", name, err)
	}
	b.created("time to live", name+"."+dynamostore.SessionTTLAttribute)
	return nil
}

// vault creates the Glacier vault only when the deployment uses vaults:
// AWS refuses new vault customers, so an S3-Glacier deployment must not
// depend on the API.
func (b *run) vault(ctx context.Context) error {
	if b.c.ColdStorage != awsconfig.ColdVault {
		return nil
	}
	// CreateVault is idempotent in Glacier.
	if _, err := b.cl.Glacier.CreateVault(ctx, &glacier.CreateVaultInput{VaultName: aws.String(b.c.Names.Vault)}); err != nil {
		return fmt.Errorf("create vault %s: %w", b.c.Names.Vault, err)
	}
	return nil
}
