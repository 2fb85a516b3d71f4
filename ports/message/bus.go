package message

import (
	"fmt"

	"github.com/gasproject/gas/ports"
)

// Opener makes or opens the queues and topics of a topology on one
// technology (memory in local mode, SQS and SNS on AWS), so Open can wire
// any of them from the same definition.
type Opener interface {
	// DeadLetterQueue opens q's dead-letter queue.
	DeadLetterQueue(q QueueSpec) (ports.Queue, error)
	// Queue opens q, whose messages go to deadLetter after q.MaxReceives
	// deliveries.
	Queue(q QueueSpec, deadLetter ports.Queue) (ports.Queue, error)
	// Topic opens p, which delivers to subscribers (p.Subscribers, opened).
	Topic(p TopicSpec, subscribers []ports.Queue) (ports.Publisher, error)
	// Parked opens the queue of parked dead letters (Topology.Parked).
	Parked(name string) (ports.Queue, error)
}

// Bus is a topology opened on one technology: every queue, its dead-letter
// queue and every topic, by name. Services and workers take their parts
// from it by the names of this package (QueueAnnotate, TopicJobResults...).
type Bus struct {
	topology    Topology
	queues      map[string]ports.Queue
	deadLetters map[string]ports.Queue
	topics      map[string]ports.Publisher
	parked      ports.Queue
}

// Open validates t and opens all of it through o.
func Open(t Topology, o Opener) (*Bus, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("message topology: %w", err)
	}
	b := &Bus{topology: t, queues: map[string]ports.Queue{}, deadLetters: map[string]ports.Queue{},
		topics: map[string]ports.Publisher{}}
	for _, q := range t.Queues {
		dead, err := o.DeadLetterQueue(q)
		if err != nil {
			return nil, fmt.Errorf("open dead-letter queue of %s: %w", q.Name, err)
		}
		work, err := o.Queue(q, dead)
		if err != nil {
			return nil, fmt.Errorf("open queue %s: %w", q.Name, err)
		}
		b.queues[q.Name], b.deadLetters[q.Name] = work, dead
	}
	for _, p := range t.Topics {
		subs := make([]ports.Queue, len(p.Subscribers))
		for i, s := range p.Subscribers {
			subs[i] = b.queues[s]
		}
		topic, err := o.Topic(p, subs)
		if err != nil {
			return nil, fmt.Errorf("open topic %s: %w", p.Name, err)
		}
		b.topics[p.Name] = topic
	}
	parked, err := o.Parked(t.Parked)
	if err != nil {
		return nil, fmt.Errorf("open parked queue %s: %w", t.Parked, err)
	}
	b.parked = parked
	return b, nil
}

// Topology is the definition the bus was opened from.
func (b *Bus) Topology() Topology { return b.topology }

// Queue is the work queue called name (nil if the topology has none).
func (b *Bus) Queue(name string) ports.Queue { return b.queues[name] }

// DeadLetter is the dead-letter queue of the work queue called name.
func (b *Bus) DeadLetter(name string) ports.Queue { return b.deadLetters[name] }

// Topic is the topic called name (nil if the topology has none).
func (b *Bus) Topic(name string) ports.Publisher { return b.topics[name] }

// Parked is the queue of parked dead letters.
func (b *Bus) Parked() ports.Queue { return b.parked }
