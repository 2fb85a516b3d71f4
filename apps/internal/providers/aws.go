package providers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/adapters/aws/mail"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/adapters/aws/snstopic"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// newAWSClients builds the SDK clients with opts, and a cleanup that
// closes their idle connections.
func newAWSClients(ctx context.Context, c awsconfig.Config, opts ...awsconfig.Option) (*awsconfig.Clients, func(), error) {
	cl, err := awsconfig.NewClients(ctx, c, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("aws clients: %w", err)
	}
	cleanup := func() {
		switch hc := cl.SDK.HTTPClient.(type) {
		case *awshttp.BuildableClient:
			hc.GetTransport().CloseIdleConnections()
		case *http.Client:
			hc.CloseIdleConnections()
		}
	}
	return cl, cleanup, nil
}

// AWSJobStore is the DynamoDB jobs table.
func AWSJobStore(cl *awsconfig.Clients, c awsconfig.Config) (ports.JobStore, error) {
	return dynamostore.NewJobStore(cl.DynamoDB, c.Names.JobsTable)
}

// AWSUserStore is the DynamoDB users table.
func AWSUserStore(cl *awsconfig.Clients, c awsconfig.Config) (ports.UserStore, error) {
	return dynamostore.NewUserStore(cl.DynamoDB, c.Names.UsersTable)
}

// AWSTokenStore is the DynamoDB API-tokens table, so tokens survive
// restarts and every web server behind the load balancer accepts them.
func AWSTokenStore(cl *awsconfig.Clients, c awsconfig.Config) (ports.TokenStore, error) {
	return dynamostore.NewTokenStore(cl.DynamoDB, c.Names.TokensTable)
}

// AWSSessionStore is the DynamoDB sessions table: every web server sees a
// sign-out at once, and DynamoDB's TTL removes expired sessions.
func AWSSessionStore(cl *awsconfig.Clients, c awsconfig.Config) (ports.SessionStore, error) {
	return dynamostore.NewSessionStore(cl.DynamoDB, c.Names.SessionsTable)
}

// AWSObjectStore is one ports.ObjectStore over the inputs and results
// buckets: keys under the input prefix go to the inputs bucket (with its
// own lifecycle rules), everything else to the results bucket.
func AWSObjectStore(cl *awsconfig.Clients, c awsconfig.Config, s Settings) (ports.ObjectStore, error) {
	return s3store.New(cl.S3, s3store.Options{
		Bucket: c.Names.ResultsBucket,
		Routes: map[string]string{s.withDefaults().InputPrefix: c.Names.InputsBucket},
	})
}

// AWSArchive is the configured cold storage: GLACIER-class objects in the
// archive bucket (default) or a Glacier vault whose retrieval jobs notify
// the topology's cold-storage topic.
func AWSArchive(ctx context.Context, cl *awsconfig.Clients, c awsconfig.Config) (ports.Archive, error) {
	switch c.ColdStorage {
	case awsconfig.ColdVault:
		cold, _ := c.Topology().ColdStorageTopic()
		topic, err := snstopic.Open(ctx, cl.SNS, c.Names.Topic(cold.Name))
		if err != nil {
			return nil, fmt.Errorf("vault archive: %w", err)
		}
		return coldstore.NewVault(cl.Glacier, c.Names.Vault, topic.ARN(), "")
	default:
		return coldstore.NewS3Glacier(cl.S3, c.Names.ArchiveBucket, 0)
	}
}

// AWSMailer is SES v2 or, with GAS_MAILER=smtp, an SMTP relay.
func AWSMailer(cl *awsconfig.Clients, c awsconfig.Config) (ports.Mailer, error) {
	if c.Mailer == awsconfig.MailerSMTP {
		return mail.NewSMTP(c.SMTP.Addr, c.MailFrom, c.SMTP.Username, c.SMTP.Password)
	}
	return mail.NewSES(cl.SES, c.MailFrom)
}

// AWSMessages resolves every queue URL and topic ARN of the deployment's
// topology (a missing resource fails the role at start, not on the first
// message). Queues fed by cold storage are wrapped so its notices arrive as
// GAS restore messages. Long queue delays are timed with clock.
func AWSMessages(ctx context.Context, cl *awsconfig.Clients, c awsconfig.Config, clock ports.Clock, s Settings) (*message.Bus, error) {
	t := c.Topology()
	bus, err := message.Open(t, awsOpener{ctx: ctx, cl: cl, names: c.Names, topology: t, clock: clock,
		archivePrefix: s.withDefaults().ArchivePrefix})
	if err != nil {
		return nil, fmt.Errorf("aws messaging: %w", err)
	}
	return bus, nil
}

// awsOpener is message.Opener on SQS and SNS resources bootstrap made.
type awsOpener struct {
	ctx           context.Context
	cl            *awsconfig.Clients
	names         awsconfig.Names
	topology      message.Topology
	clock         ports.Clock
	archivePrefix string
}

// DeadLetterQueue opens q's dead-letter queue. A queue fed by cold storage
// dead-letters its raw S3 and Glacier notices too, so its dead-letter
// queue is wrapped in the same translator: otherwise the handler would
// drop them as malformed and the restore they announced would be lost.
func (o awsOpener) DeadLetterQueue(q message.QueueSpec) (ports.Queue, error) {
	name := message.DeadLetterName(o.names.Queue(q.Name))
	dead, err := sqsqueue.Open(o.ctx, o.cl.SQS, name, o.clock.Now)
	if err != nil || !o.topology.TakesColdStorageNotices(q.Name) {
		return dead, err
	}
	return coldstore.NewNoticeQueue(dead, o.archivePrefix, slog.Default().With("queue", name))
}

func (o awsOpener) Queue(q message.QueueSpec, _ ports.Queue) (ports.Queue, error) {
	name := o.names.Queue(q.Name)
	work, err := sqsqueue.Open(o.ctx, o.cl.SQS, name, o.clock.Now)
	if err != nil || !o.topology.TakesColdStorageNotices(q.Name) {
		return work, err
	}
	return coldstore.NewNoticeQueue(work, o.archivePrefix, slog.Default().With("queue", name))
}

func (o awsOpener) Parked(name string) (ports.Queue, error) {
	return sqsqueue.Open(o.ctx, o.cl.SQS, o.names.Queue(name), o.clock.Now)
}

func (o awsOpener) Topic(p message.TopicSpec, _ []ports.Queue) (ports.Publisher, error) {
	return snstopic.Open(o.ctx, o.cl.SNS, o.names.Topic(p.Name))
}
