package sqsqueue_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
	"github.com/gasproject/gas/ports/message"
)

// newQueue creates a queue and its dead-letter queue with the redrive
// policy bootstrap uses, on the test server.
func newQueue(t *testing.T, maxReceives int, now func() time.Time) (*sqsqueue.Queue, *sqsqueue.Queue) {
	t.Helper()
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	name := env.Config.Names.Queue(message.QueueAnnotate)
	dlq, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := env.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	redrive, _ := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": strconv.Itoa(maxReceives),
	})
	if _, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(name), Attributes: map[string]string{"RedrivePolicy": string(redrive)},
	}); err != nil {
		t.Fatal(err)
	}
	q, err := sqsqueue.Open(ctx, env.Clients.SQS, name, now)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sqsqueue.New(env.Clients.SQS, *dlq.QueueUrl, now)
	if err != nil {
		t.Fatal(err)
	}
	return q, d
}

var sqsClient *sqs.Client

func clientOf(t *testing.T) *sqs.Client {
	if sqsClient == nil {
		sqsClient = awstest.New(t).Clients.SQS
	}
	return sqsClient
}

func TestQueueContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestQueue(t, func(t *testing.T, maxReceives int) contract.QueueFixture {
		q, d := newQueue(t, maxReceives, nil)
		return contract.QueueFixture{Queue: q, DeadLetters: d, Sleep: time.Sleep}
	})
}

// TestDelayBeyondSQSLimit: a delay longer than SQS's 15 minutes is sent
// as 15 minutes plus a due time; a copy delivered early hops (re-sent hidden
// for the time left) instead of reaching the worker.
func TestDelayBeyondSQSLimit(t *testing.T) {
	q, _ := newQueue(t, 5, nil)
	ctx := awstest.Ctx(t)
	if err := q.Send(ctx, ports.Outgoing{Body: []byte("archive j0"), Delay: 40 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if st, err := q.Stats(ctx); err != nil || st.Delayed != 1 {
		t.Fatalf("stats %+v, %v; want one delayed", st, err)
	}
	// What SQS hands out after its 15 minutes of a 40-minute delay: the
	// message with a due time still ahead (here 2 s, to keep the test short).
	due := time.Now().Add(2 * time.Second)
	if _, err := clientOf(t).SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL()), MessageBody: aws.String("archive j1"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"GasNotBefore": {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(due.UnixMilli(), 10))},
		},
	}); err != nil {
		t.Fatal(err)
	}
	ms, err := q.Receive(ctx, 10, time.Minute, 0)
	if err != nil || len(ms) != 0 {
		t.Fatalf("early copy delivered: %v, %v", ms, err)
	}
	ms, err = q.Receive(ctx, 10, time.Minute, 6*time.Second)
	if err != nil || len(ms) != 1 || string(ms[0].Body) != "archive j1" {
		t.Fatalf("after the due time got %v, %v", ms, err)
	}
	if time.Now().Before(due) {
		t.Fatalf("delivered %s before due", due.Sub(time.Now()))
	}
}

// TestShortPollOnBootstrappedQueue: a receive with wait 0 on a queue made
// by bootstrap returns at once (a queue-level default wait would make it a
// 20 s long poll, since the SDK omits a zero WaitTimeSeconds).
func TestShortPollOnBootstrappedQueue(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	q, err := sqsqueue.Open(ctx, env.Clients.SQS, env.Config.Names.Queue(message.QueueAnnotate), nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ms, err := q.Receive(ctx, 10, time.Minute, 0)
	if err != nil || len(ms) != 0 {
		t.Fatalf("short poll of an empty queue: %v, %v", ms, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("short poll took %s", took)
	}
}
