package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/archival"
	"github.com/gasproject/gas/domain/workers"
	"github.com/gasproject/gas/ports/message"
)

// logBuffer collects a worker's logs for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stepArchiving is an archival service whose Archive runs step.
type stepArchiving struct {
	step func(ctx context.Context) error
}

func (s stepArchiving) Archive(ctx context.Context, _ domain.JobID) error { return s.step(ctx) }
func (stepArchiving) Thaw(context.Context, domain.UserID) error           { return nil }
func (stepArchiving) ThawJob(context.Context, domain.UserID, domain.JobID) error {
	return nil
}
func (stepArchiving) Restore(context.Context, domain.JobID) error { return nil }
func (stepArchiving) RestoreCheck(context.Context, domain.JobID, archival.Retrieval) error {
	return nil
}

// A step that ends while a visibility extension is in flight cuts that
// extension short; that is how every step ends, not a failure, so nothing
// is logged as one. An extension that fails while the step runs is logged.
func TestVisibilityExtensionsLogOnlyRealFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		extend func(ctx context.Context, inflight chan<- struct{}) error
		warn   bool
	}{
		{name: "step ends during an extension", extend: func(ctx context.Context, inflight chan<- struct{}) error {
			inflight <- struct{}{}
			<-ctx.Done()
			return fmt.Errorf("operation error SQS: ChangeMessageVisibility, canceled, %w", ctx.Err())
		}},
		{name: "extension fails", warn: true, extend: func(ctx context.Context, inflight chan<- struct{}) error {
			inflight <- struct{}{}
			return errDown
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			var logs logBuffer
			cfg := w.cfg
			cfg.Heartbeat = time.Millisecond
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			inflight := make(chan struct{}, 1)
			var once sync.Once
			q := ackQueue()
			q.ExtendVisibilityFunc = func(ctx context.Context, _ string, d time.Duration) error {
				if d != cfg.Visibility { // settling, not a heartbeat
					return nil
				}
				var err error
				first := false
				once.Do(func() { first = true })
				if first {
					err = c.extend(ctx, inflight)
				}
				return err
			}
			a, err := workers.NewArchiver(q, stepArchiving{step: func(ctx context.Context) error {
				select {
				case <-inflight: // the step ends while (or just after) an extension is made
					for deadline := time.Now().Add(5 * time.Second); c.warn && time.Now().Before(deadline) &&
						!strings.Contains(logs.String(), "could not extend visibility"); {
						time.Sleep(time.Millisecond) // let the failed extension be reported first
					}
					return nil
				case <-time.After(10 * time.Second):
					return errDown
				}
			}}, w.clock, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Handle(w.ctx, delivery(message.ArchiveJob("j1", time.Time{}))); err != nil {
				t.Fatal(err)
			}
			if len(q.DeleteCalls()) != 1 {
				t.Fatalf("%d acknowledgements", len(q.DeleteCalls()))
			}
			got := strings.Contains(logs.String(), "could not extend visibility")
			if got != c.warn {
				t.Fatalf("warning logged %v, want %v:\n%s", got, c.warn, logs.String())
			}
		})
	}
}
