// Package jobs is the use-case service behind every page and API call about
// jobs: upload and submit with the tier's size rules, list, view, cancel and
// the download decision. It also owns the two things every other service
// needs to change or locate a job: Mutate (the conditional-write retry loop)
// and the object-key layout.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Config is the deployment's choices for the jobs service.
type Config struct {
	// Policy is the tier rules.
	Policy domain.Policy
	// InputPrefix is where uploads go ("inputs/").
	InputPrefix string
	// ResultPrefix is where results go ("results/"); carried here so every
	// service agrees on it, the runner writes there.
	ResultPrefix string
	// UploadExpiry is how long a presigned upload form stays valid (default 1 h).
	UploadExpiry time.Duration
	// DownloadExpiry is how long a presigned result URL stays valid (default 5 min).
	DownloadExpiry time.Duration
	// References name the annotation databases jobs may ask for, the
	// default first; empty accepts any name (the annotator decides).
	References []string
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
}

// Errors of the jobs service, beyond the domain's and ports.ErrNotFound.
var (
	// ErrNoUpload: Submit was called before the browser's upload arrived.
	ErrNoUpload = errors.New("no uploaded file for this job")
	// ErrInvalidRequest: a caller passed an unusable argument (bad id, limit).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrNotDownloadable: the results cannot be downloaded now; the
	// DownloadDecision says why.
	ErrNotDownloadable = errors.New("results are not downloadable now")
	// ErrInputGone: a job's input is no longer stored (it expired or
	// was deleted), so it cannot be annotated again.
	ErrInputGone = errors.New("the uploaded file is no longer stored; upload it again")
)

// Service implements the job use cases against the ports.
type Service struct {
	jobs     ports.JobStore
	users    ports.UserStore
	objects  ports.ObjectStore
	requests ports.Queue
	restores ports.Publisher // restore checks, for Retry (nil: restores are not retried)
	clock    ports.Clock
	ids      ports.IDs
	cfg      Config
	log      *slog.Logger
}

// NewService checks its dependencies and configuration up front, so a
// misconfigured deployment fails at start rather than on the first upload.
func NewService(jobs ports.JobStore, users ports.UserStore, objects ports.ObjectStore,
	requests ports.Queue, clock ports.Clock, ids ports.IDs, cfg Config) (*Service, error) {
	if jobs == nil || users == nil || objects == nil || requests == nil || clock == nil || ids == nil {
		return nil, errors.New("jobs service: every port is required")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("jobs service: %w", err)
	}
	if cfg.InputPrefix == "" || cfg.ResultPrefix == "" || cfg.InputPrefix == cfg.ResultPrefix {
		return nil, errors.New("jobs service: input and result prefixes must be set and differ")
	}
	if cfg.UploadExpiry <= 0 {
		cfg.UploadExpiry = time.Hour
	}
	if cfg.DownloadExpiry <= 0 {
		cfg.DownloadExpiry = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{jobs: jobs, users: users, objects: objects, requests: requests, clock: clock, ids: ids,
		cfg: cfg, log: log.With("service", "jobs")}, nil
}

// Policy is the tier rules in force, for pages that explain limits.
func (s *Service) Policy() domain.Policy { return s.cfg.Policy }

// References name the annotation databases jobs may ask for, the default
// first (empty when the deployment did not say).
func (s *Service) References() []string { return append([]string(nil), s.cfg.References...) }

// checkOptions refuses a reference the deployment does not hold.
func (s *Service) checkOptions(o domain.JobOptions) error {
	if o.Reference == "" || len(s.cfg.References) == 0 || slices.Contains(s.cfg.References, o.Reference) {
		return nil
	}
	return fmt.Errorf("%w %q (this deployment has %s)", ports.ErrUnknownReference, o.Reference, strings.Join(s.cfg.References, ", "))
}

func (s *Service) tier(ctx context.Context, user domain.UserID) (domain.Tier, error) {
	u, err := s.users.Get(ctx, user)
	if err != nil {
		return "", fmt.Errorf("load user %s: %w", user, err)
	}
	return u.Tier(), nil
}

// NewUpload makes a presigned browser form that uploads straight into object
// storage at the new job's input key, limited to the user's tier size. The
// browser then calls Submit with the returned id.
func (s *Service) NewUpload(ctx context.Context, user domain.UserID, redirect string) (ports.UploadForm, domain.JobID, error) {
	tier, err := s.tier(ctx, user)
	if err != nil {
		return ports.UploadForm{}, "", fmt.Errorf("new upload: %w", err)
	}
	id := domain.JobID(s.ids.NewID())
	if !validID(id) {
		return ports.UploadForm{}, "", fmt.Errorf("new upload: id generator produced unusable id %q", id)
	}
	key := InputKey(s.cfg.InputPrefix, user, id)
	form, err := s.objects.PresignUpload(ctx, key, s.cfg.Policy.InputLimit(tier), redirect, s.cfg.UploadExpiry)
	if err != nil {
		return ports.UploadForm{}, "", fmt.Errorf("new upload for %s: %w", user, err)
	}
	return form, id, nil
}

// Submit turns a finished browser upload into a job. The stored object's
// size is re-checked against the tier (a presigned limit is the browser's
// promise, not proof) and an oversize or non-VCF upload is deleted and
// refused. Submitting the same id again returns the job and resends its
// request while it is PENDING, so a retry after a failed send heals.
func (s *Service) Submit(ctx context.Context, user domain.UserID, id domain.JobID, inputName string, opts domain.JobOptions) (*domain.Job, error) {
	if !validID(id) {
		return nil, fmt.Errorf("submit: %w: job id %q", ErrInvalidRequest, id)
	}
	if existing, err := s.jobs.Get(ctx, id); err == nil {
		if existing.Owner() != user {
			return nil, fmt.Errorf("submit job %s: %w", id, ports.ErrNotFound)
		}
		return existing, s.request(ctx, existing)
	} else if !errors.Is(err, ports.ErrNotFound) {
		return nil, fmt.Errorf("submit job %s: %w", id, err)
	}
	key := InputKey(s.cfg.InputPrefix, user, id)
	info, err := s.objects.Head(ctx, key)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, fmt.Errorf("submit job %s: %w", id, ErrNoUpload)
	}
	if err != nil {
		return nil, fmt.Errorf("submit job %s: %w", id, err)
	}
	if err := errors.Join(domain.ValidateInputName(inputName), s.checkOptions(opts)); err != nil {
		return nil, s.refuse(ctx, id, key, err)
	}
	tier, err := s.tier(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("submit job %s: %w", id, err)
	}
	if err := s.cfg.Policy.CheckInputSize(tier, info.Size); err != nil {
		return nil, s.refuse(ctx, id, key, err)
	}
	return s.create(ctx, id, user, inputName, key, info.Size, opts)
}

// refuse deletes a refused upload so nothing of it is kept, and returns why.
func (s *Service) refuse(ctx context.Context, id domain.JobID, key string, why error) error {
	if err := s.objects.Delete(ctx, key); err != nil {
		s.log.WarnContext(ctx, "could not delete refused upload", "job", id, "key", key, "err", err)
	}
	return fmt.Errorf("submit job %s: %w", id, why)
}

func (s *Service) create(ctx context.Context, id domain.JobID, user domain.UserID, name, key string, size int64, opts domain.JobOptions) (*domain.Job, error) {
	j, err := domain.NewJob(id, user, name, key, size, s.clock.Now())
	if err == nil {
		err = j.Choose(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("submit job %s: %w", id, err)
	}
	if err := s.jobs.Create(ctx, j); errors.Is(err, ports.ErrExists) {
		// A concurrent submit of the same id won; use its job.
		if j, err = s.jobs.Get(ctx, id); err != nil {
			return nil, fmt.Errorf("submit job %s: %w", id, err)
		}
		if j.Owner() != user {
			return nil, fmt.Errorf("submit job %s: %w", id, ports.ErrNotFound)
		}
	} else if err != nil {
		return nil, fmt.Errorf("submit job %s: %w", id, err)
	}
	s.log.InfoContext(ctx, "job submitted", "job", id, "user", user, "size", size)
	return j, s.request(ctx, j)
}

// request sends the annotation request of a PENDING job to the annotate
// queue, in its owner's message group. Duplicates are harmless: the runner
// claims with a conditional write.
func (s *Service) request(ctx context.Context, j *domain.Job) error {
	if j.Status() != domain.StatusPending {
		return nil
	}
	if err := message.Schedule(ctx, s.requests, message.JobRequest(j.ID(), j.Owner()), s.clock.Now()); err != nil {
		return fmt.Errorf("submit job %s: %w", j.ID(), err)
	}
	return nil
}

// Upload is the streaming path (local-mode form and API): it stores r at a
// new job's input key while counting bytes, and aborts the moment the tier
// limit is passed, so an oversize body is neither buffered nor kept.
func (s *Service) Upload(ctx context.Context, user domain.UserID, inputName string, r io.Reader) (*domain.Job, error) {
	return s.UploadWith(ctx, user, inputName, domain.JobOptions{}, r)
}

// UploadWith is Upload with the submitter's choices (reference, malformed
// lines).
func (s *Service) UploadWith(ctx context.Context, user domain.UserID, inputName string, opts domain.JobOptions, r io.Reader) (*domain.Job, error) {
	if err := errors.Join(domain.ValidateInputName(inputName), s.checkOptions(opts)); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	return s.store(ctx, user, inputName, opts, r)
}

// store stores r as a new job's input, refusing it the moment it passes
// the user's size limit, and creates the job.
func (s *Service) store(ctx context.Context, user domain.UserID, inputName string, opts domain.JobOptions, r io.Reader) (*domain.Job, error) {
	tier, err := s.tier(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	id := domain.JobID(s.ids.NewID())
	if !validID(id) {
		return nil, fmt.Errorf("upload: id generator produced unusable id %q", id)
	}
	key := InputKey(s.cfg.InputPrefix, user, id)
	limit := s.cfg.Policy.InputLimit(tier)
	lr := &limitReader{r: r, limit: limit}
	info, err := s.objects.Put(ctx, key, lr)
	if lr.exceeded || (err == nil && info.Size > limit) {
		// The store saw an error from our reader and must not have kept
		// anything; delete anyway in case an adapter committed a prefix.
		if derr := s.objects.Delete(ctx, key); derr != nil {
			s.log.WarnContext(ctx, "could not delete refused upload", "job", id, "key", key, "err", derr)
		}
		return nil, fmt.Errorf("upload: %w", s.cfg.Policy.TooLarge(tier, lr.n, lr.exceeded))
	}
	if err != nil {
		_ = s.objects.Delete(ctx, key)
		return nil, fmt.Errorf("upload: store input: %w", err)
	}
	j, err := s.create(ctx, id, user, inputName, key, info.Size, opts)
	switch {
	case err != nil && j == nil:
		_ = s.objects.Delete(ctx, key)
	case err != nil:
		// The job exists but its request was not sent, and nobody
		// can resubmit a streamed upload: withdraw it rather than leave
		// it PENDING forever.
		if _, cerr := Mutate(ctx, s.jobs, id, func(j *domain.Job) (bool, error) { return true, j.Cancel(s.clock.Now()) }); cerr != nil {
			s.log.ErrorContext(ctx, "job left pending without a request", "job", id, "err", cerr)
		}
		return nil, err
	}
	return j, err
}

// limitReader fails the read that would pass limit, so the object store
// aborts the write instead of storing an oversize file.
type limitReader struct {
	r        io.Reader
	limit, n int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, domain.ErrInputTooLarge
	}
	if room := l.limit - l.n + 1; int64(len(p)) > room {
		p = p[:room] // read at most one byte past the limit to detect it
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		l.exceeded = true
		return 0, domain.ErrInputTooLarge
	}
	return n, err
}

// Get returns a job to its owner; anybody else is told it does not exist,
// so job ids leak nothing.
func (s *Service) Get(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, error) {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	if j.Owner() != user {
		return nil, fmt.Errorf("get job %s: %w", id, ports.ErrNotFound)
	}
	return j, nil
}

// MaxListLimit caps a page of the job list.
const MaxListLimit = 100

// List pages through the user's jobs newest first; cursor is "" for the
// first page and the returned next cursor is "" after the last.
func (s *Service) List(ctx context.Context, user domain.UserID, cursor string, limit int) ([]*domain.Job, string, error) {
	if limit <= 0 || limit > MaxListLimit {
		return nil, "", fmt.Errorf("list jobs: %w: limit %d not in 1..%d", ErrInvalidRequest, limit, MaxListLimit)
	}
	js, next, err := s.jobs.ListByUser(ctx, user, cursor, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
	}
	return js, next, nil
}

// Cancel withdraws the owner's job while it is still PENDING; a job already
// running or finished is refused with a domain.TransitionError.
func (s *Service) Cancel(ctx context.Context, user domain.UserID, id domain.JobID) error {
	_, err := Mutate(ctx, s.jobs, id, func(j *domain.Job) (bool, error) {
		if j.Owner() != user {
			return false, ports.ErrNotFound
		}
		if j.Status() == domain.StatusCancelled {
			return false, nil
		}
		return true, j.Cancel(s.clock.Now())
	})
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

// Download says what the owner may do with the job's results now. It is
// the one decision a request makes: the page and the download act on it
// (DownloadURL) rather than deciding again a moment later, when the free
// window may have ended in between.
func (s *Service) Download(ctx context.Context, user domain.UserID, id domain.JobID) (*domain.Job, domain.DownloadDecision, error) {
	j, err := s.Get(ctx, user, id)
	if err != nil {
		return nil, domain.DownloadDecision{}, fmt.Errorf("download: %w", err)
	}
	owner, err := s.users.Get(ctx, user)
	if err != nil {
		return nil, domain.DownloadDecision{}, fmt.Errorf("download job %s: load owner: %w", id, err)
	}
	return j, domain.DecideDownload(j, owner, s.cfg.Policy, s.clock.Now()), nil
}

// DownloadURL presigns the annotated VCF of j as decision d (from
// Download) allows; otherwise the error wraps ErrNotDownloadable. A free
// user's link expires no later than their window (at least a second, for
// a decision taken just before it ended).
func (s *Service) DownloadURL(ctx context.Context, j *domain.Job, d domain.DownloadDecision) (string, error) {
	if d.State != domain.DownloadAllowed {
		return "", fmt.Errorf("download job %s: %w (%s)", j.ID(), ErrNotDownloadable, d.State)
	}
	expiry := s.cfg.DownloadExpiry
	if !d.ArchiveAt.IsZero() {
		expiry = min(expiry, max(d.ArchiveAt.Sub(s.clock.Now()), time.Second))
	}
	url, err := s.objects.PresignDownload(ctx, j.Results().VCF, AnnotatedName(j.InputName()), expiry)
	if err != nil {
		return "", fmt.Errorf("download job %s: %w", j.ID(), err)
	}
	return url, nil
}

// AnnotatedName is the file name users get for a job's annotated VCF:
// "sample.vcf.gz" becomes "sample.annot.vcf".
func AnnotatedName(input string) string {
	base := input
	for _, ext := range []string{".vcf.gz", ".vcf.bgz", ".vcf"} {
		if strings.HasSuffix(strings.ToLower(base), ext) {
			base = base[:len(base)-len(ext)]
			break
		}
	}
	return base + ".annot.vcf"
}
