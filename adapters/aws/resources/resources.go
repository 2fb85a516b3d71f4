// Package resources describes, once, every AWS resource a GAS deployment
// is made of: its buckets and their rules, its DynamoDB tables with their
// keys, indexes and time to live, and the message topology's queues,
// dead-letter queues, topics, subscriptions and the policies that let
// them talk. `gas aws bootstrap` creates the description through the
// service APIs and `gas aws template` declares it in CloudFormation, so
// the two cannot drift: a renamed queue or a new table changes both.
package resources

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/ports/message"
)

// Deployment is the whole description.
type Deployment struct {
	Buckets []Bucket
	Tables  []Table
	// Queues lists every queue, each dead-letter queue before the queue
	// that dead-letters into it, and last the parked queue.
	Queues []Queue
	Topics []Topic
}

// Bucket is one S3 bucket. Nothing in GAS is public: every bucket blocks
// public access, and browsers reach objects through presigned requests.
type Bucket struct {
	Name string
	// Purpose says what the bucket holds, for documentation and outputs.
	Purpose string
	// AbortUploadsAfterDays aborts multipart uploads left unfinished (a
	// worker killed mid-upload), which would cost money forever.
	AbortUploadsAfterDays int32
	// ExpireAfterDays deletes objects this long after they were written
	// (0: keep).
	ExpireAfterDays int32
	// RestoreEventsTopic, when set, is the SNS topic told when a restore
	// of a GLACIER-class object completes (s3:ObjectRestore:Completed).
	RestoreEventsTopic string
}

// Table is one DynamoDB table.
type Table struct {
	// Spec is the table as CreateTable takes it: name, keys, indexes,
	// billing (dynamostore's, the adapter that reads and writes it).
	Spec *dynamodb.CreateTableInput
	// TTLAttribute, when set, is the attribute whose epoch seconds expire
	// an item (DynamoDB time to live).
	TTLAttribute string
	// PointInTimeRecovery keeps 35 days of continuous backups: the stores
	// are the truth (ARCHITECTURE.md, Convergence) and cannot be
	// re-derived from anything else.
	PointInTimeRecovery bool
}

// Name is the table's name.
func (t Table) Name() string { return *t.Spec.TableName }

// Queue is one SQS queue.
type Queue struct {
	Name string
	// Base is the topology's name of the queue ("annotate"); for a
	// dead-letter queue, the base name of the queue it serves.
	Base string
	// DeadLetter is the name of the queue's dead-letter queue; "" for a
	// dead-letter queue itself and for the parked queue.
	DeadLetter  string
	MaxReceives int
	// Parked marks the queue where dead letters whose redrives are spent
	// are kept for operators (message.Topology.Parked): consumed by
	// nothing, never dead-lettered.
	Parked bool
	// Visibility is the queue's default visibility timeout (0: SQS's).
	Visibility time.Duration
	Retention  time.Duration
	// FedBy are the SNS names of the topics allowed to send to the queue.
	FedBy []string
}

// IsDeadLetter reports whether q is a dead-letter queue.
func (q Queue) IsDeadLetter() bool { return q.DeadLetter == "" && !q.Parked }

// HoldsFailures reports whether every message on q is one that failed (a
// dead letter, or a parked one): operators hear of any.
func (q Queue) HoldsFailures() bool { return q.DeadLetter == "" }

// Topic is one SNS topic and the queues it delivers to.
type Topic struct {
	Name string
	Base string
	// Subscribers are SQS names; delivery is raw (the message body as
	// published, no SNS envelope).
	Subscribers []string
	// ColdStorage marks the topic S3 (restore completions of the archive
	// bucket) and Glacier (vault retrieval jobs) publish to.
	ColdStorage bool
}

// Retention keeps a message, and above all a dead letter, as long as SQS
// allows (14 days), long enough to be looked at.
const Retention = 14 * 24 * time.Hour

// AbortUploadsAfterDays is when unfinished multipart uploads are aborted.
const AbortUploadsAfterDays = 1

// Describe is the deployment c names.
func Describe(c awsconfig.Config) Deployment {
	n := c.Names
	t := c.Topology()
	d := Deployment{}
	cold := ""
	if p, ok := t.ColdStorageTopic(); ok {
		cold = n.Topic(p.Name)
	}
	d.Buckets = []Bucket{
		{Name: n.InputsBucket, Purpose: "uploaded inputs", AbortUploadsAfterDays: AbortUploadsAfterDays,
			ExpireAfterDays: int32(c.InputRetentionDays)},
		{Name: n.ResultsBucket, Purpose: "results", AbortUploadsAfterDays: AbortUploadsAfterDays},
		{Name: n.ArchiveBucket, Purpose: "GLACIER-class archives", AbortUploadsAfterDays: AbortUploadsAfterDays,
			RestoreEventsTopic: cold},
	}
	d.Tables = []Table{
		{Spec: dynamostore.JobsTableSpec(n.JobsTable), PointInTimeRecovery: true},
		{Spec: dynamostore.UsersTableSpec(n.UsersTable), PointInTimeRecovery: true},
		{Spec: dynamostore.TokensTableSpec(n.TokensTable), PointInTimeRecovery: true},
		// Sessions are re-created by signing in again: no backups. Ended
		// ones expire (the store also refuses them itself, since TTL
		// deletion lags by up to a couple of days).
		{Spec: dynamostore.SessionsTableSpec(n.SessionsTable), TTLAttribute: dynamostore.SessionTTLAttribute},
	}
	for _, q := range t.Queues {
		name := n.Queue(q.Name)
		dlq := message.DeadLetterName(name)
		d.Queues = append(d.Queues,
			Queue{Name: dlq, Base: q.Name, Retention: Retention, Visibility: q.Visibility},
			Queue{Name: name, Base: q.Name, DeadLetter: dlq, MaxReceives: q.MaxReceives, Visibility: q.Visibility,
				Retention: Retention, FedBy: topicNames(n, t.Feeders(q.Name))})
	}
	d.Queues = append(d.Queues, Queue{Name: n.Queue(t.Parked), Base: t.Parked, Parked: true, Retention: Retention})
	for _, p := range t.Topics {
		tp := Topic{Name: n.Topic(p.Name), Base: p.Name, ColdStorage: p.ColdStorage}
		for _, s := range p.Subscribers {
			tp.Subscribers = append(tp.Subscribers, n.Queue(s))
		}
		d.Topics = append(d.Topics, tp)
	}
	return d
}

func topicNames(n awsconfig.Names, ps []message.TopicSpec) []string {
	var out []string
	for _, p := range ps {
		out = append(out, n.Topic(p.Name))
	}
	return out
}

// Queue returns the queue called name.
func (d Deployment) Queue(name string) (Queue, bool) {
	for _, q := range d.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// Identifiers of the buckets' rules and notifications, so a rerun
// replaces them instead of adding more.
const (
	AbortUploadsRuleID = "gas-abort-incomplete-uploads"
	ExpireRuleID       = "gas-expire-inputs"
	RestoreEventsID    = "gas-restore-completed"
)
