package memory_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

func TestOutboxListsNewestFirstAndIsBounded(t *testing.T) {
	clock := memory.NewFakeClock(time.Time{})
	o, err := memory.NewOutbox(clock, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 5 {
		user, to := domain.UserID("a"), "a@example.org"
		if i%2 == 1 {
			user, to = "b", "b@example.org"
		}
		if err := o.Send(ctx, ports.Email{User: user, To: to, Subject: fmt.Sprint("job ", i), Text: "done"}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	sent := o.Sent()
	if len(sent) != 3 || sent[0].Subject != "job 4" || sent[2].Subject != "job 2" || sent[0].Seq != 5 {
		t.Fatalf("outbox %+v, want the 3 newest, newest first", sent)
	}
	if !sent[0].SentAt.After(sent[1].SentAt) {
		t.Fatalf("sent times not from the clock: %v %v", sent[0].SentAt, sent[1].SentAt)
	}
	if got := o.SentTo("b"); len(got) != 1 || got[0].Subject != "job 3" {
		t.Fatalf("SentTo: %+v", got)
	}
	if got := o.SentTo("B"); len(got) != 0 {
		t.Fatalf("SentTo matched another user's id loosely: %+v", got)
	}
	for _, bad := range []ports.Email{{To: "a@example.org", Text: "no subject"}, {To: "a@example.org", Subject: "no body"}} {
		if err := o.Send(ctx, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if _, err := memory.NewOutbox(nil, 0); err == nil {
		t.Errorf("nil clock accepted")
	}
}

func TestJobStoreCursorIsOpaqueAndChecked(t *testing.T) {
	s := memory.NewJobStore()
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		j, _ := domain.NewJob(domain.JobID(fmt.Sprint("j", i)), "u", "a.vcf", "inputs/u/a", 1, at.Add(time.Duration(i)*time.Minute))
		if err := s.Create(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := s.ListByUser(ctx, "u", "", 2)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("%v %q %v", page, next, err)
	}
	if url.QueryEscape(next) != next {
		t.Fatalf("cursor %q is not URL-safe", next)
	}
	for _, bad := range []string{"!!!", "e30", strings.Repeat("A", 10)} {
		if _, _, err := s.ListByUser(ctx, "u", bad, 2); !errors.Is(err, memory.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
		}
	}
	all, next, err := s.ListByUser(ctx, "u", "", 0)
	if err != nil || len(all) != 3 || next != "" {
		t.Fatalf("limit 0 should use the default page size: %d jobs, %q, %v", len(all), next, err)
	}
}

func TestFreeBilling(t *testing.T) {
	b := memory.NewFreeBilling()
	ctx := context.Background()
	if err := b.Subscribe(ctx, "u1"); err != nil || !b.Subscribed("u1") {
		t.Fatalf("subscribe: %v", err)
	}
	if err := b.Cancel(ctx, "u1"); err != nil || b.Subscribed("u1") {
		t.Fatalf("cancel: %v", err)
	}
	if err := b.Cancel(ctx, "u1"); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	if err := b.Subscribe(ctx, ""); err == nil {
		t.Fatalf("empty user subscribed")
	}
}

func TestSequenceIDsAreOrdered(t *testing.T) {
	ids := memory.NewSequenceIDs("job")
	a, b := ids.NewID(), ids.NewID()
	if a != "job-000001" || b != "job-000002" {
		t.Fatalf("got %s %s", a, b)
	}
	if r := memory.NewRandomIDs().NewID(); len(r) != 26 || strings.ToLower(r) != r {
		t.Fatalf("random id %q", r)
	}
}

func TestDevIdentityProvider(t *testing.T) {
	who := ports.Identity{Subject: "local-user", Name: "Local User", Email: "local@example.org", Institution: "Home"}
	p, err := memory.NewDevIdentityProvider("http://127.0.0.1:8080/auth/callback", who)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(p.AuthURL(ports.AuthRequest{State: "st4te"}))
	if err != nil || u.Path != "/auth/callback" || u.Query().Get("state") != "st4te" {
		t.Fatalf("auth URL %v %v", u, err)
	}
	got, err := p.Exchange(context.Background(), u.Query().Get("code"), ports.AuthRequest{State: "st4te"})
	if err != nil || got != who {
		t.Fatalf("exchange: %+v %v", got, err)
	}
	other := ports.Identity{Subject: "someone", Email: "s@example.org"}
	if got, err := p.Exchange(context.Background(), memory.CodeFor(other), ports.AuthRequest{}); err != nil || got != other {
		t.Fatalf("exchange of a minted code: %+v %v", got, err)
	}
	for _, bad := range []string{"", "!!", memory.CodeFor(ports.Identity{}), memory.CodeFor(ports.Identity{Subject: "x", Email: "nope"})} {
		if _, err := p.Exchange(context.Background(), bad, ports.AuthRequest{}); !errors.Is(err, memory.ErrBadCode) {
			t.Errorf("code %q: %v, want ErrBadCode", bad, err)
		}
	}
	if _, err := memory.NewDevIdentityProvider("http://h/cb?x=1", who); err == nil {
		t.Errorf("callback with query accepted")
	}
}

func TestTopologyWiresTopicsToQueuesWithDeadLetters(t *testing.T) {
	clock := memory.NewFakeClock(time.Time{})
	top := message.DefaultTopology().WithMaxReceives(2)
	bus, err := memory.OpenTopology(top, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range top.Topics {
		if err := bus.Topic(p.Name).Publish(ctx, []byte("m")); err != nil {
			t.Fatal(err)
		}
		q := bus.Queue(p.Subscribers[0])
		for range 2 {
			ms, _ := q.Receive(ctx, 1, time.Second, 0)
			if len(ms) != 1 {
				t.Fatalf("%s got nothing from %s", p.Subscribers[0], p.Name)
			}
			clock.Advance(time.Second)
		}
		q.Receive(ctx, 1, time.Second, 0)
		if ms, _ := bus.DeadLetter(p.Subscribers[0]).Receive(ctx, 1, time.Second, 0); len(ms) != 1 {
			t.Fatalf("%s: nothing dead-lettered after 2 receives", p.Subscribers[0])
		}
	}
	if bus.Queue(message.QueueArchive) == nil || bus.DeadLetter(message.QueueArchive) == nil {
		t.Fatalf("archive queue missing")
	}
	if q, ok := bus.Queue(message.QueueArchive).(*memory.Queue); !ok || q.Name() != message.QueueArchive {
		t.Fatalf("archive queue is %#v", bus.Queue(message.QueueArchive))
	}
}
