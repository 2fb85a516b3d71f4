package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
	"github.com/awslabs/goformation/v7/cloudformation/sns"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"

	"github.com/gasproject/gas/adapters/aws/resources"
)

// Logical ids of the data resources, from their names.
func bucketID(name string) string { return logicalID("Bucket", baseOf(name)) }
func tableID(name string) string  { return logicalID("Table", baseOf(name)) }
func topicID(name string) string  { return logicalID("Topic", baseOf(name)) }
func queueID(q resources.Queue) string {
	if q.IsDeadLetter() {
		return logicalID("DeadLetterQueue", q.Base)
	}
	return logicalID("Queue", q.Base)
}

// data declares what resources.Describe lists, as bootstrap creates it.
// Buckets and tables are retained when the stack goes (gas aws destroy
// deletes them only when told).
func (b *builder) data() error {
	for _, t := range b.d.Topics {
		b.topic(t)
	}
	for _, q := range b.d.Queues {
		b.queue(q)
	}
	for _, bk := range b.d.Buckets {
		b.bucket(bk)
	}
	for _, t := range b.d.Tables {
		b.table(t)
	}
	return nil
}

func (b *builder) topic(t resources.Topic) {
	id := topicID(t.Name)
	b.t.Resources[id] = &sns.Topic{TopicName: aws.String(named(t.Name))}
	for _, q := range t.Subscribers {
		qid := logicalID("Queue", baseOf(q))
		b.t.Resources[logicalID("Subscription", baseOf(t.Name)+"-"+baseOf(q))] = &sns.Subscription{
			TopicArn: ref(id), Protocol: "sqs", Endpoint: aws.String(getAtt(qid, "Arn")), RawMessageDelivery: aws.Bool(true),
		}
	}
	if t.ColdStorage {
		archive := sub("arn:${AWS::Partition}:s3:::" + b.names.ArchiveBucket)
		b.t.Resources[id+"Policy"] = &sns.TopicPolicy{Topics: []string{ref(id)},
			PolicyDocument: resources.ColdStorageTopicPolicy(ref(id), archive, ref("AWS::AccountId"))}
	}
}

func (b *builder) queue(q resources.Queue) {
	id := queueID(q)
	r := &sqs.Queue{
		QueueName:              aws.String(named(q.Name)),
		MessageRetentionPeriod: aws.Int(int(q.Retention.Seconds())),
	}
	if q.Visibility > 0 {
		r.VisibilityTimeout = aws.Int(int(q.Visibility.Seconds()))
	}
	if q.DeadLetter != "" {
		r.ReceiveMessageWaitTimeSeconds = aws.Int(0)
		r.RedrivePolicy = map[string]any{
			"deadLetterTargetArn": getAtt(logicalID("DeadLetterQueue", q.Base), "Arn"),
			"maxReceiveCount":     q.MaxReceives,
		}
	}
	b.t.Resources[id] = r
	if len(q.FedBy) == 0 {
		return
	}
	var topics []string
	for _, t := range q.FedBy {
		topics = append(topics, ref(topicID(t)))
	}
	b.t.Resources[id+"Policy"] = &sqs.QueuePolicy{Queues: []string{ref(id)},
		PolicyDocument: resources.QueuePolicy(getAtt(id, "Arn"), topics)}
}

func (b *builder) bucket(bk resources.Bucket) {
	id := bucketID(bk.Name)
	r := &s3.Bucket{
		BucketName: aws.String(named(bk.Name)),
		PublicAccessBlockConfiguration: &s3.Bucket_PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
		LifecycleConfiguration: &s3.Bucket_LifecycleConfiguration{Rules: []s3.Bucket_Rule{{
			Id: aws.String(resources.AbortUploadsRuleID), Status: "Enabled",
			AbortIncompleteMultipartUpload: &s3.Bucket_AbortIncompleteMultipartUpload{DaysAfterInitiation: int(bk.AbortUploadsAfterDays)},
		}}},
		AWSCloudFormationDeletionPolicy:      policies.DeletionPolicy("Retain"),
		AWSCloudFormationUpdateReplacePolicy: policies.UpdateReplacePolicy("Retain"),
	}
	if bk.RestoreEventsTopic != "" {
		topic := topicID(bk.RestoreEventsTopic)
		r.NotificationConfiguration = &s3.Bucket_NotificationConfiguration{TopicConfigurations: []s3.Bucket_TopicConfiguration{{
			Event: "s3:ObjectRestore:Completed", Topic: ref(topic),
		}}}
		r.AWSCloudFormationDependsOn = []string{topic + "Policy"} // S3 checks it may publish
	}
	b.t.Resources[id] = r
	if bk.Name == b.names.InputsBucket {
		// Expiry is a parameter: CloudFormation needs the rule's days as
		// a number, and goformation's int field cannot hold a Ref.
		b.patch(id, "LifecycleConfiguration", map[string]any{"Rules": []any{
			map[string]any{"Id": resources.AbortUploadsRuleID, "Status": "Enabled",
				"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": bk.AbortUploadsAfterDays}},
			raw(ifc(condExpireInputs, map[string]any{"Id": resources.ExpireRuleID, "Status": "Enabled",
				"ExpirationInDays": raw(ref(ParamInputRetention))}, raw(noValue))),
		}})
	}
}

func (b *builder) table(t resources.Table) {
	s := t.Spec
	r := &dynamodb.Table{
		TableName:   aws.String(named(t.Name())),
		BillingMode: aws.String(string(s.BillingMode)),
		PointInTimeRecoverySpecification: &dynamodb.Table_PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: aws.Bool(t.PointInTimeRecovery)},
		AWSCloudFormationDeletionPolicy:      policies.DeletionPolicy("Retain"),
		AWSCloudFormationUpdateReplacePolicy: policies.UpdateReplacePolicy("Retain"),
	}
	for _, a := range s.AttributeDefinitions {
		r.AttributeDefinitions = append(r.AttributeDefinitions, dynamodb.Table_AttributeDefinition{
			AttributeName: aws.ToString(a.AttributeName), AttributeType: string(a.AttributeType)})
	}
	for _, k := range s.KeySchema {
		r.KeySchema = append(r.KeySchema, dynamodb.Table_KeySchema{AttributeName: aws.ToString(k.AttributeName), KeyType: string(k.KeyType)})
	}
	for _, g := range s.GlobalSecondaryIndexes {
		idx := dynamodb.Table_GlobalSecondaryIndex{IndexName: aws.ToString(g.IndexName),
			Projection: &dynamodb.Table_Projection{ProjectionType: aws.String(string(g.Projection.ProjectionType)),
				NonKeyAttributes: g.Projection.NonKeyAttributes}}
		for _, k := range g.KeySchema {
			idx.KeySchema = append(idx.KeySchema, dynamodb.Table_KeySchema{AttributeName: aws.ToString(k.AttributeName), KeyType: string(k.KeyType)})
		}
		r.GlobalSecondaryIndexes = append(r.GlobalSecondaryIndexes, idx)
	}
	if t.TTLAttribute != "" {
		r.TimeToLiveSpecification = &dynamodb.Table_TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: true}
	}
	b.t.Resources[tableID(t.Name())] = r
}
