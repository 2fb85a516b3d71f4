package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	lease       = 2 * time.Minute
	maxAttempts = 3
)

var keys = ResultKeys{VCF: "r/v1/annotated.vcf", Index: "r/v1/annotated.idx", Summary: "r/v1/summary.json", Log: "r/v1/summary.log"}

// state builds a job in one named lifecycle state through the public
// transitions only, so the table below also proves each state reachable.
func state(t *testing.T, name string) *Job {
	t.Helper()
	j, err := NewJob("j1", "u1", "in.vcf", "inputs/u1/j1/input", 10, t0)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("building state %s: %v", name, err)
		}
	}
	complete := func() {
		must(j.Claim(t0, lease, maxAttempts))
		must(j.Complete(t0.Add(time.Minute), keys, "ref1", Counts{Records: 2}))
	}
	switch name {
	case "pending":
	case "pending-exhausted":
		for range maxAttempts {
			must(j.Claim(t0, lease, maxAttempts))
			_, err := j.Fail(t0, "boom", false, maxAttempts+1)
			must(err)
		}
	case "running":
		must(j.Claim(t0, lease, maxAttempts))
	case "running-last":
		for range maxAttempts - 1 {
			must(j.Claim(t0, lease, maxAttempts))
			_, err := j.Fail(t0, "boom", false, maxAttempts)
			must(err)
		}
		must(j.Claim(t0, lease, maxAttempts))
	case "available": // completed under the free plan: archived after the window
		complete()
		must(j.ScheduleArchive(j.CompletedAt().Add(DefaultPolicy().FreeWindow)))
	case "kept": // completed under premium: never archived
		complete()
	case "archived":
		complete()
		must(j.Archived("a1"))
	case "restoring":
		complete()
		must(j.Archived("a1"))
		must(j.RestoreStarted("r1", RetrievalExpedited, t0.Add(time.Hour)))
	case "restored":
		complete()
		must(j.Archived("a1"))
		must(j.RestoreStarted("r1", RetrievalExpedited, t0.Add(time.Hour)))
		must(j.Restored())
	case "noticing":
		complete()
		must(j.BeginNotice(t0, lease))
	case "notified":
		complete()
		must(j.BeginNotice(t0, lease))
		must(j.NoticeSent(t0))
	case "failed":
		must(j.Claim(t0, lease, maxAttempts))
		_, err := j.Fail(t0, "bad input", true, maxAttempts)
		must(err)
	case "failed-service":
		must(j.Claim(t0, lease, maxAttempts))
		must(j.Abandon(t0, "dead letter"))
	case "cancelled":
		must(j.Cancel(t0))
	default:
		t.Fatalf("unknown state %s", name)
	}
	return j
}

// describe renders the parts of a job's state the lifecycle is about.
func describe(j *Job) string {
	s := string(j.Status())
	if j.Storage() != StorageNone {
		s += "/" + string(j.Storage())
	}
	if j.ArchiveID() != "" {
		s += "+archive"
	}
	switch {
	case j.Notified():
		s += "+notified"
	case !j.NoticeHeldUntil().IsZero():
		s += "+held"
	}
	return s
}

type action struct {
	name string
	do   func(j *Job) error
}

var (
	live    = t0.Add(lease / 2)           // inside the lease taken at t0
	expired = t0.Add(lease + time.Second) // after it
)

var actions = []action{
	{"claim", func(j *Job) error { return j.Claim(live, lease, maxAttempts) }},
	{"claim-after-expiry", func(j *Job) error { return j.Claim(expired, lease, maxAttempts) }},
	{"extend", func(j *Job) error { return j.ExtendLease(live, lease) }},
	{"release", func(j *Job) error { return j.Release() }},
	{"complete", func(j *Job) error { return j.Complete(live, keys, "ref", Counts{}) }},
	{"fail-retryable", func(j *Job) error { _, err := j.Fail(live, "transient", false, maxAttempts); return err }},
	{"fail-permanent", func(j *Job) error { _, err := j.Fail(live, "bad", true, maxAttempts); return err }},
	{"abandon", func(j *Job) error { return j.Abandon(live, "dead letter") }},
	{"cancel", func(j *Job) error { return j.Cancel(live) }},
	{"archive", func(j *Job) error { return j.Archived("a2") }},
	{"start-restore", func(j *Job) error { return j.RestoreStarted("r2", RetrievalStandard, live.Add(time.Hour)) }},
	{"restored", func(j *Job) error { return j.Restored() }},
	{"restored-to", func(j *Job) error {
		k := keys
		k.VCF = "r/r2/annotated.vcf"
		return j.RestoredTo(k)
	}},
	{"forget-archive", func(j *Job) error { return j.ArchiveDeleted() }},
	{"lapse-restore", func(j *Job) error { return j.RestoreLapsed() }},
	{"begin-notice", func(j *Job) error { return j.BeginNotice(live, lease) }},
	{"begin-notice-after-expiry", func(j *Job) error { return j.BeginNotice(expired, lease) }},
	{"notice-sent", func(j *Job) error { return j.NoticeSent(live) }},
	{"release-notice", func(j *Job) error { return j.ReleaseNotice() }},
	{"notice-rejected", func(j *Job) error { return j.NoticeRejected(live, "unverified recipient") }},
	{"expire", func(j *Job) error { return j.Expire(live, maxAttempts) }},
	{"expire-after-expiry", func(j *Job) error { return j.Expire(expired, maxAttempts) }},
	{"retry", func(j *Job) error { return j.Retry() }},
}

// TestJobTransitions is the whole state machine: every action from every
// state, with the resulting state or the kind of refusal. A refused action
// must leave the job exactly as it was.
func TestJobTransitions(t *testing.T) {
	const (
		illegal     = "illegal"
		held        = "lease-held"
		exhausted   = "exhausted"
		noticeHeld  = "notice-held"
		alreadySent = "already-notified"
	)
	// Rows for states without results refuse every results and notice action.
	noResults := map[string]string{"lapse-restore": illegal, "begin-notice": illegal,
		"begin-notice-after-expiry": illegal, "notice-sent": illegal, "release-notice": illegal,
		"notice-rejected": illegal}
	// notices are the notice actions' outcomes for a finished job in state s.
	notices := func(s string) map[string]string {
		return map[string]string{"begin-notice": s + "+held", "begin-notice-after-expiry": s + "+held",
			"notice-sent": s + "+notified", "release-notice": s, "notice-rejected": s + "+notified"}
	}
	// notRunning refuses the lease actions of a job that is not RUNNING;
	// only a job failed by the service may be retried.
	notRunning := map[string]string{"expire": illegal, "expire-after-expiry": illegal, "retry": illegal}
	with := func(row map[string]string, more ...map[string]string) map[string]string {
		for _, m := range more {
			for k, v := range m {
				row[k] = v
			}
		}
		return row
	}
	table := map[string]map[string]string{
		"pending": with(map[string]string{
			"claim": "RUNNING", "claim-after-expiry": "RUNNING", "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": "FAILED",
			"cancel": "CANCELLED", "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": illegal,
		}, noResults, notRunning),
		"pending-exhausted": with(map[string]string{
			"claim": exhausted, "claim-after-expiry": exhausted, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": "FAILED",
			"cancel": "CANCELLED", "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": illegal,
		}, noResults, notRunning),
		"running": with(map[string]string{
			"claim": held, "claim-after-expiry": "RUNNING", "extend": "RUNNING", "release": "PENDING",
			"complete": "COMPLETED/AVAILABLE", "fail-retryable": "PENDING", "fail-permanent": "FAILED",
			"abandon": "FAILED", "cancel": illegal, "archive": illegal, "start-restore": illegal,
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal,
		}, noResults, map[string]string{"expire": held, "expire-after-expiry": "PENDING", "retry": illegal}),
		"running-last": with(map[string]string{
			"claim": held, "claim-after-expiry": exhausted, "extend": "RUNNING", "release": "PENDING",
			"complete": "COMPLETED/AVAILABLE", "fail-retryable": "FAILED", "fail-permanent": "FAILED",
			"abandon": "FAILED", "cancel": illegal, "archive": illegal, "start-restore": illegal,
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal,
		}, noResults, map[string]string{"expire": held, "expire-after-expiry": exhausted, "retry": illegal}),
		"available": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": "COMPLETED/ARCHIVED+archive", "start-restore": illegal,
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal,
		}, notices("COMPLETED/AVAILABLE"), map[string]string{"lapse-restore": illegal}, notRunning),
		"archived": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": "COMPLETED/RESTORING+archive",
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal,
		}, notices("COMPLETED/ARCHIVED+archive"), map[string]string{"lapse-restore": illegal}, notRunning),
		"restoring": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": illegal,
			"restored": "COMPLETED/AVAILABLE+archive", "restored-to": "COMPLETED/AVAILABLE+archive",
			"forget-archive": illegal,
		}, notices("COMPLETED/RESTORING+archive"), map[string]string{"lapse-restore": "COMPLETED/ARCHIVED+archive"}, notRunning),
		"restored": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": "COMPLETED/AVAILABLE",
		}, notices("COMPLETED/AVAILABLE+archive"), map[string]string{"lapse-restore": illegal}, notRunning),
		"noticing": {
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": "COMPLETED/ARCHIVED+archive+held", "start-restore": illegal,
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal, "lapse-restore": illegal,
			"begin-notice": noticeHeld, "begin-notice-after-expiry": "COMPLETED/AVAILABLE+held",
			"notice-sent": "COMPLETED/AVAILABLE+notified", "release-notice": "COMPLETED/AVAILABLE",
			"notice-rejected": "COMPLETED/AVAILABLE+notified", "expire": illegal, "expire-after-expiry": illegal, "retry": illegal,
		},
		"notified": {
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": "COMPLETED/ARCHIVED+archive+notified", "start-restore": illegal,
			"restored": illegal, "restored-to": illegal, "forget-archive": illegal, "lapse-restore": illegal,
			"begin-notice": alreadySent, "begin-notice-after-expiry": alreadySent, "notice-sent": alreadySent,
			"release-notice": alreadySent, "notice-rejected": alreadySent, "expire": illegal, "expire-after-expiry": illegal,
			"retry": illegal,
		},
		"failed": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": illegal,
		}, notices("FAILED"), map[string]string{"lapse-restore": illegal}, notRunning),
		"failed-service": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": illegal,
		}, notices("FAILED"), map[string]string{"lapse-restore": illegal, "expire": illegal,
			"expire-after-expiry": illegal, "retry": "PENDING"}),
		"cancelled": with(map[string]string{
			"claim": illegal, "claim-after-expiry": illegal, "extend": illegal, "release": illegal,
			"complete": illegal, "fail-retryable": illegal, "fail-permanent": illegal, "abandon": illegal,
			"cancel": illegal, "archive": illegal, "start-restore": illegal, "restored": illegal,
			"restored-to": illegal, "forget-archive": illegal,
		}, noResults, notRunning),
	}
	for from, row := range table {
		if len(row) != len(actions) {
			t.Fatalf("state %s: table covers %d of %d actions", from, len(row), len(actions))
		}
		for _, a := range actions {
			want, ok := row[a.name]
			if !ok {
				t.Fatalf("state %s: no expectation for %s", from, a.name)
			}
			t.Run(from+"/"+a.name, func(t *testing.T) {
				j := state(t, from)
				before := j.Snapshot()
				err := a.do(j)
				switch want {
				case illegal:
					var te *TransitionError
					if !errors.Is(err, ErrIllegalTransition) || !errors.As(err, &te) {
						t.Fatalf("got %v, want a TransitionError", err)
					}
					if te.Job != "j1" || te.Status != before.Status || te.Storage != before.Storage {
						t.Errorf("TransitionError %+v does not describe the refused state", te)
					}
				case held:
					if !errors.Is(err, ErrLeaseHeld) {
						t.Fatalf("got %v, want ErrLeaseHeld", err)
					}
				case exhausted:
					if !errors.Is(err, ErrAttemptsExhausted) {
						t.Fatalf("got %v, want ErrAttemptsExhausted", err)
					}
				case noticeHeld:
					if !errors.Is(err, ErrNoticeHeld) {
						t.Fatalf("got %v, want ErrNoticeHeld", err)
					}
				case alreadySent:
					if !errors.Is(err, ErrAlreadyNotified) {
						t.Fatalf("got %v, want ErrAlreadyNotified", err)
					}
				default:
					if err != nil {
						t.Fatalf("got %v, want %s", err, want)
					}
					if got := describe(j); got != want {
						t.Fatalf("state after %s = %s, want %s", a.name, got, want)
					}
					return
				}
				if after := j.Snapshot(); !reflect.DeepEqual(before, after) {
					t.Errorf("refused %s changed the job:\nbefore %+v\nafter  %+v", a.name, before, after)
				}
			})
		}
	}
}

func TestClaimCountsAttemptsAndSetsLease(t *testing.T) {
	j := state(t, "pending")
	if err := j.Claim(t0, lease, maxAttempts); err != nil {
		t.Fatal(err)
	}
	if j.Attempts() != 1 || !j.LeaseUntil().Equal(t0.Add(lease)) || !j.StartedAt().Equal(t0) {
		t.Fatalf("attempts %d lease %s started %s", j.Attempts(), j.LeaseUntil(), j.StartedAt())
	}
	// A takeover after the lease lapsed is charged as a new attempt.
	if err := j.Claim(expired, lease, maxAttempts); err != nil {
		t.Fatal(err)
	}
	if j.Attempts() != 2 || !j.LeaseUntil().Equal(expired.Add(lease)) {
		t.Fatalf("after takeover: attempts %d lease %s", j.Attempts(), j.LeaseUntil())
	}
	// Release hands it back without charging the attempt.
	if err := j.Release(); err != nil {
		t.Fatal(err)
	}
	if j.Attempts() != 1 || !j.LeaseUntil().IsZero() || j.Status() != StatusPending {
		t.Fatalf("after release: attempts %d lease %s status %s", j.Attempts(), j.LeaseUntil(), j.Status())
	}
	if err := j.ExtendLease(live, lease); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("extending a released job: %v", err)
	}
}

// Each claim of a job starts strictly later than the one before, even on a
// clock that did not move, so RunningUnder can tell a worker's own claim
// from a later one with the same attempt count.
func TestClaimsAreDistinguishable(t *testing.T) {
	j := state(t, "pending")
	if err := j.Claim(t0, lease, maxAttempts); err != nil {
		t.Fatal(err)
	}
	mine := new(Job)
	*mine = *j // this worker's copy of its claim
	extended := *j
	if err := extended.ExtendLease(live, lease); err != nil {
		t.Fatal(err)
	}
	if !extended.RunningUnder(mine) || !j.RunningUnder(&extended) {
		t.Fatal("a lease extension is still the same claim")
	}
	// Released and claimed again at the very same instant (same attempt count).
	if err := j.Release(); err != nil {
		t.Fatal(err)
	}
	if j.RunningUnder(mine) {
		t.Fatal("a released job is not running under the claim")
	}
	if err := j.Claim(t0, lease, maxAttempts); err != nil {
		t.Fatal(err)
	}
	if j.Attempts() != mine.Attempts() || !j.StartedAt().After(mine.StartedAt()) {
		t.Fatalf("re-claim: attempts %d started %s (first claim %d, %s)", j.Attempts(), j.StartedAt(), mine.Attempts(), mine.StartedAt())
	}
	if j.RunningUnder(mine) || mine.RunningUnder(j) {
		t.Fatal("a later claim was taken for the earlier one")
	}
	other := state(t, "running")
	if other.RunningUnder(nil) {
		t.Fatal("running under no claim")
	}
	done := state(t, "available")
	if done.RunningUnder(done) {
		t.Fatal("a completed job runs under no claim")
	}
}

// A lapsed restore goes back to ARCHIVED with the archive copy kept and no
// trace of the forgotten retrieval, ready for a new one.
func TestNoticeHoldAndRecord(t *testing.T) {
	j := state(t, "failed")
	if err := j.BeginNotice(t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !j.NoticeHeldUntil().Equal(t0.Add(time.Minute)) || j.Notified() {
		t.Fatalf("held: %+v", j.Snapshot())
	}
	if err := j.BeginNotice(t0.Add(59*time.Second), time.Minute); !errors.Is(err, ErrNoticeHeld) {
		t.Fatalf("second hold inside the first: %v", err)
	}
	if err := j.BeginNotice(t0.Add(time.Minute), time.Minute); err != nil {
		t.Fatalf("takeover after the hold lapsed: %v", err)
	}
	// The send failed: the hold is given up so a retry need not wait.
	if err := j.ReleaseNotice(); err != nil || !j.NoticeHeldUntil().IsZero() || j.Notified() {
		t.Fatalf("release: %v %+v", err, j.Snapshot())
	}
	if err := j.BeginNotice(t0.Add(time.Minute), time.Minute); err != nil {
		t.Fatalf("hold after release: %v", err)
	}
	if err := j.NoticeSent(t0.Add(61 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if !j.Notified() || !j.NotifiedAt().Equal(t0.Add(61*time.Second)) || !j.NoticeHeldUntil().IsZero() {
		t.Fatalf("recorded: %+v", j.Snapshot())
	}
	if err := j.BeginNotice(t0.Add(time.Hour), time.Minute); !errors.Is(err, ErrAlreadyNotified) {
		t.Fatalf("hold after the notice: %v", err)
	}
}

func TestFailReportsRetryAndKeepsReason(t *testing.T) {
	j := state(t, "running")
	retry, err := j.Fail(live, "network hiccup", false, maxAttempts)
	if err != nil || !retry || j.Status() != StatusPending || j.FailureReason() != "network hiccup" {
		t.Fatalf("retryable fail: retry=%v err=%v status %s reason %q", retry, err, j.Status(), j.FailureReason())
	}
	j = state(t, "running")
	retry, err = j.Fail(live, "line 3: not a VCF", true, maxAttempts)
	if err != nil || retry || j.Status() != StatusFailed || j.FailureReason() != "line 3: not a VCF" || !j.CompletedAt().Equal(live) {
		t.Fatalf("permanent fail: retry=%v err=%v status %s reason %q", retry, err, j.Status(), j.FailureReason())
	}
	j = state(t, "running-last")
	if retry, _ := j.Fail(live, "again", false, maxAttempts); retry || j.Status() != StatusFailed {
		t.Fatalf("last attempt: retry=%v status %s", retry, j.Status())
	}
}

func TestCompleteRecordsResults(t *testing.T) {
	j := state(t, "running")
	if err := j.Complete(live, ResultKeys{}, "ref", Counts{}); !errors.Is(err, ErrInvalidJob) || j.Status() != StatusRunning {
		t.Fatalf("complete without result key: %v, status %s", err, j.Status())
	}
	if err := j.Complete(live, keys, "GRCh38-demo", Counts{Records: 2}); err != nil {
		t.Fatal(err)
	}
	if j.Results() != keys || j.Reference() != "GRCh38-demo" || !j.CompletedAt().Equal(live) || !j.LeaseUntil().IsZero() {
		t.Fatalf("completed job: %+v", j.Snapshot())
	}
}

func TestArchiveRestoreCycleKeepsIDsUntilForgotten(t *testing.T) {
	j := state(t, "available")
	if err := j.Archived(""); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("archive without id: %v", err)
	}
	if err := j.Archived("a1"); err != nil {
		t.Fatal(err)
	}
	if err := j.RestoreStarted("", RetrievalExpedited, live); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("restore without retrieval id: %v", err)
	}
	if err := j.RestoreStarted("r1", "Bulk", live); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("restore with unknown tier: %v", err)
	}
	if err := j.RestoreStarted("r1", RetrievalStandard, live.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if j.RetrievalID() != "r1" || j.RetrievalTier() != RetrievalStandard || !j.RestoreExpectedBy().Equal(live.Add(5*time.Hour)) {
		t.Fatalf("restoring job: %+v", j.Snapshot())
	}
	if err := j.RestoredTo(ResultKeys{}); !errors.Is(err, ErrInvalidJob) {
		t.Fatalf("restore to no key: %v", err)
	}
	moved := keys
	moved.VCF = "r/r1/annotated.vcf"
	if err := j.RestoredTo(moved); err != nil {
		t.Fatal(err)
	}
	if j.Results() != moved || j.RetrievalID() != "" || j.RetrievalTier() != TierNone || j.ArchiveID() != "a1" {
		t.Fatalf("restored job: %+v", j.Snapshot())
	}
	if err := j.ArchiveDeleted(); err != nil || j.ArchiveID() != "" {
		t.Fatalf("forget archive: %v, id %q", err, j.ArchiveID())
	}
	// Archived again later (a downgraded owner), with a new id.
	if err := j.Archived("a2"); err != nil || j.ArchiveID() != "a2" {
		t.Fatalf("re-archive: %v", err)
	}
}

func TestNewJobValidates(t *testing.T) {
	cases := []struct {
		id, owner, name, key string
		size                 int64
		at                   time.Time
		want                 error
	}{
		{"", "u", "a.vcf", "k", 1, t0, ErrInvalidJob},
		{"j", "", "a.vcf", "k", 1, t0, ErrInvalidJob},
		{"j", "u", "a.vcf", "", 1, t0, ErrInvalidJob},
		{"j", "u", "a.vcf", "k", -1, t0, ErrInvalidJob},
		{"j", "u", "a.vcf", "k", 1, time.Time{}, ErrInvalidJob},
		{"j", "u", "a.txt", "k", 1, t0, ErrNotVCF},
		{"j", "u", "", "k", 1, t0, ErrInvalidInputName},
		{"j", "u", "a.vcf", "k", 0, t0, nil},
	}
	for _, c := range cases {
		j, err := NewJob(JobID(c.id), UserID(c.owner), c.name, c.key, c.size, c.at)
		if !errors.Is(err, c.want) || (c.want == nil) != (j != nil) {
			t.Errorf("NewJob(%q,%q,%q,%q,%d) = %v, %v; want %v", c.id, c.owner, c.name, c.key, c.size, j, err, c.want)
		}
	}
	j, _ := NewJob("j", "u", "a.vcf", "k", 5, t0.In(time.FixedZone("x", 3600)))
	if j.Status() != StatusPending || j.SubmittedAt().Location() != time.UTC || j.Storage() != StorageNone {
		t.Errorf("new job: %+v", j.Snapshot())
	}
}

func TestValidateInputName(t *testing.T) {
	ok := []string{"a.vcf", "A.VCF", "sample.vcf.gz", "x.vcf.bgz", "with space.vcf", "échantillon‐ü.vcf", "שלום.vcf"}
	notVCF := []string{"a.txt", ".vcf", "a.vcf.zip", "vcf", "a.gz"}
	invalid := []string{"", "a/b.vcf", `a\b.vcf`, "a\x00.vcf", "a\n.vcf", strings.Repeat("a", 256) + ".vcf",
		"report\u202Efcv.exe.vcf", "a\u202A.vcf", "a\u202B.vcf", "a\u202C.vcf", "a\u202D.vcf", "a\u2066.vcf", "a\u2067.vcf", "a\u2068.vcf", "a\u2069.vcf"}
	for _, n := range ok {
		if err := ValidateInputName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range notVCF {
		if err := ValidateInputName(n); !errors.Is(err, ErrNotVCF) {
			t.Errorf("%q: %v, want ErrNotVCF", n, err)
		}
	}
	for _, n := range invalid {
		if err := ValidateInputName(n); !errors.Is(err, ErrInvalidInputName) {
			t.Errorf("%q: %v, want ErrInvalidInputName", n, err)
		}
	}
}

func TestTerminal(t *testing.T) {
	want := map[Status]bool{StatusPending: false, StatusRunning: false, StatusCompleted: true, StatusFailed: true, StatusCancelled: true}
	for s, w := range want {
		if s.Terminal() != w {
			t.Errorf("%s.Terminal() = %v", s, !w)
		}
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	err := state(t, "archived").Cancel(live)
	if got := fmt.Sprint(err); got != "job j1: cannot cancel while COMPLETED/ARCHIVED" {
		t.Errorf("message %q", got)
	}
	err = state(t, "failed").Cancel(live)
	if got := fmt.Sprint(err); got != "job j1: cannot cancel while FAILED" {
		t.Errorf("message %q", got)
	}
}
