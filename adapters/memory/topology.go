package memory

import (
	"fmt"

	"github.com/gasproject/gas/ports"
)

// Queue and topic names of GAS's message topology (contract.md), the same
// in memory and on AWS so logs and metrics read alike.
const (
	TopicJobRequests        = "job-requests"
	TopicJobResults         = "job-results"
	TopicThawRequests       = "thaw-requests"
	TopicRestoreCompletions = "restore-completions"

	QueueAnnotate = "annotate"
	QueueNotify   = "notify"
	QueueThaw     = "thaw"
	QueueRestore  = "restore"
	QueueArchive  = "archive"
)

// DefaultMaxReceives is how often a message is delivered before it goes to
// its dead-letter queue.
const DefaultMaxReceives = 5

// Topology is the whole local message topology wired as on AWS: each topic
// fans out to its queue, each queue has its own dead-letter queue, and the
// archive and restore queues also take direct (delayed) sends. Local mode
// builds it once and hands its parts to the workers.
type Topology struct {
	JobRequests, JobResults, ThawRequests, RestoreCompletions *Topic
	Annotate, Notify, Thaw, Restore, Archive                  *Queue
	// DeadLetters holds each queue's dead-letter queue, by queue name.
	DeadLetters map[string]*Queue
}

// NewTopology builds the topology on clock with dead-lettering after
// maxReceives deliveries (DefaultMaxReceives when 0).
func NewTopology(clock ports.Clock, maxReceives int, opts ...QueueOption) (*Topology, error) {
	if maxReceives == 0 {
		maxReceives = DefaultMaxReceives
	}
	t := &Topology{DeadLetters: map[string]*Queue{}}
	queue := func(name string) (*Queue, error) {
		dlq, err := NewQueue(name+"-dlq", clock, opts...)
		if err != nil {
			return nil, err
		}
		q, err := NewQueue(name, clock, append(append([]QueueOption(nil), opts...), WithDeadLetter(dlq, maxReceives))...)
		if err != nil {
			return nil, err
		}
		t.DeadLetters[name] = dlq
		return q, nil
	}
	var err error
	for _, q := range []struct {
		name string
		dst  **Queue
	}{{QueueAnnotate, &t.Annotate}, {QueueNotify, &t.Notify}, {QueueThaw, &t.Thaw}, {QueueRestore, &t.Restore}, {QueueArchive, &t.Archive}} {
		if *q.dst, err = queue(q.name); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
	}
	for _, tp := range []struct {
		name string
		dst  **Topic
		sub  *Queue
	}{{TopicJobRequests, &t.JobRequests, t.Annotate}, {TopicJobResults, &t.JobResults, t.Notify},
		{TopicThawRequests, &t.ThawRequests, t.Thaw}, {TopicRestoreCompletions, &t.RestoreCompletions, t.Restore}} {
		if *tp.dst, err = NewTopic(tp.name, tp.sub); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
	}
	return t, nil
}
