package message

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func TestDefaultTopologyHoldsTogether(t *testing.T) {
	top := DefaultTopology()
	if err := top.Validate(); err != nil {
		t.Fatal(err)
	}
	// Every kind a worker can be sent is carried by exactly one queue, so
	// a message has one home and one consumer.
	for _, k := range []Kind{KindJobRequest, KindJobResult, KindArchive, KindThaw, KindRestore} {
		var homes []string
		for _, q := range top.Queues {
			if slices.Contains(q.Carries, k) {
				homes = append(homes, q.Name)
			}
		}
		if len(homes) != 1 {
			t.Errorf("kind %s is carried by %v, want one queue", k, homes)
		}
	}
	if p, ok := top.ColdStorageTopic(); !ok || p.Name != TopicRestoreCompletions {
		t.Errorf("cold-storage topic = %+v, %v", p, ok)
	}
	if !top.TakesColdStorageNotices(QueueRestore) || top.TakesColdStorageNotices(QueueAnnotate) {
		t.Error("only the restore queue takes cold-storage notices")
	}
	if f := top.Feeders(QueueArchive); len(f) != 0 {
		t.Errorf("archive queue is fed by %v; it takes direct sends only", f)
	}
	// Annotation requests go straight to a fair queue in their user's group.
	if q, _ := top.Queue(QueueAnnotate); !q.Fair || len(top.Feeders(QueueAnnotate)) != 0 {
		t.Errorf("annotate queue %+v fed by %v; want a fair queue taking direct sends only", q, top.Feeders(QueueAnnotate))
	}
	if g := JobRequest("j", "u@example.org").Group(); g != "u@example.org" {
		t.Errorf("a job request's group is %q, want its user", g)
	}
	if q, _ := top.Queue(QueueAnnotate); q.DeadLetter() != "annotate-dlq" || q.Consumer != RoleAnnotator {
		t.Errorf("annotate queue: %+v", q)
	}
	// The queues' default visibility is what the workers use by default
	// (workers.Config: twice the lease, at least a minute).
	if want := max(2*domain.DefaultPolicy().Lease, time.Minute); DefaultVisibility != want {
		t.Errorf("DefaultVisibility %s, want %s", DefaultVisibility, want)
	}
}

func TestValidateNamesTheMistake(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(*Topology)
		want string
	}{
		"duplicate queue":       {func(t *Topology) { t.Queues = append(t.Queues, t.Queues[0]) }, "duplicate"},
		"missing subscriber":    {func(t *Topology) { t.Topics[0].Subscribers = []string{"nowhere"} }, "not a queue"},
		"kind not carried":      {func(t *Topology) { t.Topics[0].Carries = []Kind{KindThaw} }, "does not carry"},
		"no consumer":           {func(t *Topology) { t.Queues[1].Consumer = "" }, "consumer"},
		"max receives":          {func(t *Topology) { t.Queues[2].MaxReceives = 0 }, "max receives"},
		"topic named as queue":  {func(t *Topology) { t.Topics[1].Name = QueueThaw }, "duplicate"},
		"visibility above 12 h": {func(t *Topology) { t.Queues[0].Visibility = 13 * time.Hour }, "visibility"},
		"parked named as queue": {func(t *Topology) { t.Parked = QueueNotify }, "parked"},
		"no parked queue":       {func(t *Topology) { t.Parked = "" }, "parked"},
		"reconciler role":       {func(t *Topology) { t.Reconciler.Role = "" }, "reconciler"},
		"reconciler topic":      {func(t *Topology) { t.Reconciler.Publishes = []string{"nowhere"} }, "not a topic"},
		"reconciler queue":      {func(t *Topology) { t.Reconciler.Sends = []string{QueueParked} }, "not a queue"},
		"topic feeds fair queue": {func(t *Topology) {
			t.Topics[0].Subscribers, t.Topics[0].Carries = []string{QueueAnnotate}, []Kind{KindJobRequest}
		}, "message groups"},
	} {
		top := DefaultTopology()
		c.edit(&top)
		if err := top.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

func TestWithMaxReceivesLeavesTheDefinitionAlone(t *testing.T) {
	top := DefaultTopology()
	two := top.WithMaxReceives(2)
	for i := range top.Queues {
		if top.Queues[i].MaxReceives != DefaultMaxReceives || two.Queues[i].MaxReceives != 2 {
			t.Fatalf("queue %s: %d / %d", top.Queues[i].Name, top.Queues[i].MaxReceives, two.Queues[i].MaxReceives)
		}
	}
	if same := top.WithMaxReceives(0); same.Queues[0].MaxReceives != DefaultMaxReceives {
		t.Fatal("0 changed the max receives")
	}
}

// fakeQueue and fakeTopic record what Open made of them.
type fakeQueue struct {
	ports.Queue
	name string
	dead *fakeQueue
	max  int
}

type fakeTopic struct {
	name string
	subs []ports.Queue
}

func (*fakeTopic) Publish(context.Context, []byte) error { return nil }

type fakeOpener struct{ fail string }

func (o fakeOpener) DeadLetterQueue(q QueueSpec) (ports.Queue, error) {
	return &fakeQueue{name: q.DeadLetter()}, nil
}

func (o fakeOpener) Queue(q QueueSpec, dead ports.Queue) (ports.Queue, error) {
	if q.Name == o.fail {
		return nil, errors.New("no such queue")
	}
	return &fakeQueue{name: q.Name, dead: dead.(*fakeQueue), max: q.MaxReceives}, nil
}

func (o fakeOpener) Topic(p TopicSpec, subs []ports.Queue) (ports.Publisher, error) {
	return &fakeTopic{name: p.Name, subs: subs}, nil
}

func (o fakeOpener) Parked(name string) (ports.Queue, error) { return &fakeQueue{name: name}, nil }

func TestOpenWiresEveryPartByName(t *testing.T) {
	top := DefaultTopology()
	b, err := Open(top, fakeOpener{})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range top.Queues {
		work := b.Queue(q.Name).(*fakeQueue)
		if work.name != q.Name || work.dead != b.DeadLetter(q.Name) || work.dead.name != q.Name+"-dlq" || work.max != q.MaxReceives {
			t.Errorf("queue %s opened as %+v", q.Name, work)
		}
	}
	for _, p := range top.Topics {
		topic := b.Topic(p.Name).(*fakeTopic)
		if len(topic.subs) != len(p.Subscribers) {
			t.Fatalf("topic %s has %d subscribers", p.Name, len(topic.subs))
		}
		for i, s := range p.Subscribers {
			if topic.subs[i] != b.Queue(s) {
				t.Errorf("topic %s delivers to %v, want queue %s", p.Name, topic.subs[i], s)
			}
		}
	}
	if b.Queue("nowhere") != nil || b.Topic("nowhere") != nil {
		t.Error("unknown names resolved")
	}
	if p, ok := b.Parked().(*fakeQueue); !ok || p.name != QueueParked {
		t.Errorf("parked queue opened as %+v", b.Parked())
	}
	if _, err := Open(top, fakeOpener{fail: QueueThaw}); err == nil || !strings.Contains(err.Error(), "thaw") {
		t.Errorf("a queue that cannot be opened: %v", err)
	}
	bad := DefaultTopology()
	bad.Topics[0].Subscribers = nil
	bad.Queues[0].Consumer = ""
	if _, err := Open(bad, fakeOpener{}); err == nil {
		t.Error("opened an invalid topology")
	}
}
