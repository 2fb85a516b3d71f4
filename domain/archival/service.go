// Package archival implements ARCHITECTURE.md's archive and restore
// protocols: moving a free user's results to cold storage after the download
// window, and bringing every archived result of a user back when they
// upgrade. Each step is ordered so a crash anywhere loses nothing and each
// is idempotent, because the workers calling it get messages at least once.
package archival

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/jobs"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/message"
)

// Config is the deployment's choices for archiving.
type Config struct {
	// Policy gives the expected retrieval times recorded for users.
	Policy domain.Policy
	// ArchivePrefix is prepended to cold-storage keys ("archive/").
	ArchivePrefix string
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
}

// ErrRestorePending is returned by Restore while the retrieval is still
// running; the polling restorer checks again later.
var ErrRestorePending = errors.New("retrieval still in progress")

// errRetrievalGone means cold storage no longer knows a retrieval: its
// restored copy expired before it was written back, or the retrieval was
// lost. Waiting for it is pointless; a new one must be started.
var errRetrievalGone = errors.New("cold storage no longer knows the retrieval")

// errStale means the job changed under a step in a way that makes the
// step's result unwanted (another worker got there first); not a failure.
var errStale = errors.New("job changed concurrently")

// shaRecord is the PAX record carrying an entry's SHA-256 in the bundle, so
// a restore can prove it wrote back exactly what was archived.
const shaRecord = "GAS.sha256"

// Service runs the archive and restore protocols against the ports.
type Service struct {
	jobs     ports.JobStore
	users    ports.UserStore
	objects  ports.ObjectStore
	archive  ports.Archive
	restores ports.Queue
	clock    ports.Clock
	cfg      Config
	log      *slog.Logger
}

// NewService wires the protocols; restores is the restore queue, where the
// polling fallback's checks are scheduled.
func NewService(jobStore ports.JobStore, users ports.UserStore, objects ports.ObjectStore, archive ports.Archive,
	restores ports.Queue, clock ports.Clock, cfg Config) (*Service, error) {
	if jobStore == nil || users == nil || objects == nil || archive == nil || restores == nil || clock == nil {
		return nil, errors.New("archival service: every port is required")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("archival service: %w", err)
	}
	if cfg.ArchivePrefix == "" {
		cfg.ArchivePrefix = "archive/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{jobs: jobStore, users: users, objects: objects, archive: archive, restores: restores, clock: clock,
		cfg: cfg, log: log.With("service", "archival")}, nil
}

// Archive moves a free user's job results to cold storage (ARCHITECTURE.md,
// archive protocol steps 2-4). It skips a job that is not hot, or whose
// owner is premium now; writes the bundle under a key derived from the job;
// records the archive id and ARCHIVED with a conditional write; only then
// deletes the hot VCF and index (summary and log stay hot for the page);
// and finally re-reads the owner, starting a restore at once if they
// upgraded meanwhile. A redelivery finding the job already ARCHIVED repeats
// the last two steps, which a crash may have cut short.
func (s *Service) Archive(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		s.log.WarnContext(ctx, "archive: no such job", "job", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("archive job %s: %w", id, err)
	}
	if j.Status() != domain.StatusCompleted {
		return nil
	}
	switch {
	case j.Storage() == domain.StorageAvailable && j.ArchiveID() == "":
		premium, err := s.premium(ctx, j.Owner())
		if err != nil {
			return fmt.Errorf("archive job %s: %w", id, err)
		}
		if premium {
			return nil // upgraded while the job ran or waited: keep it hot
		}
		if j, err = s.archiveHot(ctx, j); err != nil || j == nil {
			return err
		}
	case j.Storage() == domain.StorageArchived || j.Storage() == domain.StorageRestoring:
	default:
		return nil // restored: nothing hot to archive
	}
	// The archive id is durable: the hot copy may go. Even if a restore
	// started meanwhile, it writes to new keys, so this cannot hit it.
	if err := s.deleteHot(ctx, j.Results()); err != nil {
		return fmt.Errorf("archive job %s: %w", id, err)
	}
	if j.Storage() == domain.StorageRestoring {
		// A redelivery after the restore below was recorded: make sure its
		// check is scheduled (a crash may have come between).
		return s.startRestore(ctx, id)
	}
	premium, err := s.premium(ctx, j.Owner())
	if err != nil {
		return fmt.Errorf("archive job %s: re-read owner: %w", id, err)
	}
	if premium {
		if err := s.startRestore(ctx, id); err != nil {
			return fmt.Errorf("archive job %s: owner upgraded meanwhile: %w", id, err)
		}
	}
	return nil
}

// archiveHot writes the bundle and records it, returning the job as
// ARCHIVED with the archived keys, or nil when the job moved on meanwhile.
// j must have been read before the owner was found free: the record is
// conditional on j's version, and a thaw bumps the versions of an upgraded
// user's hot jobs, so an archiver that checked the owner before an upgrade
// cannot record its copy after the thaw looked for archived jobs. On a
// conflict it reloads the job and checks the owner again.
func (s *Service) archiveHot(ctx context.Context, j *domain.Job) (*domain.Job, error) {
	id, keys := j.ID(), j.Results()
	archiveID, err := s.putBundle(ctx, jobs.ArchiveKey(s.cfg.ArchivePrefix, j), keys)
	if err != nil {
		return nil, fmt.Errorf("archive job %s: %w", id, err)
	}
	cur := j
	for range jobs.MaxConflictRetries {
		switch {
		case cur.Storage() == domain.StorageArchived && cur.Results() == keys:
			s.dropOrphan(ctx, id, archiveID, cur) // a duplicate delivery recorded it first
			return cur, nil
		case cur.Storage() != domain.StorageAvailable || cur.Results() != keys || cur.ArchiveID() != "":
			s.dropOrphan(ctx, id, archiveID, cur) // restored, or changed entirely
			return nil, nil
		}
		next := jobs.Clone(cur)
		if err := next.Archived(archiveID); err != nil {
			return nil, fmt.Errorf("archive job %s: %w", id, err)
		}
		recorded, err := s.jobs.Update(ctx, next)
		if err == nil {
			s.log.InfoContext(ctx, "job archived", "job", id, "archive", archiveID)
			return recorded, nil
		}
		if !errors.Is(err, ports.ErrConflict) {
			return nil, fmt.Errorf("archive job %s: record archive: %w", id, err)
		}
		if cur, err = s.jobs.Get(ctx, id); err != nil {
			return nil, fmt.Errorf("archive job %s: reload: %w", id, err)
		}
		if cur.Storage() == domain.StorageAvailable && cur.ArchiveID() == "" {
			premium, err := s.premium(ctx, cur.Owner())
			if err != nil {
				return nil, fmt.Errorf("archive job %s: %w", id, err)
			}
			if premium {
				// Upgraded while we archived: keep the results hot. The copy
				// stays in cold storage: with key-derived ids another
				// delivery may be about to record this very key after a
				// downgrade, so deleting it could lose the results. A later
				// archive of the same results overwrites and records it.
				s.log.InfoContext(ctx, "archive abandoned: owner upgraded meanwhile", "job", id, "archive", archiveID)
				return nil, nil
			}
		}
	}
	return nil, fmt.Errorf("archive job %s: record archive: still conflicting: %w", id, ports.ErrConflict)
}

// dropOrphan deletes an archive copy the job does not reference and never
// will: the job recorded a different copy of the same results, or its
// results moved to other keys (a restore), so no archiver can record this
// copy any more. (Deleting a copy some archiver might still record would
// lose results once it deletes the hot copy.)
func (s *Service) dropOrphan(ctx context.Context, id domain.JobID, archiveID string, cur *domain.Job) {
	if cur != nil && cur.ArchiveID() == archiveID {
		return
	}
	if err := s.archive.Delete(ctx, archiveID); err != nil {
		s.log.WarnContext(ctx, "could not delete orphaned archive copy", "job", id, "archive", archiveID, "err", err)
	}
}

func (s *Service) premium(ctx context.Context, user domain.UserID) (bool, error) {
	u, err := s.users.Get(ctx, user)
	if err != nil {
		return false, fmt.Errorf("load owner %s: %w", user, err)
	}
	return u.Premium(), nil
}

func (s *Service) deleteHot(ctx context.Context, keys domain.ResultKeys) error {
	for _, k := range []string{keys.VCF, keys.Index} {
		if k == "" {
			continue
		}
		if err := s.objects.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete hot copy %s: %w", k, err)
		}
	}
	return nil
}

// bundled is one file of the archive bundle.
type bundled struct {
	name string
	info ports.ObjectInfo
	r    io.ReadCloser
}

// putBundle streams the result VCF and index into cold storage as one tar,
// through a pipe: nothing is buffered whole. Objects are described and
// opened before streaming starts so every port call is made in order from
// this goroutine.
func (s *Service) putBundle(ctx context.Context, key string, keys domain.ResultKeys) (string, error) {
	var files []bundled
	defer func() {
		for _, f := range files {
			f.r.Close()
		}
	}()
	for _, e := range []struct{ name, key string }{{jobs.ResultVCFName, keys.VCF}, {jobs.ResultIndexName, keys.Index}} {
		if e.key == "" {
			continue
		}
		info, err := s.objects.Head(ctx, e.key)
		if err != nil {
			return "", fmt.Errorf("describe %s: %w", e.key, err)
		}
		r, err := s.objects.Get(ctx, e.key)
		if err != nil {
			return "", fmt.Errorf("open %s: %w", e.key, err)
		}
		files = append(files, bundled{name: e.name, info: info, r: r})
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writeBundle(pw, files)
		pw.CloseWithError(err)
		done <- err
	}()
	archiveID, err := s.archive.Put(ctx, key, pr)
	pr.CloseWithError(errors.New("archive upload ended")) // unblock the writer if Put stopped early
	werr := <-done
	if err != nil {
		return "", fmt.Errorf("put bundle %s: %w", key, errors.Join(err, werr))
	}
	if werr != nil { // Put claims success on a stream that failed: refuse it
		return "", fmt.Errorf("put bundle %s: %w", key, werr)
	}
	if archiveID == "" {
		return "", fmt.Errorf("put bundle %s: cold storage returned no archive id", key)
	}
	return archiveID, nil
}

func writeBundle(w io.Writer, files []bundled) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Size: f.info.Size, ModTime: f.info.ModTime, Format: tar.FormatPAX}
		if f.info.SHA256 != "" {
			hdr.PAXRecords = map[string]string{shaRecord: f.info.SHA256}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("bundle %s: %w", f.name, err)
		}
		h := sha256.New()
		if _, err := io.CopyN(tw, io.TeeReader(f.r, h), f.info.Size); err != nil {
			return fmt.Errorf("bundle %s: %w", f.name, err)
		}
		if n, _ := f.r.Read(make([]byte, 1)); n != 0 {
			return fmt.Errorf("bundle %s: object is larger than described", f.name)
		}
		if err := verify(h, f.info.SHA256); err != nil {
			return fmt.Errorf("bundle %s: %w", f.name, err)
		}
	}
	return tw.Close()
}

func verify(h hash.Hash, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("%w: sha256 %s, recorded %s", ports.ErrChecksum, got, want)
	}
	return nil
}

// Thaw restores every archived job of a premium user (restore protocol
// step 1): each gets an Expedited retrieval, or Standard when cold storage
// has no Expedited capacity, recorded as RESTORING with its tier and
// expected time, plus a scheduled restore check. Before listing archived
// jobs it fences archivers still working on the user's hot jobs (see
// fenceArchivers), so none can be archived unseen. Jobs already RESTORING get
// a fresh check whatever the user's plan now, which repairs a crash between
// recording a retrieval and scheduling its check.
func (s *Service) Thaw(ctx context.Context, user domain.UserID) error {
	var errs []error
	restoring, err := s.jobs.ListByStorage(ctx, user, domain.StorageRestoring)
	if err != nil {
		return fmt.Errorf("thaw %s: list restoring jobs: %w", user, err)
	}
	for _, j := range restoring {
		if err := s.scheduleCheck(ctx, j); err != nil {
			errs = append(errs, err)
		}
	}
	premium, err := s.premium(ctx, user)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		s.log.WarnContext(ctx, "thaw: no such user", "user", user)
	case err != nil:
		errs = append(errs, err)
	case !premium:
		s.log.InfoContext(ctx, "thaw: user is no longer premium; archived results stay archived", "user", user)
	default:
		if err := s.fenceArchivers(ctx, user); err != nil {
			return fmt.Errorf("thaw %s: %w", user, err)
		}
		archived, err := s.jobs.ListByStorage(ctx, user, domain.StorageArchived)
		if err != nil {
			return fmt.Errorf("thaw %s: list archived jobs: %w", user, err)
		}
		for _, j := range archived {
			if err := s.startRestore(ctx, j.ID()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("thaw %s: %w", user, err)
	}
	return nil
}

// fenceArchivers rewrites (unchanged) each of the user's hot jobs that
// could still be archived, bumping its version: an archiver that found the
// owner free before the upgrade then fails its conditional record and
// re-reads the owner (see archiveHot). Done before the thaw lists ARCHIVED
// jobs, it leaves no window for a job to be archived and missed.
func (s *Service) fenceArchivers(ctx context.Context, user domain.UserID) error {
	hot, err := s.jobs.ListByStorage(ctx, user, domain.StorageAvailable)
	if err != nil {
		return fmt.Errorf("list hot jobs: %w", err)
	}
	for _, j := range hot {
		if j.ArchiveID() != "" {
			continue
		}
		_, err := jobs.Mutate(ctx, s.jobs, j.ID(), func(cur *domain.Job) (bool, error) {
			return cur.Storage() == domain.StorageAvailable && cur.ArchiveID() == "", nil
		})
		if err != nil {
			return fmt.Errorf("fence job %s: %w", j.ID(), err)
		}
	}
	return nil
}

// startRestore initiates the retrieval of one ARCHIVED job, schedules its
// first check and records it, in that order: the check carries the
// retrieval, so if this worker dies before recording it (even after its
// message was handed to another), the check records it (see RestoreCheck).
// For a job already RESTORING it schedules a check again, repairing a lost
// one.
func (s *Service) startRestore(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	switch j.Storage() {
	case domain.StorageRestoring:
		return s.scheduleCheck(ctx, j)
	case domain.StorageArchived:
	default:
		return nil
	}
	r, err := s.initiate(ctx, id, j.ArchiveID())
	if err != nil {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	if err := s.record(ctx, id, r); err != nil && !errors.Is(err, errStale) {
		return fmt.Errorf("start restore of job %s: %w", id, err)
	}
	return nil
}

// initiate starts a retrieval of archiveID, Expedited or Standard when cold
// storage has no Expedited capacity, and schedules its first check before
// anything records it: the check carries the retrieval, so a crash before
// the record cannot leave it unchecked (see RestoreCheck).
func (s *Service) initiate(ctx context.Context, id domain.JobID, archiveID string) (Retrieval, error) {
	tier := domain.RetrievalExpedited
	retrieval, err := s.archive.InitiateRestore(ctx, archiveID, tier)
	if errors.Is(err, ports.ErrNoExpeditedCapacity) {
		tier = domain.RetrievalStandard
		retrieval, err = s.archive.InitiateRestore(ctx, archiveID, tier)
	}
	if err != nil {
		return Retrieval{}, err
	}
	now := s.clock.Now()
	r := Retrieval{ID: retrieval, ArchiveID: archiveID, Tier: tier, ExpectedBy: now.Add(s.cfg.Policy.ExpectedRestore(tier))}
	if err := message.Schedule(ctx, s.restores, message.RetrievalCheck(id, r.ID, r.ArchiveID, r.Tier, r.ExpectedBy), now); err != nil {
		return Retrieval{}, err
	}
	return r, nil
}

// Retrieval is a cold-storage retrieval started for a job, as a restore
// check carries it.
type Retrieval struct {
	ID, ArchiveID string
	Tier          domain.RetrievalTier
	ExpectedBy    time.Time
}

// record notes retrieval r on the job while it is still ARCHIVED under
// r.ArchiveID; errStale if it is not (another retrieval was recorded first).
func (s *Service) record(ctx context.Context, id domain.JobID, r Retrieval) error {
	_, err := jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageArchived || cur.ArchiveID() != r.ArchiveID {
			return false, errStale
		}
		return true, cur.RestoreStarted(r.ID, r.Tier, r.ExpectedBy)
	})
	if err == nil {
		s.log.InfoContext(ctx, "restore started", "job", id, "tier", r.Tier, "expected", r.ExpectedBy)
	}
	return err
}

// RestoreCheck is a scheduled check of retrieval r of a job: if the job is
// still ARCHIVED under r's archive (the thawer died before recording r),
// it records r first, or starts a new retrieval if cold storage forgot r;
// then it is Restore.
func (s *Service) RestoreCheck(ctx context.Context, id domain.JobID, r Retrieval) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	if r.ID != "" && j.Storage() == domain.StorageArchived && j.ArchiveID() == r.ArchiveID {
		_, err := s.archive.RestoreStatus(ctx, r.ID)
		if errors.Is(err, ports.ErrNotFound) {
			// Forgotten before anyone recorded it: start another.
			s.log.WarnContext(ctx, "unrecorded retrieval forgotten by cold storage; starting a new one", "job", id, "retrieval", r.ID)
			return s.startRestore(ctx, id)
		}
		if err != nil {
			return fmt.Errorf("restore job %s: adopt retrieval %s: %w", id, r.ID, err)
		}
		if err := s.record(ctx, id, r); err != nil && !errors.Is(err, errStale) {
			return fmt.Errorf("restore job %s: adopt retrieval %s: %w", id, r.ID, err)
		}
	}
	return s.Restore(ctx, id)
}

// scheduleCheck queues the polling fallback's first look at a retrieval,
// due when the retrieval is expected to be done.
func (s *Service) scheduleCheck(ctx context.Context, j *domain.Job) error {
	now := s.clock.Now()
	due := j.RestoreExpectedBy()
	if due.Before(now) {
		due = now
	}
	if err := message.Schedule(ctx, s.restores, message.RestoreCheck(j.ID(), due), now); err != nil {
		return fmt.Errorf("job %s: %w", j.ID(), err)
	}
	return nil
}

// Restore finishes a job's retrieval (restore protocol step 2): once cold
// storage has the bytes ready, it writes them back to new hot keys, marks
// the job AVAILABLE with a conditional write, and only then deletes the
// archive copy and forgets its id. While the retrieval runs it returns an
// error wrapping ErrRestorePending. Finding the job already restored, it
// just completes the clean-up. When cold storage has forgotten the
// retrieval (ports.ErrNotFound), it starts a new one (see retryLapsed).
func (s *Service) Restore(ctx context.Context, id domain.JobID) error {
	j, err := s.jobs.Get(ctx, id)
	if errors.Is(err, ports.ErrNotFound) {
		s.log.WarnContext(ctx, "restore: no such job", "job", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	switch j.Storage() {
	case domain.StorageAvailable:
		if j.ArchiveID() != "" {
			return s.forgetArchive(ctx, j)
		}
		return nil
	case domain.StorageRestoring:
	default:
		return nil
	}
	retrieval := j.RetrievalID()
	st, err := s.archive.RestoreStatus(ctx, retrieval)
	if errors.Is(err, ports.ErrNotFound) {
		return s.retryLapsed(ctx, id, retrieval)
	}
	if err != nil {
		return fmt.Errorf("restore job %s: poll retrieval: %w", id, err)
	}
	if !st.Done {
		return fmt.Errorf("restore job %s: %w", id, ErrRestorePending)
	}
	target := jobs.RestoredKeys(j.Results(), retrieval)
	if err := s.unbundle(ctx, retrieval, target); errors.Is(err, errRetrievalGone) {
		return s.retryLapsed(ctx, id, retrieval)
	} else if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	restored, err := jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		switch {
		case cur.Storage() == domain.StorageAvailable && cur.Results() == target:
			return false, nil // a duplicate delivery finished first
		case cur.Storage() != domain.StorageRestoring || cur.RetrievalID() != retrieval:
			return false, errStale
		}
		return true, cur.RestoredTo(target)
	})
	if errors.Is(err, errStale) {
		if restored == nil || restored.Results().VCF != target.VCF {
			s.deleteQuietly(ctx, target) // written for a retrieval nobody records
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: record restore: %w", id, err)
	}
	s.log.InfoContext(ctx, "job restored", "job", id, "tier", st.Tier)
	return s.forgetArchive(ctx, restored)
}

// retryLapsed replaces a retrieval cold storage has forgotten (it expired
// before the bytes were written back, or was lost): it starts a new one,
// Expedited first, schedules its check, and then moves the job from the
// lapsed retrieval to the new one in one conditional write
// (domain.Job.RestoreLapsed then RestoreStarted), so the job is never seen
// ARCHIVED with nothing left to bring it back. A crash before that write
// leaves the job on the lapsed retrieval, and the redelivery (or the new
// retrieval's check) comes here again; the unrecorded retrieval merely
// expires. If the job moved on meanwhile (restored, or another worker
// replaced the retrieval first), nothing is written.
func (s *Service) retryLapsed(ctx context.Context, id domain.JobID, lapsed string) error {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("restore job %s: %w", id, err)
	}
	if j.Storage() != domain.StorageRestoring || j.RetrievalID() != lapsed {
		return nil
	}
	s.log.WarnContext(ctx, "retrieval forgotten by cold storage; starting a new one", "job", id, "retrieval", lapsed)
	r, err := s.initiate(ctx, id, j.ArchiveID())
	if err != nil {
		return fmt.Errorf("restore job %s: replace lapsed retrieval %s: %w", id, lapsed, err)
	}
	_, err = jobs.Mutate(ctx, s.jobs, id, func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageRestoring || cur.RetrievalID() != lapsed || cur.ArchiveID() != r.ArchiveID {
			return false, errStale
		}
		if err := cur.RestoreLapsed(); err != nil {
			return false, err
		}
		return true, cur.RestoreStarted(r.ID, r.Tier, r.ExpectedBy)
	})
	if errors.Is(err, errStale) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore job %s: record retrieval %s replacing %s: %w", id, r.ID, lapsed, err)
	}
	s.log.InfoContext(ctx, "restore started again", "job", id, "tier", r.Tier, "expected", r.ExpectedBy)
	return nil
}

// forgetArchive deletes the archive copy of a restored job, then clears its id.
func (s *Service) forgetArchive(ctx context.Context, j *domain.Job) error {
	archiveID := j.ArchiveID()
	if err := s.archive.Delete(ctx, archiveID); err != nil {
		return fmt.Errorf("restore job %s: delete archive copy: %w", j.ID(), err)
	}
	_, err := jobs.Mutate(ctx, s.jobs, j.ID(), func(cur *domain.Job) (bool, error) {
		if cur.Storage() != domain.StorageAvailable || cur.ArchiveID() != archiveID {
			return false, nil
		}
		return true, cur.ArchiveDeleted()
	})
	if err != nil {
		return fmt.Errorf("restore job %s: forget archive copy: %w", j.ID(), err)
	}
	return nil
}

// unbundle writes a completed retrieval's tar back to the target keys,
// verifying each entry's size and SHA-256. On failure it leaves what it
// wrote: a duplicate delivery restoring the same retrieval writes the same
// keys and may be about to record them, so deleting them could lose the
// results; a retry overwrites them.
func (s *Service) unbundle(ctx context.Context, retrieval string, target domain.ResultKeys) error {
	rc, err := s.archive.OpenRestored(ctx, retrieval)
	if errors.Is(err, ports.ErrNotFound) {
		return fmt.Errorf("open retrieval %s: %w: %w", retrieval, errRetrievalGone, err)
	}
	if err != nil {
		return fmt.Errorf("open retrieval %s: %w", retrieval, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read bundle: %w", err)
		}
		var key string
		switch hdr.Name {
		case jobs.ResultVCFName:
			key = target.VCF
		case jobs.ResultIndexName:
			key = target.Index
		}
		if key == "" {
			return fmt.Errorf("read bundle: unexpected entry %q", hdr.Name)
		}
		h := sha256.New()
		info, err := s.objects.Put(ctx, key, io.TeeReader(tr, h))
		if err != nil {
			return fmt.Errorf("write back %s: %w", key, err)
		}
		if info.Size != hdr.Size {
			return fmt.Errorf("write back %s: %d bytes stored, %d archived", key, info.Size, hdr.Size)
		}
		if err := verify(h, hdr.PAXRecords[shaRecord]); err != nil {
			return fmt.Errorf("write back %s: %w", key, err)
		}
		seen[hdr.Name] = true
	}
	if !seen[jobs.ResultVCFName] || (target.Index != "" && !seen[jobs.ResultIndexName]) {
		return fmt.Errorf("read bundle: retrieval %s lacks the result VCF or index", retrieval)
	}
	return nil
}

func (s *Service) deleteQuietly(ctx context.Context, keys domain.ResultKeys) {
	if err := s.deleteHot(ctx, keys); err != nil {
		s.log.WarnContext(ctx, "could not delete unreferenced restored copy", "key", keys.VCF, "err", err)
	}
}
