// Package snstopic implements ports.Publisher on Amazon SNS. Topics fan out
// to SQS queues through raw-delivery subscriptions (made by `gas aws
// bootstrap`), so a queue receives exactly the published body and each role
// scales and fails on its own queue.
package snstopic

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/gasproject/gas/ports"
)

// MaxMessageSize is SNS's limit on a message body.
const MaxMessageSize = 256 * 1024

// API is the part of the SNS client the publisher uses.
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, opts ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
}

// Topic publishes to one SNS topic.
type Topic struct {
	api API
	arn string
}

var _ ports.Publisher = (*Topic)(nil)

// New publishes to the topic with arn.
func New(api API, arn string) (*Topic, error) {
	if api == nil || !strings.HasPrefix(arn, "arn:") {
		return nil, fmt.Errorf("sns topic: a client and a topic ARN are required, got %q", arn)
	}
	return &Topic{api: api, arn: arn}, nil
}

// ErrNoSuchTopic is returned by Open when no topic has the name.
var ErrNoSuchTopic = errors.New("no such SNS topic")

// Open finds the topic called name (or takes name as an ARN), so roles are
// configured with names alone and never need the account id.
func Open(ctx context.Context, api API, name string) (*Topic, error) {
	if strings.HasPrefix(name, "arn:") {
		return New(api, name)
	}
	p := sns.NewListTopicsPaginator(api, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("open topic %s: %w", name, err)
		}
		for _, t := range page.Topics {
			if arn := aws.ToString(t.TopicArn); strings.HasSuffix(arn, ":"+name) {
				return New(api, arn)
			}
		}
	}
	return nil, fmt.Errorf("open topic %s: %w", name, ErrNoSuchTopic)
}

// ARN names the topic.
func (t *Topic) ARN() string { return t.arn }

// Publish sends body (UTF-8 text, such as GAS's JSON messages) to every
// subscribed queue.
func (t *Topic) Publish(ctx context.Context, body []byte) error {
	if !utf8.Valid(body) || len(body) == 0 || len(body) > MaxMessageSize {
		return fmt.Errorf("publish to %s: body must be 1..%d bytes of UTF-8", t.arn, MaxMessageSize)
	}
	if _, err := t.api.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(t.arn), Message: aws.String(string(body))}); err != nil {
		return fmt.Errorf("publish to %s: %w", t.arn, err)
	}
	return nil
}
