package jobs_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
)

func twoReferences(c *jobs.Config) { c.References = []string{"GRCh38", "GRCh37"} }

func (f *fixture) input(t *testing.T, j *domain.Job) string {
	t.Helper()
	rc, err := f.objects.Get(ctx, j.InputKey())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// TestOptionsChosenAtSubmit (issue 13 item 7 and re-runs): the options
// are kept on the job; a reference the deployment lacks is refused with
// the names it has, and the upload is not kept.
func TestOptionsChosenAtSubmit(t *testing.T) {
	f := newFixture(t, twoReferences)
	if got := f.svc.References(); strings.Join(got, ",") != "GRCh38,GRCh37" {
		t.Fatalf("references %v", got)
	}
	opts := domain.JobOptions{Reference: "GRCh37", SkipMalformed: true}
	j, err := f.svc.UploadWith(ctx, "free", "a.vcf", opts, strings.NewReader("x"))
	if err != nil || j.Options() != opts {
		t.Fatalf("upload: %v, options %+v", err, j.Options())
	}
	if stored, _ := f.store.Get(ctx, j.ID()); stored.Options() != opts {
		t.Fatalf("stored options %+v", stored.Options())
	}
	_, err = f.svc.UploadWith(ctx, "free", "a.vcf", domain.JobOptions{Reference: "hg19"}, strings.NewReader("x"))
	if !errors.Is(err, ports.ErrUnknownReference) || !strings.Contains(err.Error(), "GRCh38, GRCh37") {
		t.Fatalf("unknown reference: %v", err)
	}
	form, id, err := f.svc.NewUpload(ctx, "free", "http://x/done")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.objects.Put(ctx, form.Key, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, "free", id, "a.vcf", domain.JobOptions{Reference: "hg19"}); !errors.Is(err, ports.ErrUnknownReference) {
		t.Fatalf("submit with an unknown reference: %v", err)
	}
	if _, err := f.objects.Head(ctx, form.Key); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("refused upload kept: %v", err)
	}
}

// TestRerunMakesANewJobFromACopyOfTheInput: the new job has its own copy
// of the input and the new options; the old job and its input are
// untouched; another user's job is not found; an input no longer stored
// is ErrInputGone; the owner's size limit applies.
func TestRerunMakesANewJobFromACopyOfTheInput(t *testing.T) {
	f := newFixture(t, twoReferences)
	old, err := f.svc.Upload(ctx, "premium", "big.vcf", strings.NewReader(strings.Repeat("x", 500)))
	if err != nil {
		t.Fatal(err)
	}
	j, err := f.svc.Rerun(ctx, "premium", old.ID(), domain.JobOptions{Reference: "GRCh37"})
	if err != nil {
		t.Fatal(err)
	}
	if j.ID() == old.ID() || j.InputKey() == old.InputKey() || j.InputName() != "big.vcf" || j.Options().Reference != "GRCh37" ||
		j.Status() != domain.StatusPending || f.input(t, j) != f.input(t, old) {
		t.Fatalf("re-run %+v of %+v", j.Snapshot(), old.Snapshot())
	}
	if reqs := f.requests(t); len(reqs) != 2 || reqs[1].Job != j.ID() {
		t.Fatalf("requests %+v", reqs)
	}
	if _, err := f.svc.Rerun(ctx, "free", old.ID(), domain.JobOptions{}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("another user's job: %v", err)
	}
	if _, err := f.svc.Rerun(ctx, "premium", old.ID(), domain.JobOptions{Reference: "hg19"}); !errors.Is(err, ports.ErrUnknownReference) {
		t.Fatalf("unknown reference: %v", err)
	}
	u, _ := f.users.Get(ctx, "premium")
	u.Downgrade(f.clock.Now())
	if _, err := f.users.Update(ctx, u); err != nil {
		t.Fatal(err)
	}
	var tooLarge *domain.InputTooLargeError
	if _, err := f.svc.Rerun(ctx, "premium", old.ID(), domain.JobOptions{}); !errors.As(err, &tooLarge) {
		t.Fatalf("over the free limit after a downgrade: %v", err)
	}
	if err := f.objects.Delete(ctx, old.InputKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Rerun(ctx, "premium", old.ID(), domain.JobOptions{}); !errors.Is(err, jobs.ErrInputGone) {
		t.Fatalf("input gone: %v", err)
	}
}
