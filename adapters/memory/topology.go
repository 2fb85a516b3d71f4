package memory

import (
	"fmt"

	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// OpenTopology makes topology t in memory, wired as on AWS: each queue with
// its own dead-letter queue after the queue's MaxReceives deliveries, each
// topic fanning out to its subscribers. Local mode and tests build it once
// and hand its parts to the services and workers.
func OpenTopology(t message.Topology, clock ports.Clock, opts ...QueueOption) (*message.Bus, error) {
	return message.Open(t, opener{clock: clock, opts: opts})
}

// opener is message.Opener on memory queues and topics.
type opener struct {
	clock ports.Clock
	opts  []QueueOption
}

func (o opener) DeadLetterQueue(q message.QueueSpec) (ports.Queue, error) {
	return NewQueue(q.DeadLetter(), o.clock, o.opts...)
}

func (o opener) Queue(q message.QueueSpec, deadLetter ports.Queue) (ports.Queue, error) {
	dlq, ok := deadLetter.(*Queue)
	if !ok {
		return nil, fmt.Errorf("queue %s: dead-letter queue %T is not a memory queue", q.Name, deadLetter)
	}
	opts := append(append([]QueueOption(nil), o.opts...), WithDeadLetter(dlq, q.MaxReceives))
	return NewQueue(q.Name, o.clock, opts...)
}

func (o opener) Topic(p message.TopicSpec, subscribers []ports.Queue) (ports.Publisher, error) {
	return NewTopic(p.Name, subscribers...)
}

func (o opener) Parked(name string) (ports.Queue, error) { return NewQueue(name, o.clock, o.opts...) }
