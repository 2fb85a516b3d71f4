package workers_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// errCrash is what every port call of a crashed worker returns.
var errCrash = errors.New("injected crash: worker died")

// errFlake is a transient failure of one call; the worker lives on.
var errFlake = errors.New("injected transient failure")

// injector counts one worker's port calls. It can kill the worker before
// its Nth call (every later call fails too, so nothing after the crash
// point takes effect, exactly like a dead process) or park it there until
// the test resumes it, so other workers run in between.
type injector struct {
	mu      sync.Mutex
	calls   int
	failAt  int // 0: never
	parkAt  int // 0: never
	flakeAt int // 0: never; only this call fails
	// failOn, if set, kills the worker at its first call whose name starts
	// with it ("publish": a crash between a store write and its message).
	failOn string
	// hook, if set, sees every call and may fail it (the worker lives on).
	hook   func(ctx context.Context, what string) error
	dead   bool
	log    []string
	parked chan struct{}
	resume chan bool // true: go on; false: die here
}

func newInjector(failAt, parkAt int) *injector {
	return &injector{failAt: failAt, parkAt: parkAt, parked: make(chan struct{}, 1), resume: make(chan bool)}
}

func (i *injector) call(ctx context.Context, what string) error {
	if i == nil {
		return nil
	}
	i.mu.Lock()
	i.calls++
	n := i.calls
	i.log = append(i.log, what)
	if i.dead || n == i.failAt || (i.failOn != "" && strings.HasPrefix(what, i.failOn)) {
		i.dead = true
		i.mu.Unlock()
		return errCrash
	}
	if n == i.flakeAt {
		i.mu.Unlock()
		return errFlake
	}
	if i.hook != nil {
		hook := i.hook
		i.mu.Unlock()
		if err := hook(ctx, what); err != nil {
			return err
		}
		i.mu.Lock()
	}
	park := n == i.parkAt
	i.mu.Unlock()
	if park {
		i.parked <- struct{}{}
		if !<-i.resume {
			i.mu.Lock()
			i.dead = true
			i.mu.Unlock()
			return errCrash
		}
	}
	return nil
}

// rearm sets a later park or crash point for a parked worker about to resume.
func (i *injector) rearm(failAt, parkAt int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.failAt, i.parkAt = failAt, parkAt
}

func (i *injector) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.calls
}

type faultyJobs struct {
	s   ports.JobStore
	inj *injector
}

func (f *faultyJobs) Create(ctx context.Context, j *domain.Job) error {
	if err := f.inj.call(ctx, "jobs.Create"); err != nil {
		return err
	}
	return f.s.Create(ctx, j)
}

func (f *faultyJobs) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	if err := f.inj.call(ctx, "jobs.Get"); err != nil {
		return nil, err
	}
	return f.s.Get(ctx, id)
}

func (f *faultyJobs) Update(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	if err := f.inj.call(ctx, "jobs.Update"); err != nil {
		return nil, err
	}
	return f.s.Update(ctx, j)
}

func (f *faultyJobs) ListByUser(ctx context.Context, u domain.UserID, c string, n int) ([]*domain.Job, string, error) {
	if err := f.inj.call(ctx, "jobs.ListByUser"); err != nil {
		return nil, "", err
	}
	return f.s.ListByUser(ctx, u, c, n)
}

func (f *faultyJobs) ListByStorage(ctx context.Context, u domain.UserID, st domain.Storage) ([]*domain.Job, error) {
	if err := f.inj.call(ctx, "jobs.ListByStorage"); err != nil {
		return nil, err
	}
	return f.s.ListByStorage(ctx, u, st)
}

func (f *faultyJobs) Delete(ctx context.Context, id domain.JobID, version int64) error {
	if err := f.inj.call(ctx, "jobs.Delete"); err != nil {
		return err
	}
	return f.s.Delete(ctx, id, version)
}

type faultyUsers struct {
	s   ports.UserStore
	inj *injector
}

func (f *faultyUsers) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
	if err := f.inj.call(ctx, "users.Get"); err != nil {
		return nil, err
	}
	return f.s.Get(ctx, id)
}

func (f *faultyUsers) Create(ctx context.Context, u *domain.User) error {
	if err := f.inj.call(ctx, "users.Create"); err != nil {
		return err
	}
	return f.s.Create(ctx, u)
}

func (f *faultyUsers) Update(ctx context.Context, u *domain.User) (*domain.User, error) {
	if err := f.inj.call(ctx, "users.Update"); err != nil {
		return nil, err
	}
	return f.s.Update(ctx, u)
}

func (f *faultyUsers) List(ctx context.Context, cursor string, limit int) ([]*domain.User, string, error) {
	if err := f.inj.call(ctx, "users.List"); err != nil {
		return nil, "", err
	}
	return f.s.List(ctx, cursor, limit)
}

type faultyObjects struct {
	s   ports.ObjectStore
	inj *injector
}

func (f *faultyObjects) Put(ctx context.Context, key string, r io.Reader) (ports.ObjectInfo, error) {
	if err := f.inj.call(ctx, "objects.Put "+key); err != nil {
		return ports.ObjectInfo{}, err
	}
	return f.s.Put(ctx, key, r)
}

func (f *faultyObjects) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := f.inj.call(ctx, "objects.Get "+key); err != nil {
		return nil, err
	}
	return f.s.Get(ctx, key)
}

func (f *faultyObjects) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := f.inj.call(ctx, "objects.GetRange"); err != nil {
		return nil, err
	}
	return f.s.GetRange(ctx, key, off, n)
}

func (f *faultyObjects) Head(ctx context.Context, key string) (ports.ObjectInfo, error) {
	if err := f.inj.call(ctx, "objects.Head "+key); err != nil {
		return ports.ObjectInfo{}, err
	}
	return f.s.Head(ctx, key)
}

func (f *faultyObjects) Delete(ctx context.Context, key string) error {
	if err := f.inj.call(ctx, "objects.Delete "+key); err != nil {
		return err
	}
	return f.s.Delete(ctx, key)
}

func (f *faultyObjects) PresignUpload(ctx context.Context, key string, max int64, redirect string, exp time.Duration) (ports.UploadForm, error) {
	if err := f.inj.call(ctx, "objects.PresignUpload"); err != nil {
		return ports.UploadForm{}, err
	}
	return f.s.PresignUpload(ctx, key, max, redirect, exp)
}

func (f *faultyObjects) PresignDownload(ctx context.Context, key, name string, exp time.Duration) (string, error) {
	if err := f.inj.call(ctx, "objects.PresignDownload"); err != nil {
		return "", err
	}
	return f.s.PresignDownload(ctx, key, name, exp)
}

type faultyArchive struct {
	s   ports.Archive
	inj *injector
}

func (f *faultyArchive) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	if err := f.inj.call(ctx, "archive.Put "+key); err != nil {
		return "", err
	}
	return f.s.Put(ctx, key, r)
}

func (f *faultyArchive) InitiateRestore(ctx context.Context, id string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	if err := f.inj.call(ctx, "archive.InitiateRestore"); err != nil {
		return ports.Retrieval{}, err
	}
	return f.s.InitiateRestore(ctx, id, tier)
}

func (f *faultyArchive) RestoreStatus(ctx context.Context, id string) (ports.RestoreStatus, error) {
	if err := f.inj.call(ctx, "archive.RestoreStatus"); err != nil {
		return ports.RestoreStatus{}, err
	}
	return f.s.RestoreStatus(ctx, id)
}

func (f *faultyArchive) OpenRestored(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := f.inj.call(ctx, "archive.OpenRestored"); err != nil {
		return nil, err
	}
	return f.s.OpenRestored(ctx, id)
}

func (f *faultyArchive) Delete(ctx context.Context, id string) error {
	if err := f.inj.call(ctx, "archive.Delete "+id); err != nil {
		return err
	}
	return f.s.Delete(ctx, id)
}

type faultyQueue struct {
	q    ports.Queue
	inj  *injector
	name string
	w    *world // for lost sends
}

func (f *faultyQueue) Send(ctx context.Context, m ports.Outgoing) error {
	if err := f.inj.call(ctx, f.name+".Send"); err != nil {
		return err
	}
	if f.w != nil && f.w.lost(f.name+".Send") {
		return nil
	}
	return f.q.Send(ctx, m)
}

func (f *faultyQueue) Receive(ctx context.Context, max int, vis, wait time.Duration) ([]ports.Message, error) {
	if err := f.inj.call(ctx, f.name+".Receive"); err != nil {
		return nil, err
	}
	return f.q.Receive(ctx, max, vis, wait)
}

func (f *faultyQueue) Delete(ctx context.Context, receipt string) error {
	if err := f.inj.call(ctx, f.name+".Delete"); err != nil {
		return err
	}
	return f.q.Delete(ctx, receipt)
}

func (f *faultyQueue) ExtendVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if err := f.inj.call(ctx, f.name+".ExtendVisibility"); err != nil {
		return err
	}
	return f.q.ExtendVisibility(ctx, receipt, d)
}

func (f *faultyQueue) Stats(ctx context.Context) (ports.QueueStats, error) {
	if err := f.inj.call(ctx, f.name+".Stats"); err != nil {
		return ports.QueueStats{}, err
	}
	return f.q.Stats(ctx)
}

type faultyMailer struct {
	m   ports.Mailer
	inj *injector
}

func (f *faultyMailer) Send(ctx context.Context, e ports.Email) error {
	if err := f.inj.call(ctx, "mailer.Send"); err != nil {
		return err
	}
	return f.m.Send(ctx, e)
}

func (f *faultyJobs) Scan(ctx context.Context, visit func(*domain.Job) error) error {
	if err := f.inj.call(ctx, "jobs.Scan"); err != nil {
		return err
	}
	return f.s.Scan(ctx, visit)
}
