package message

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Topic and queue names of the topology. They are base names: local mode
// uses them as they are, a deployment on AWS prefixes them (awsconfig).
const (
	TopicJobResults         = "job-results"
	TopicThawRequests       = "thaw-requests"
	TopicRestoreCompletions = "restore-completions"

	QueueAnnotate = "annotate"
	QueueNotify   = "notify"
	QueueThaw     = "thaw"
	QueueRestore  = "restore"
	QueueArchive  = "archive"

	// QueueParked holds the dead letters whose redrives are spent (see
	// Topology.Parked).
	QueueParked = "parked"
)

// Roles that consume queues: each is a binary on AWS (apps/<role>) and a
// set of workers in local mode, which plays them all.
const (
	RoleAnnotator = "annotator"
	RoleArchiver  = "archiver"
	RoleThawer    = "thawer"
	RoleRestorer  = "restorer"
	RoleNotifier  = "notifier"
	// RoleReconciler consumes no queue: it scans the stores and re-issues
	// the messages a failure lost (Topology.Reconciler).
	RoleReconciler = "reconciler"
)

// DefaultMaxReceives is how often a message is delivered before it goes to
// its queue's dead-letter queue.
const DefaultMaxReceives = 5

// DefaultVisibility is twice the default job lease (domain.DefaultPolicy),
// the visibility the workers use unless configured otherwise.
const DefaultVisibility = 4 * time.Minute

// QueueSpec is one work queue: what it carries, who consumes it and how it
// dead-letters.
type QueueSpec struct {
	Name string
	// Purpose says what the queue holds, in a few words for documentation
	// ("annotation requests").
	Purpose string
	// Carries lists the kinds of message sent or delivered to the queue;
	// anything else on it is a routing mistake.
	Carries []Kind
	// Consumer is the role whose worker receives from the queue.
	Consumer string
	// DeadLetterConsumer is the role that drains the queue's dead-letter
	// queue (DeadLetterName).
	DeadLetterConsumer string
	// MaxReceives is how often a message is delivered before it goes to
	// the dead-letter queue.
	MaxReceives int
	// Visibility is the queue's default visibility timeout: what a receive
	// naming none gets. Workers pass their own on every receive.
	Visibility time.Duration
	// Fair marks a queue whose messages are sent straight to it in their
	// user's message group (Body.Group), so one user's backlog cannot
	// hold up the others: SQS serves it as a fair queue, the annotator's
	// dispatcher round-robin. No topic may feed it, since SNS does not
	// reliably carry the group on to a standard queue.
	Fair bool
}

// DeadLetter is the name of the queue's dead-letter queue.
func (q QueueSpec) DeadLetter() string { return DeadLetterName(q.Name) }

// DeadLetterName is the name of queue's dead-letter queue, whatever prefix
// the queue's name carries.
func DeadLetterName(queue string) string { return queue + "-dlq" }

// TopicSpec is one topic and the queues it fans out to.
type TopicSpec struct {
	Name    string
	Purpose string
	Carries []Kind
	// Subscribers are the queues every publication is delivered to.
	Subscribers []string
	// ColdStorage marks the topic that cold storage itself publishes to
	// (S3 restore events, Glacier job notifications): its subscribers'
	// adapters translate those notices into Kind RestoreCompleted.
	ColdStorage bool
}

// Topology is the whole message topology: topics, the queues they feed, and
// queues that only take direct (delayed) sends. It is the one definition
// local mode, every AWS role and `gas aws bootstrap` derive from.
type Topology struct {
	Topics []TopicSpec
	Queues []QueueSpec
	// Parked is the queue where a dead-letter handler puts a message whose
	// redrives are spent, with the reason: kept for operators (14 days on
	// AWS), counted in /metrics and alarmed, consumed by nothing. The
	// reconciler repairs the jobs such messages were about from the stores.
	Parked string
	// Reconciler is who re-derives lost messages from the stores, and
	// where it may send them.
	Reconciler ReconcilerSpec
}

// ReconcilerSpec is the reconciler's place in the topology: the role that
// runs it (local mode runs it too), the topics it publishes to and the
// queues it sends to directly when it re-issues a lost message, and the
// queues whose depth it reads. A deployment grants it exactly these.
type ReconcilerSpec struct {
	Role      string
	Publishes []string
	Sends     []string
	Watches   []string
}

// DefaultTopology is GAS's topology (ARCHITECTURE.md, Messages). The
// annotate queue takes only direct sends: an annotation request carries
// its user's id as the message group (ports.Outgoing.Group), which makes
// it a fair queue on SQS, and SNS does not reliably pass a message group
// on to a standard queue (its FIFO guide says it never does; its Publish
// reference says standard topics now do), while a topic with one
// subscriber adds nothing to a direct send. The archive queue takes only
// direct sends too (delayed archive requests); the restore queue takes
// completion notices and the polling fallback's scheduled checks.
func DefaultTopology() Topology {
	queue := func(name, purpose, consumer string, kinds ...Kind) QueueSpec {
		return QueueSpec{Name: name, Purpose: purpose, Carries: kinds, Consumer: consumer,
			DeadLetterConsumer: RoleNotifier, MaxReceives: DefaultMaxReceives, Visibility: DefaultVisibility}
	}
	annotate := queue(QueueAnnotate, "annotation requests", RoleAnnotator, KindJobRequest)
	annotate.Fair = true
	return Topology{
		Topics: []TopicSpec{
			{Name: TopicJobResults, Purpose: "job results", Carries: []Kind{KindJobResult}, Subscribers: []string{QueueNotify}},
			{Name: TopicThawRequests, Purpose: "thaw requests", Carries: []Kind{KindThaw}, Subscribers: []string{QueueThaw}},
			{Name: TopicRestoreCompletions, Purpose: "restore completions", Carries: []Kind{KindRestore},
				Subscribers: []string{QueueRestore}, ColdStorage: true},
		},
		Queues: []QueueSpec{
			annotate,
			queue(QueueNotify, "job results to e-mail", RoleNotifier, KindJobResult),
			queue(QueueThaw, "thaw-user requests", RoleThawer, KindThaw),
			queue(QueueRestore, "restore completions and checks", RoleRestorer, KindRestore),
			queue(QueueArchive, "delayed archive requests", RoleArchiver, KindArchive),
		},
		Parked: QueueParked,
		Reconciler: ReconcilerSpec{
			Role:      RoleReconciler,
			Publishes: []string{TopicJobResults, TopicThawRequests, TopicRestoreCompletions},
			Sends:     []string{QueueAnnotate, QueueArchive},
			Watches:   []string{QueueAnnotate},
		},
	}
}

// Queue returns the queue called name.
func (t Topology) Queue(name string) (QueueSpec, bool) {
	i := slices.IndexFunc(t.Queues, func(q QueueSpec) bool { return q.Name == name })
	if i < 0 {
		return QueueSpec{}, false
	}
	return t.Queues[i], true
}

// Topic returns the topic called name.
func (t Topology) Topic(name string) (TopicSpec, bool) {
	i := slices.IndexFunc(t.Topics, func(p TopicSpec) bool { return p.Name == name })
	if i < 0 {
		return TopicSpec{}, false
	}
	return t.Topics[i], true
}

// Feeders are the topics that deliver to queue.
func (t Topology) Feeders(queue string) []TopicSpec {
	var out []TopicSpec
	for _, p := range t.Topics {
		if slices.Contains(p.Subscribers, queue) {
			out = append(out, p)
		}
	}
	return out
}

// ColdStorageTopic is the topic cold storage publishes its notices to.
func (t Topology) ColdStorageTopic() (TopicSpec, bool) {
	i := slices.IndexFunc(t.Topics, func(p TopicSpec) bool { return p.ColdStorage })
	if i < 0 {
		return TopicSpec{}, false
	}
	return t.Topics[i], true
}

// TakesColdStorageNotices reports whether queue receives cold storage's own
// notices, which its adapter must translate.
func (t Topology) TakesColdStorageNotices(queue string) bool {
	return slices.ContainsFunc(t.Feeders(queue), func(p TopicSpec) bool { return p.ColdStorage })
}

// WithMaxReceives is t with every queue dead-lettering after n deliveries;
// n <= 0 keeps each queue's own.
func (t Topology) WithMaxReceives(n int) Topology {
	if n <= 0 {
		return t
	}
	qs := slices.Clone(t.Queues)
	for i := range qs {
		qs[i].MaxReceives = n
	}
	t.Queues = qs
	return t
}

// Validate checks that the topology holds together: names are unique,
// every subscriber exists and carries what its topics publish, every queue
// has a consumer and a sane redrive.
func (t Topology) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, q := range t.Queues {
		if q.Name == "" || seen[q.Name] {
			errs = append(errs, fmt.Errorf("queue %q: empty or duplicate name", q.Name))
		}
		seen[q.Name] = true
		if q.Consumer == "" || q.DeadLetterConsumer == "" || len(q.Carries) == 0 {
			errs = append(errs, fmt.Errorf("queue %q: needs a consumer, a dead-letter consumer and the kinds it carries", q.Name))
		}
		if q.MaxReceives < 1 || q.MaxReceives > 1000 || q.Visibility < 0 || q.Visibility > 12*time.Hour {
			errs = append(errs, fmt.Errorf("queue %q: max receives %d (1..1000) or visibility %s (0..12h) out of range", q.Name, q.MaxReceives, q.Visibility))
		}
	}
	if t.Parked == "" || seen[t.Parked] {
		errs = append(errs, fmt.Errorf("parked queue %q: empty or duplicate name", t.Parked))
	}
	seen[t.Parked] = true
	for _, p := range t.Topics {
		if p.Name == "" || seen[p.Name] {
			errs = append(errs, fmt.Errorf("topic %q: empty or duplicate name", p.Name))
		}
		seen[p.Name] = true
		for _, s := range p.Subscribers {
			q, ok := t.Queue(s)
			if !ok {
				errs = append(errs, fmt.Errorf("topic %q: subscriber %q is not a queue", p.Name, s))
				continue
			}
			if q.Fair {
				errs = append(errs, fmt.Errorf("topic %q feeds the fair queue %q, whose message groups it would drop", p.Name, s))
			}
			for _, k := range p.Carries {
				if !slices.Contains(q.Carries, k) {
					errs = append(errs, fmt.Errorf("topic %q publishes %s, which its subscriber %q does not carry", p.Name, k, s))
				}
			}
		}
	}
	return errors.Join(append(errs, t.validateReconciler())...)
}

// validateReconciler checks that the reconciler has a role and sends only
// to topics and queues of the topology.
func (t Topology) validateReconciler() error {
	var errs []error
	r := t.Reconciler
	if r.Role == "" {
		errs = append(errs, errors.New("reconciler: needs a role"))
	}
	for _, name := range r.Publishes {
		if _, ok := t.Topic(name); !ok {
			errs = append(errs, fmt.Errorf("reconciler publishes to %q, which is not a topic", name))
		}
	}
	for _, name := range slices.Concat(r.Sends, r.Watches) {
		if _, ok := t.Queue(name); !ok {
			errs = append(errs, fmt.Errorf("reconciler sends to or watches %q, which is not a queue", name))
		}
	}
	return errors.Join(errs...)
}
