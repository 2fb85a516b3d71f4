// Package sqsqueue implements ports.Queue on Amazon SQS: long polling,
// visibility timeouts extended while a long job runs, a receive count on
// every delivery, dead-lettering by the queue's redrive policy, and delays
// of any length (SQS allows 15 minutes; longer ones hop until due).
package sqsqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/ports"
)

// SQS limits.
const (
	// MaxDelay is the longest DelaySeconds SQS accepts.
	MaxDelay = 900 * time.Second
	// MaxBatch is the most messages one ReceiveMessage returns.
	MaxBatch = 10
	// MaxWait is the longest single long poll.
	MaxWait = 20 * time.Second
	// MaxVisibility is the longest visibility timeout (12 hours).
	MaxVisibility = 12 * time.Hour
)

// notBeforeAttr carries the due time (Unix milliseconds) of a message sent
// with a delay longer than MaxDelay; Receive sends it on again, hidden for
// the time still left, until it is due.
const notBeforeAttr = "GasNotBefore"

// API is the part of the SQS client the queue uses.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// Queue is one SQS queue as a ports.Queue.
type Queue struct {
	api API
	url string
	now func() time.Time
}

var _ ports.Queue = (*Queue)(nil)

// New uses the queue at url. now is the clock for long delays (nil: time.Now).
func New(api API, url string, now func() time.Time) (*Queue, error) {
	if api == nil || url == "" {
		return nil, errors.New("sqs queue: client and queue URL are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Queue{api: api, url: url, now: now}, nil
}

// Open finds the queue called name (created by `gas aws bootstrap`).
func Open(ctx context.Context, api API, name string, now func() time.Time) (*Queue, error) {
	out, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", name, err)
	}
	return New(api, aws.ToString(out.QueueUrl), now)
}

// URL is the queue's URL, for logs and metrics labels.
func (q *Queue) URL() string { return q.url }

// seconds rounds d up to whole seconds within [0, limit], SQS's unit.
func seconds(d, limit time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	d = min(d, limit)
	return int32(math.Ceil(d.Seconds()))
}

// Send enqueues m.Body, invisible until m.Delay has passed. m.Group is the
// message's MessageGroupId, which makes a standard queue a fair queue: SQS
// then serves the other groups first while one group holds more than its
// share of the messages in flight.
func (q *Queue) Send(ctx context.Context, m ports.Outgoing) error {
	delay := m.Delay
	in := &sqs.SendMessageInput{
		QueueUrl: aws.String(q.url), MessageBody: aws.String(string(m.Body)),
		DelaySeconds: seconds(delay, MaxDelay), MessageGroupId: groupID(m.Group),
	}
	if delay > MaxDelay {
		due := q.now().Add(delay).UnixMilli()
		in.MessageAttributes = map[string]types.MessageAttributeValue{
			notBeforeAttr: {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(due, 10))},
		}
	}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send to %s: %w", q.url, err)
	}
	return nil
}

// Receive long-polls up to wait for at most limit messages (at most 10 per
// call, SQS's limit), hiding each for visibility. Waits beyond SQS's 20 s
// are served by polling again until wait has passed or ctx ends.
func (q *Queue) Receive(ctx context.Context, limit int, visibility, wait time.Duration) ([]ports.Message, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("receive from %s: max %d must be positive", q.url, limit)
	}
	deadline := q.now().Add(wait)
	for {
		left := deadline.Sub(q.now())
		out, err := q.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(q.url),
			MaxNumberOfMessages: int32(min(limit, MaxBatch)),
			VisibilityTimeout:   seconds(visibility, MaxVisibility),
			WaitTimeSeconds:     seconds(left, MaxWait),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{
				types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameMessageGroupId},
			MessageAttributeNames: []string{notBeforeAttr},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("receive from %s: %w", q.url, ctx.Err())
			}
			return nil, fmt.Errorf("receive from %s: %w", q.url, err)
		}
		msgs := make([]ports.Message, 0, len(out.Messages))
		for _, m := range out.Messages {
			if hopped, err := q.hopIfEarly(ctx, m); err != nil {
				return nil, err
			} else if hopped {
				continue
			}
			n, _ := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
			msgs = append(msgs, ports.Message{
				ID: aws.ToString(m.MessageId), Body: []byte(aws.ToString(m.Body)),
				Receipt: aws.ToString(m.ReceiptHandle), Receives: max(n, 1),
				Group: groupOf(m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]),
			})
		}
		if len(msgs) > 0 || !q.now().Before(deadline) {
			return msgs, nil
		}
	}
}

// hopIfEarly re-sends a long-delayed message that is not yet due, hidden
// for the time left (capped at MaxDelay), then deletes this copy. The new
// copy is sent first, so a crash between the two duplicates rather than
// loses it.
func (q *Queue) hopIfEarly(ctx context.Context, m types.Message) (bool, error) {
	attr, ok := m.MessageAttributes[notBeforeAttr]
	if !ok {
		return false, nil
	}
	due, err := strconv.ParseInt(aws.ToString(attr.StringValue), 10, 64)
	if err != nil {
		return false, nil // not ours to interpret: deliver it
	}
	left := time.UnixMilli(due).Sub(q.now())
	if left <= 0 {
		return false, nil
	}
	in := &sqs.SendMessageInput{
		QueueUrl: aws.String(q.url), MessageBody: m.Body, DelaySeconds: seconds(left, MaxDelay),
		MessageAttributes: map[string]types.MessageAttributeValue{notBeforeAttr: attr},
		MessageGroupId:    nonEmpty(m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]),
	}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return false, fmt.Errorf("re-delay message %s on %s: %w", aws.ToString(m.MessageId), q.url, err)
	}
	if err := q.Delete(ctx, aws.ToString(m.ReceiptHandle)); err != nil {
		return false, err
	}
	return true, nil
}

// maxGroupID is the longest MessageGroupId SQS accepts.
const maxGroupID = 128

// groupID is group as a MessageGroupId (nil for none). SQS takes up to 128
// printable ASCII characters; other groups are percent-encoded (groupOf
// decodes them), and one still too long becomes a digest of itself: the
// fairness of its messages holds, only the round trip is lost.
func groupID(group string) *string {
	if group == "" {
		return nil
	}
	var b strings.Builder
	for i := 0; i < len(group); i++ {
		c := group[i]
		if c > ' ' && c < 0x7f && c != '%' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	id := b.String()
	if len(id) > maxGroupID {
		sum := sha256.Sum256([]byte(group))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return aws.String(id)
}

// groupOf is the group a MessageGroupId was made from (groupID).
func groupOf(id string) string {
	if g, err := url.PathUnescape(id); err == nil {
		return g
	}
	return id
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Delete acknowledges a delivery. SQS accepts a receipt of a message that
// is already gone, so acknowledging twice is harmless, as the port requires.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	if _, err := q.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receipt)}); err != nil {
		return fmt.Errorf("delete from %s: %w", q.url, err)
	}
	return nil
}

// ExtendVisibility keeps a delivery hidden for d from now; d = 0 makes it
// visible at once. It fails for a delivery that was deleted or redelivered.
func (q *Queue) ExtendVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if _, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receipt), VisibilityTimeout: seconds(d, MaxVisibility),
	}); err != nil {
		return fmt.Errorf("change visibility on %s (%s): %w", q.url, errorCode(err), err)
	}
	return nil
}

// Stats reports SQS's approximate depths.
func (q *Queue) Stats(ctx context.Context) (ports.QueueStats, error) {
	out, err := q.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return ports.QueueStats{}, fmt.Errorf("stats of %s: %w", q.url, err)
	}
	n := func(a types.QueueAttributeName) int {
		v, _ := strconv.Atoi(out.Attributes[string(a)])
		return v
	}
	return ports.QueueStats{
		Visible:  n(types.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}
