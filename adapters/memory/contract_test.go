package memory_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// must returns a constructor's value, failing the test on its error:
// must(t)(memory.NewQueue(...)).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestJobStoreContract(t *testing.T) {
	contract.TestJobStore(t, func(t *testing.T) ports.JobStore { return memory.NewJobStore() })
}

func TestUserStoreContract(t *testing.T) {
	contract.TestUserStore(t, func(t *testing.T) ports.UserStore { return memory.NewUserStore() })
}

func TestTokenStoreContract(t *testing.T) {
	contract.TestTokenStore(t, func(t *testing.T) ports.TokenStore { return memory.NewTokenStore() })
}

func TestIDsContract(t *testing.T) {
	t.Run("RandomIDs", func(t *testing.T) { contract.TestIDs(t, memory.NewRandomIDs()) })
	t.Run("SequenceIDs", func(t *testing.T) { contract.TestIDs(t, memory.NewSequenceIDs("job")) })
}

// newQueueFixture builds a queue with a dead-letter queue on clock; sleep
// lets the clock's time pass.
func newQueueFixture(t *testing.T, clock memory.AlarmClock, sleep func(time.Duration), maxReceives int) contract.QueueFixture {
	dlq := must[*memory.Queue](t)(memory.NewQueue("dead", clock))
	q := must[*memory.Queue](t)(memory.NewQueue("work", clock, memory.WithDeadLetter(dlq, maxReceives)))
	return contract.QueueFixture{Queue: q, DeadLetters: dlq, Sleep: sleep}
}

func TestQueueContract(t *testing.T) {
	t.Run("FakeClock", func(t *testing.T) {
		t.Parallel()
		contract.TestQueue(t, func(t *testing.T, maxReceives int) contract.QueueFixture {
			c := memory.NewFakeClock(time.Time{})
			return newQueueFixture(t, c, c.Advance, maxReceives)
		})
	})
	t.Run("SystemClock", func(t *testing.T) {
		t.Parallel()
		contract.TestQueue(t, func(t *testing.T, maxReceives int) contract.QueueFixture {
			return newQueueFixture(t, memory.SystemClock{}, time.Sleep, maxReceives)
		})
	})
}

func TestPublisherContract(t *testing.T) {
	contract.TestPublisher(t, func(t *testing.T, n int) contract.PublisherFixture {
		clock := memory.NewFakeClock(time.Time{})
		topic := must[*memory.Topic](t)(memory.NewTopic("events"))
		var subs []ports.Queue
		for range n {
			q := must[*memory.Queue](t)(memory.NewQueue("sub", clock))
			if err := topic.Subscribe(q); err != nil {
				t.Fatal(err)
			}
			subs = append(subs, q)
		}
		return contract.PublisherFixture{Publisher: topic, Subscribers: subs}
	})
}

func TestArchiveContract(t *testing.T) {
	t.Run("FakeClock", func(t *testing.T) {
		contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
			clock := memory.NewFakeClock(time.Time{})
			a := must[*memory.Archive](t)(memory.NewArchive(clock, memory.WithRetrievalTimes(5*time.Minute, 5*time.Hour)))
			t.Cleanup(func() { a.Close() })
			return contract.ArchiveFixture{Archive: a, Sleep: clock.Advance, RefuseExpedited: a.RefuseExpedited, MaxRestore: 5 * time.Hour, ModelsDeletion: true}
		})
	})
	t.Run("SystemClock", func(t *testing.T) {
		contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
			a := must[*memory.Archive](t)(memory.NewArchive(memory.SystemClock{}, memory.WithRetrievalTimes(time.Second, 2*time.Second)))
			t.Cleanup(func() { a.Close() })
			return contract.ArchiveFixture{Archive: a, Sleep: time.Sleep, RefuseExpedited: a.RefuseExpedited, MaxRestore: 2 * time.Second, ModelsDeletion: true}
		})
	})
}

func TestMailerContract(t *testing.T) {
	contract.TestMailer(t, func(t *testing.T) contract.MailerFixture {
		o := must[*memory.Outbox](t)(memory.NewOutbox(memory.NewFakeClock(time.Time{}), 0))
		return contract.MailerFixture{Mailer: o, Sent: func(t *testing.T) []ports.Email {
			var out []ports.Email
			for _, e := range o.Sent() {
				out = append(out, e.Email)
			}
			return out
		}}
	})
}

// objectFixture serves the store's presigned requests from a loopback test
// server mounted under /objects, as the web app mounts it.
func objectFixture(t *testing.T) contract.ObjectStoreFixture {
	clock := memory.NewFakeClock(time.Now())
	srv := httptest.NewUnstartedServer(nil)
	prefix := "http://" + srv.Listener.Addr().String() + "/objects"
	store := must[*memory.ObjectStore](t)(memory.NewObjectStore(memory.WithURLPrefix(prefix), memory.WithObjectClock(clock)))
	mux := http.NewServeMux()
	mux.Handle("/objects/", store.Handler())
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return contract.ObjectStoreFixture{Store: store, HTTP: srv.Client(), EnforcesPresigned: true, ServesDownloadName: true, HashesPresignedUploads: true, HashesPuts: true, Sleep: clock.Advance}
}

func TestObjectStoreContract(t *testing.T) {
	contract.TestObjectStore(t, objectFixture)
}

func TestSessionStoreContract(t *testing.T) {
	contract.TestSessionStore(t, func(t *testing.T) ports.SessionStore { return memory.NewSessionStore() })
}
