package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/adapters/memory"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/mocks"
)

func newManager(t *testing.T, f *fixture) (*jobs.Manager, *memory.Archive) {
	t.Helper()
	archive, err := memory.NewArchive(f.clock)
	if err != nil {
		t.Fatal(err)
	}
	m, err := jobs.NewManager(f.store, f.objects, archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, archive
}

// completeJob runs j "by hand" to COMPLETED with result objects stored.
func (f *fixture) completeJob(t *testing.T, id domain.JobID) *domain.Job {
	t.Helper()
	keys := jobs.ResultKeys("results/", "free", id, "g1")
	for _, k := range []string{keys.VCF, keys.Index, keys.Summary, keys.Log} {
		if _, err := f.objects.Put(ctx, k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	j, err := jobs.Mutate(ctx, f.store, id, func(j *domain.Job) (bool, error) {
		if err := j.Claim(f.clock.Now(), time.Minute, 3); err != nil {
			return false, err
		}
		return true, j.Complete(f.clock.Now(), keys, "ref", domain.Counts{Variants: 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) exists(key string) bool {
	_, err := f.objects.Head(ctx, key)
	return err == nil
}

func TestDeleteRemovesTheJobAndEveryObject(t *testing.T) {
	f := newFixture(t)
	m, archive := newManager(t, f)
	j, err := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("##fileformat=VCFv4.2\n"))
	if err != nil {
		t.Fatal(err)
	}
	done := f.completeJob(t, j.ID())
	// Archived: the cold copy goes too.
	archiveID, err := archive.Put(ctx, "archive/free/"+string(j.ID())+".tar", strings.NewReader("bundle"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Mutate(ctx, f.store, j.ID(), func(j *domain.Job) (bool, error) { return true, j.Archived(archiveID) }); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "premium", j.ID()); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("another user's delete: %v, want not found", err)
	}
	if err := m.Delete(ctx, "free", j.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Get(ctx, j.ID()); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("job still stored: %v", err)
	}
	r := done.Results()
	for _, k := range []string{done.InputKey(), r.VCF, r.Index, r.Summary, r.Log} {
		if f.exists(k) {
			t.Errorf("object %s left behind", k)
		}
	}
	if _, err := archive.InitiateRestore(ctx, archiveID, domain.RetrievalStandard); err == nil {
		t.Error("archive copy left behind")
	}
	if err := m.Delete(ctx, "free", j.ID()); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestDeleteRefusesAJobBeingAnnotated(t *testing.T) {
	f := newFixture(t)
	m, _ := newManager(t, f)
	j, _ := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("##fileformat=VCFv4.2\n"))
	if _, err := jobs.Mutate(ctx, f.store, j.ID(), func(j *domain.Job) (bool, error) {
		return true, j.Claim(f.clock.Now(), time.Minute, 3)
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "free", j.ID()); !errors.Is(err, domain.ErrIllegalTransition) || !f.exists(j.InputKey()) {
		t.Fatalf("delete of a running job: %v (input kept: %v)", err, f.exists(j.InputKey()))
	}
}

// A job that changes between reading it and deleting its record (here the
// archiver records a cold copy) is read again, so the copy goes too.
func TestDeleteRereadsAJobThatChanged(t *testing.T) {
	f := newFixture(t)
	j, _ := f.svc.Upload(ctx, "free", "a.vcf", strings.NewReader("##fileformat=VCFv4.2\n"))
	f.completeJob(t, j.ID())
	archive, _ := memory.NewArchive(f.clock)
	archiveID, _ := archive.Put(ctx, "archive/x.tar", strings.NewReader("bundle"))
	raced := false
	store := &mocks.JobStoreMock{
		GetFunc: f.store.Get, UpdateFunc: f.store.Update,
		DeleteFunc: func(ctx context.Context, id domain.JobID, version int64) error {
			if !raced {
				raced = true
				if _, err := jobs.Mutate(ctx, f.store, id, func(j *domain.Job) (bool, error) { return true, j.Archived(archiveID) }); err != nil {
					return err
				}
			}
			return f.store.Delete(ctx, id, version)
		},
	}
	m, err := jobs.NewManager(store, f.objects, archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "free", j.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.InitiateRestore(ctx, archiveID, domain.RetrievalStandard); err == nil || len(store.DeleteCalls()) != 2 {
		t.Fatalf("archive copy recorded meanwhile left behind (%d deletes)", len(store.DeleteCalls()))
	}
}

func TestRenameAndSearch(t *testing.T) {
	f := newFixture(t)
	m, _ := newManager(t, f)
	var ids []domain.JobID
	for i := range 30 {
		j, err := f.svc.Upload(ctx, "free", fmt.Sprintf("run%02d.vcf", i), strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID())
		f.clock.Advance(time.Hour)
	}
	renamed, err := m.Rename(ctx, "free", ids[3], "  Tumour sample 3  ")
	if err != nil || renamed.Name() != "Tumour sample 3" || renamed.InputName() != "run03.vcf" {
		t.Fatalf("rename: %v %q", err, renamed.Name())
	}
	if _, err := m.Rename(ctx, "premium", ids[3], "x"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("another user's rename: %v", err)
	}
	if _, err := m.Rename(ctx, "free", ids[3], "bad\x00name"); !errors.Is(err, domain.ErrInvalidName) {
		t.Fatalf("control characters: %v", err)
	}
	f.completeJob(t, ids[5])
	search := func(flt domain.JobFilter, limit int) []string {
		var names []string
		cursor := ""
		for {
			js, next, err := m.Search(ctx, "free", flt, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range js {
				names = append(names, j.Name())
			}
			if next == "" {
				return names
			}
			cursor = next
		}
	}
	if got := search(domain.JobFilter{Name: "tumour"}, 5); len(got) != 1 || got[0] != "Tumour sample 3" {
		t.Errorf("by name: %v", got)
	}
	if got := search(domain.JobFilter{Name: "RUN2"}, 3); strings.Join(got, ",") != "run29.vcf,run28.vcf,run27.vcf,run26.vcf,run25.vcf,run24.vcf,run23.vcf,run22.vcf,run21.vcf,run20.vcf" {
		t.Errorf("by name, newest first across pages: %v", got)
	}
	if got := search(domain.JobFilter{State: string(domain.StatusCompleted)}, 5); len(got) != 1 || got[0] != "run05.vcf" {
		t.Errorf("by state: %v", got)
	}
	t0 := f.clock.Now().Add(-30 * time.Hour) // the first upload
	if got := search(domain.JobFilter{From: t0.Add(10 * time.Hour), To: t0.Add(13 * time.Hour)}, 25); strings.Join(got, ",") != "run12.vcf,run11.vcf,run10.vcf" {
		t.Errorf("by date: %v", got)
	}
	if _, _, err := m.Search(ctx, "free", domain.JobFilter{}, "", 0); !errors.Is(err, jobs.ErrInvalidRequest) {
		t.Errorf("limit 0: %v", err)
	}
}
