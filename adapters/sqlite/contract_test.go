package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/adapters/sqlite"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// openDB opens a fresh database in a real file under the test's directory.
func openDB(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// shared opens one database per suite: the suites use fresh ids, and
// sharing exercises the indexes with other subtests' rows beside.
func shared(t *testing.T) func(t *testing.T) *sqlite.DB {
	var once sync.Once
	var db *sqlite.DB
	return func(sub *testing.T) *sqlite.DB {
		once.Do(func() { db = openDB(t) })
		return db
	}
}

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
	db := shared(t)
	contract.TestJobStore(t, func(t *testing.T) ports.JobStore { return sqlite.NewJobStore(db(t)) })
}

func TestUserStoreContract(t *testing.T) {
	db := shared(t)
	contract.TestUserStore(t, func(t *testing.T) ports.UserStore { return sqlite.NewUserStore(db(t)) })
}

func TestTokenStoreContract(t *testing.T) {
	db := shared(t)
	contract.TestTokenStore(t, func(t *testing.T) ports.TokenStore { return sqlite.NewTokenStore(db(t)) })
}

func TestSessionStoreContract(t *testing.T) {
	db := shared(t)
	contract.TestSessionStore(t, func(t *testing.T) ports.SessionStore { return sqlite.NewSessionStore(db(t)) })
}

func queueFixture(t *testing.T, db *sqlite.DB, clock ports.Clock, sleep func(time.Duration), maxReceives int) contract.QueueFixture {
	name := t.Name()
	dlq := must[*sqlite.Queue](t)(sqlite.NewQueue(db, name+"-dlq", clock))
	q := must[*sqlite.Queue](t)(sqlite.NewQueue(db, name, clock, sqlite.WithDeadLetter(dlq, maxReceives)))
	return contract.QueueFixture{Queue: q, DeadLetters: dlq, Sleep: sleep}
}

func TestQueueContract(t *testing.T) {
	t.Run("SystemClock", func(t *testing.T) {
		t.Parallel()
		db := shared(t)
		contract.TestQueue(t, func(t *testing.T, maxReceives int) contract.QueueFixture {
			return queueFixture(t, db(t), memory.SystemClock{}, time.Sleep, maxReceives)
		})
	})
	t.Run("FakeClock", func(t *testing.T) {
		t.Parallel()
		db := shared(t)
		contract.TestQueue(t, func(t *testing.T, maxReceives int) contract.QueueFixture {
			c := memory.NewFakeClock(time.Time{})
			return queueFixture(t, db(t), c, c.Advance, maxReceives)
		})
	})
}

func TestPublisherContract(t *testing.T) {
	db := shared(t)
	contract.TestPublisher(t, func(t *testing.T, n int) contract.PublisherFixture {
		var subs []*sqlite.Queue
		var queues []ports.Queue
		for i := range n {
			q := must[*sqlite.Queue](t)(sqlite.NewQueue(db(t), t.Name()+"-sub-"+string(rune('a'+i)), memory.SystemClock{}))
			subs, queues = append(subs, q), append(queues, q)
		}
		topic := must[*sqlite.Topic](t)(sqlite.NewTopic(db(t), t.Name(), subs...))
		return contract.PublisherFixture{Publisher: topic, Subscribers: queues}
	})
}

func TestMailerContract(t *testing.T) {
	db := shared(t)
	contract.TestMailer(t, func(t *testing.T) contract.MailerFixture {
		o := must[*sqlite.Outbox](t)(sqlite.NewOutbox(db(t), memory.SystemClock{}, 0))
		return contract.MailerFixture{Mailer: o, Sent: func(t *testing.T) []ports.Email {
			sent, err := o.Sent(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var out []ports.Email
			for _, e := range sent {
				out = append(out, e.Email)
			}
			return out
		}}
	})
}
