package providers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/google/wire"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/adapters/aws/mail"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/adapters/aws/snstopic"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/ports"
)

// AWSSet provides every port GAS runs on in AWS, from an awsconfig.Config
// (read from the environment by AWSConfigFromEnv, or provided by a test).
// It needs a context.Context and a ports.Clock from the injector (and
// ports.IDs, ports.Billing from elsewhere). Queues and topics come as the
// shared *Messaging bundle, so ServicesSet builds the services on AWS as in
// local mode.
var AWSSet = wire.NewSet(
	AWSClients,
	AWSJobStore,
	AWSUserStore,
	AWSTokenStore,
	AWSObjectStore,
	AWSArchive,
	AWSMailer,
	AWSMessages,
)

// AWSEnvSet is AWSSet with the configuration read from the environment.
var AWSEnvSet = wire.NewSet(AWSConfigFromEnv, AWSSet)

// AWSConfigFromEnv reads GAS_AWS_* and related variables (see
// awsconfig.Variables for the table).
func AWSConfigFromEnv() (awsconfig.Config, error) {
	return awsconfig.FromEnv(os.Getenv)
}

// AWSClients builds the SDK clients. The cleanup closes their idle
// connections.
func AWSClients(ctx context.Context, c awsconfig.Config) (*awsconfig.Clients, func(), error) {
	return newAWSClients(ctx, c)
}

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

// InputPrefix is the default key prefix of uploaded inputs
// (jobs.Config.InputPrefix, Settings.InputPrefix); the AWS object store
// routes it to the inputs bucket.
const InputPrefix = "inputs/"

// AWSObjectStore is one ports.ObjectStore over the inputs and results
// buckets: keys under InputPrefix go to the inputs bucket (with its own
// lifecycle rules), everything else to the results bucket. The concrete
// *s3store.Store also has PutLimited for the streaming upload path.
func AWSObjectStore(cl *awsconfig.Clients, c awsconfig.Config) (ports.ObjectStore, error) {
	return s3store.New(cl.S3, s3store.Options{
		Bucket: c.Names.ResultsBucket,
		Routes: map[string]string{InputPrefix: c.Names.InputsBucket},
	})
}

// AWSArchive is the configured cold storage: GLACIER-class objects in the
// archive bucket (default) or a Glacier vault whose retrieval jobs notify
// the restore-completions topic.
func AWSArchive(ctx context.Context, cl *awsconfig.Clients, c awsconfig.Config) (ports.Archive, error) {
	switch c.ColdStorage {
	case awsconfig.ColdVault:
		topic, err := snstopic.Open(ctx, cl.SNS, c.Names.RestoreCompletionsTopic)
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

// AWSMessages resolves every queue URL and topic ARN of c into the shared
// Messaging bundle (a missing resource fails the role at start, not on the
// first message). The restore queue is wrapped so cold-storage
// notifications arrive as GAS restore messages. Long queue delays are
// timed with clock.
func AWSMessages(ctx context.Context, cl *awsconfig.Clients, c awsconfig.Config, clock ports.Clock) (*Messaging, error) {
	n := c.Names
	m := &Messaging{Queues: Queues{DeadLetters: map[ports.Queue]ports.Queue{}}}
	open := func(name string) (*sqsqueue.Queue, error) {
		q, err := sqsqueue.Open(ctx, cl.SQS, name, clock.Now)
		if err != nil {
			return nil, fmt.Errorf("aws messaging: %w", err)
		}
		return q, nil
	}
	for _, q := range []struct {
		name string
		dst  *ports.Queue
	}{
		{n.AnnotateQueue, &m.Queues.Annotate}, {n.NotifyQueue, &m.Queues.Notify}, {n.ThawQueue, &m.Queues.Thaw},
		{n.RestoreQueue, &m.Queues.Restore}, {n.ArchiveQueue, &m.Queues.Archive},
	} {
		work, err := open(q.name)
		if err != nil {
			return nil, err
		}
		dead, err := open(awsconfig.DeadLetterName(q.name))
		if err != nil {
			return nil, err
		}
		*q.dst = work
		if q.name == n.RestoreQueue {
			nq, err := coldstore.NewNoticeQueue(work, coldstore.JobFromKeyPath, slog.Default().With("queue", q.name))
			if err != nil {
				return nil, fmt.Errorf("aws messaging: %w", err)
			}
			*q.dst = nq
		}
		m.Queues.DeadLetters[*q.dst] = dead
	}
	for _, t := range []struct {
		name string
		dst  *ports.Publisher
	}{
		{n.JobRequestsTopic, &m.Topics.JobRequests}, {n.JobResultsTopic, &m.Topics.JobResults},
		{n.ThawRequestsTopic, &m.Topics.ThawRequests}, {n.RestoreCompletionsTopic, &m.Topics.RestoreCompletions},
	} {
		topic, err := snstopic.Open(ctx, cl.SNS, t.name)
		if err != nil {
			return nil, fmt.Errorf("aws messaging: %w", err)
		}
		*t.dst = topic
	}
	return m, nil
}

// DescribeAWS is a one-line summary of c for the start-up log.
func DescribeAWS(c awsconfig.Config) string {
	ep := c.Endpoint
	if ep == "" {
		ep = "aws"
	}
	return strings.Join([]string{"region=" + c.Region, "endpoint=" + ep, "prefix=" + c.Prefix, "cold=" + c.ColdStorage, "mailer=" + c.Mailer}, " ")
}
