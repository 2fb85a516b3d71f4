package snstopic_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/snstopic"
	"github.com/gasproject/gas/adapters/aws/sqsqueue"
	"github.com/gasproject/gas/ports/contract"
	"github.com/gasproject/gas/ports/message"
)

// TestFanOutRawDelivery publishes to each topic of a bootstrapped
// deployment and receives exactly the published body on its queue.
func TestFanOutRawDelivery(t *testing.T) {
	env, _ := awstest.Deployment(t)
	ctx := awstest.Ctx(t)
	n := env.Config.Names
	for _, spec := range env.Config.Topology().Topics {
		topic, queue := n.Topic(spec.Name), n.Queue(spec.Subscribers[0])
		p, err := snstopic.Open(ctx, env.Clients.SNS, topic)
		if err != nil {
			t.Fatal(err)
		}
		q, err := sqsqueue.Open(ctx, env.Clients.SQS, queue, nil)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"kind":"job-request","job_id":"j-` + topic + `","note":"ü"}`
		if err := p.Publish(ctx, []byte(body)); err != nil {
			t.Fatal(err)
		}
		var got []string
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			ms, err := q.Receive(ctx, 10, time.Minute, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				// The archive bucket's notification setup drops an s3:TestEvent
				// into the cold-storage topic; it is not ours.
				if string(m.Body) != body && spec.ColdStorage {
					continue
				}
				got = append(got, string(m.Body))
			}
			if len(got) > 0 {
				break
			}
		}
		if len(got) != 1 || got[0] != body {
			t.Fatalf("%s -> %s delivered %q, want exactly the raw body %q", topic, queue, got, body)
		}
	}
	if _, err := snstopic.Open(ctx, env.Clients.SNS, "no-such-topic-"+awstest.Unique()); err == nil {
		t.Fatal("opened a missing topic")
	}
}

// TestPublisherContract: a fresh topic with n fresh queues subscribed with
// raw delivery, as bootstrap subscribes them.
func TestPublisherContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestPublisher(t, func(t *testing.T, subscribers int) contract.PublisherFixture {
		env := awstest.New(t)
		ctx := awstest.Ctx(t)
		topic, err := env.Clients.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(env.Config.Names.Topic(message.TopicJobResults))})
		if err != nil {
			t.Fatal(err)
		}
		p, err := snstopic.New(env.Clients.SNS, aws.ToString(topic.TopicArn))
		if err != nil {
			t.Fatal(err)
		}
		fx := contract.PublisherFixture{Publisher: p}
		for i := range subscribers {
			name := fmt.Sprintf("%s-%d", env.Config.Names.Queue(message.QueueNotify), i)
			q, err := env.Clients.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			a, err := env.Clients.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Clients.SNS.Subscribe(ctx, &sns.SubscribeInput{
				TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(a.Attributes["QueueArn"]),
				Attributes: map[string]string{"RawMessageDelivery": "true"},
			}); err != nil {
				t.Fatal(err)
			}
			sq, err := sqsqueue.New(env.Clients.SQS, aws.ToString(q.QueueUrl), nil)
			if err != nil {
				t.Fatal(err)
			}
			fx.Subscribers = append(fx.Subscribers, sq)
		}
		return fx
	})
}
