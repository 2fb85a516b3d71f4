package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports/message"
)

// finish moves job id through the store as a worker would, with change.
func (f *fixture) finish(t *testing.T, id domain.JobID, change func(j *domain.Job) error) *domain.Job {
	t.Helper()
	j, err := jobs.Mutate(ctx, f.store, id, func(j *domain.Job) (bool, error) {
		if err := j.Claim(f.clock.Now(), time.Minute, 3); err != nil {
			return false, err
		}
		return true, change(j)
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestDownloadURL(t *testing.T) {
	f := newFixture(t)
	j, _ := f.svc.Upload(ctx, "free", "sample.vcf.gz", strings.NewReader("x"))
	j, d, err := f.svc.Download(ctx, "free", j.ID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DownloadURL(ctx, j, d); !errors.Is(err, jobs.ErrNotDownloadable) {
		t.Fatalf("pending job: %v", err)
	}
	if got := jobs.AnnotatedName("sample.VCF.gz"); got != "sample.annot.vcf" {
		t.Fatalf("annotated name %q", got)
	}
}

// TestDownloadDecidedOnceAtTheWindowEnd: the decision taken one instant
// before a free window ends is the one acted upon, even if the window ends
// before the link is made (the link then lives a second); at the end
// itself the results are archived for the user.
func TestDownloadDecidedOnceAtTheWindowEnd(t *testing.T) {
	f := newFixture(t)
	up, _ := f.svc.Upload(ctx, "free", "sample.vcf", strings.NewReader("x"))
	done := f.finish(t, up.ID(), func(j *domain.Job) error {
		if err := j.Complete(f.clock.Now(), domain.ResultKeys{VCF: "results/free/x/annotated.vcf"}, "ref", domain.Counts{}); err != nil {
			return err
		}
		// as the runner does for a free owner: the window is the schedule
		return j.ScheduleArchive(j.CompletedAt().Add(f.policy.FreeWindow))
	})
	end := done.CompletedAt().Add(f.policy.FreeWindow)
	f.clock.Set(end.Add(-time.Nanosecond))
	j, d, err := f.svc.Download(ctx, "free", up.ID())
	if err != nil || d.State != domain.DownloadAllowed {
		t.Fatalf("just before the end: %+v, %v", d, err)
	}
	f.clock.Set(end.Add(time.Millisecond)) // the window ends between decision and link
	url, err := f.svc.DownloadURL(ctx, j, d)
	if err != nil || url == "" {
		t.Fatalf("link for the decision taken in the window: %q, %v", url, err)
	}
	if _, d, _ := f.svc.Download(ctx, "free", up.ID()); d.State != domain.DownloadUpgradeRequired {
		t.Fatalf("after the end: %+v, want %s", d, domain.DownloadUpgradeRequired)
	}
}

func TestRetryRequeuesAJobFailedByTheService(t *testing.T) {
	f := newFixture(t)
	up, _ := f.svc.Upload(ctx, "free", "sample.vcf", strings.NewReader("x"))
	f.finish(t, up.ID(), func(j *domain.Job) error { return j.Abandon(f.clock.Now(), "dead letter") })
	if _, err := f.svc.Retry(ctx, "premium", up.ID()); err == nil {
		t.Fatal("another user retried the job")
	}
	j, err := f.svc.Retry(ctx, "free", up.ID())
	if err != nil {
		t.Fatal(err)
	}
	if j.Status() != domain.StatusPending || j.Attempts() != 0 {
		t.Fatalf("after retry: %s, %d attempts", j.Status(), j.Attempts())
	}
	reqs := f.requests(t)
	if last := reqs[len(reqs)-1]; last.Kind != message.KindJobRequest || last.Job != up.ID() {
		t.Fatalf("last publication %+v, want the job's request", last)
	}
	if _, err := f.svc.Retry(ctx, "free", up.ID()); !errors.Is(err, jobs.ErrNotRetryable) {
		t.Fatalf("retry of a pending job: %v, want ErrNotRetryable", err)
	}
}

func TestRetryRefusesBadInputAndMissingInput(t *testing.T) {
	f := newFixture(t)
	bad, _ := f.svc.Upload(ctx, "free", "bad.vcf", strings.NewReader("x"))
	f.finish(t, bad.ID(), func(j *domain.Job) error { _, err := j.Fail(f.clock.Now(), "line 1: bad", true, 3); return err })
	if _, err := f.svc.Retry(ctx, "free", bad.ID()); !errors.Is(err, jobs.ErrNotRetryable) {
		t.Fatalf("bad input: %v, want ErrNotRetryable", err)
	}
	gone, _ := f.svc.Upload(ctx, "free", "gone.vcf", strings.NewReader("x"))
	f.finish(t, gone.ID(), func(j *domain.Job) error { return j.Abandon(f.clock.Now(), "dead letter") })
	if err := f.objects.Delete(ctx, gone.InputKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Retry(ctx, "free", gone.ID()); !errors.Is(err, jobs.ErrInputGone) {
		t.Fatalf("input deleted: %v, want ErrInputGone", err)
	}
}
