package role

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gasproject/gas/adapters/engine"
	"github.com/gasproject/gas/adapters/results"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// This file holds the test-only fault injections of Hooks. Config.Validate
// refuses them unless the AWS endpoint is a loopback test server. The
// RefuseExpedited hook's transport is awsfault.ExpeditedRefusal.

// ErrInjected marks failures made by a test hook.
var ErrInjected = errors.New("injected test fault")

// FaultyJobs wraps a job store with the FailJobWrites and JobWriteDelay
// hooks.
type FaultyJobs struct {
	ports.JobStore
	hooks Hooks
}

// WithJobHooks wraps s when a job-store hook is set.
func WithJobHooks(s ports.JobStore, h Hooks) ports.JobStore {
	if h.FailJobWrites == "" && h.JobWriteDelay == 0 {
		return s
	}
	return &FaultyJobs{JobStore: s, hooks: h}
}

func (f *FaultyJobs) before(ctx context.Context, j *domain.Job) error {
	if f.hooks.JobWriteDelay > 0 {
		t := time.NewTimer(f.hooks.JobWriteDelay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if f.hooks.FailJobWrites != "" && strings.Contains(j.InputName(), f.hooks.FailJobWrites) {
		return fmt.Errorf("write job %s: %w (GAS_TEST_FAIL_JOB_WRITES)", j.ID(), ErrInjected)
	}
	return nil
}

// Update applies the hooks, then writes.
func (f *FaultyJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	if err := f.before(ctx, j); err != nil {
		return nil, err
	}
	return f.JobStore.Update(ctx, j)
}

// SlowAnnotator holds each annotation for a delay before it starts (the
// AnnotateDelay hook), so a test can kill or stop a process mid-job.
type SlowAnnotator struct {
	results.Engine
	Delay time.Duration
}

// WithAnnotateDelay wraps a when the hook is set.
func WithAnnotateDelay(a results.Engine, d time.Duration) results.Engine {
	if d <= 0 {
		return a
	}
	return &SlowAnnotator{Engine: a, Delay: d}
}

// AnnotateJob waits, then annotates; cancelling ctx ends the wait.
func (s *SlowAnnotator) AnnotateJob(ctx context.Context, in io.Reader, out io.Writer, job engine.Job) (domain.Summary, error) {
	t := time.NewTimer(s.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return domain.Summary{}, ctx.Err()
	case <-t.C:
	}
	return s.Engine.AnnotateJob(ctx, in, out, job)
}
