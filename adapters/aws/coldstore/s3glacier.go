// Package coldstore implements ports.Archive on AWS cold storage, in the two
// forms GAS supports: S3 objects in the GLACIER (Flexible Retrieval) storage
// class — the default, since AWS closed Glacier vaults to new customers in
// December 2025 — and Glacier vaults for accounts that still have them.
// Both verify the SHA-256 recorded at archive time when the bytes come back,
// and both turn "no Expedited capacity" into ports.ErrNoExpeditedCapacity so
// the thawer falls back to Standard.
package coldstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// ErrRestoreInProgress is returned by OpenRestored before the retrieval has
// finished; the restorer checks again later.
var ErrRestoreInProgress = errors.New("retrieval has not completed")

// S3Glacier keeps archives as GLACIER-class objects in one bucket. The
// archive id is the object key (derived from the job by the caller), so a
// retried archive overwrites its earlier copy. A retrieval id is
// "<tier>:<key>": S3 restores objects in place, so the key names the
// retrieval and the tier is remembered for the user's page.
type S3Glacier struct {
	store *s3store.Store
	api   *s3.Client
	// days the restored copy stays readable; the restorer copies it back
	// to hot storage long before.
	days int32
}

var _ ports.Archive = (*S3Glacier)(nil)

// DefaultRestoreDays keeps a restored copy two days: Standard takes up to
// five hours, leaving the restorer ample time even after an outage.
const DefaultRestoreDays = 2

// NewS3Glacier archives into bucket through client. restoreDays <= 0 means
// DefaultRestoreDays.
func NewS3Glacier(client *s3.Client, bucket string, restoreDays int) (*S3Glacier, error) {
	store, err := s3store.New(client, s3store.Options{Bucket: bucket, StorageClass: types.StorageClassGlacier})
	if err != nil {
		return nil, fmt.Errorf("s3 glacier archive: %w", err)
	}
	if restoreDays <= 0 {
		restoreDays = DefaultRestoreDays
	}
	return &S3Glacier{store: store, api: client, days: int32(restoreDays)}, nil
}

// Put streams r into a GLACIER-class object under key, recording its
// SHA-256 (multipart above 8 MiB, nothing buffered whole).
func (a *S3Glacier) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	if _, err := a.store.Put(ctx, key, r); err != nil {
		return "", fmt.Errorf("archive %s: %w", key, err)
	}
	return key, nil
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func validTier(t domain.RetrievalTier) bool {
	return t == domain.RetrievalExpedited || t == domain.RetrievalStandard
}

// InitiateRestore asks S3 to restore the object at tier. A restore already
// running is success (a redelivered thaw must not fail), and the retrieval
// then has the tier running, not the one asked for (see runningTier).
// Expedited without capacity (GlacierExpeditedRetrievalNotAvailable, which
// the retryer is told not to retry) is ports.ErrNoExpeditedCapacity.
func (a *S3Glacier) InitiateRestore(ctx context.Context, archiveID string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	if !validTier(tier) {
		return ports.Retrieval{}, fmt.Errorf("restore %s: unknown tier %q", archiveID, tier)
	}
	_, err := a.api.RestoreObject(ctx, &s3.RestoreObjectInput{
		Bucket: aws.String(a.store.Bucket(archiveID)), Key: aws.String(archiveID),
		RestoreRequest: &types.RestoreRequest{
			Days:                 aws.Int32(a.days),
			GlacierJobParameters: &types.GlacierJobParameters{Tier: types.Tier(tier)},
		},
	})
	switch code := apiCode(err); {
	case err == nil:
		a.rememberTier(ctx, archiveID, tier)
	case code == "RestoreAlreadyInProgress":
		tier = a.runningTier(ctx, archiveID, tier)
	case code == "GlacierExpeditedRetrievalNotAvailable":
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, ports.ErrNoExpeditedCapacity)
	case code == "NoSuchKey" || code == "NotFound":
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, ports.ErrNotFound)
	case code == "ObjectAlreadyInActiveTierError":
		// Not in cold storage at all (e.g. a lifecycle rule was changed):
		// readable now, nothing to wait for.
	default:
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", archiveID, err)
	}
	return ports.Retrieval{ID: string(tier) + ":" + archiveID, Tier: tier}, nil
}

// tierSuffix names, beside an archive, the small STANDARD-class object that
// remembers the tier of the restore S3 runs on it: S3 does not tell (HEAD
// says only that a restore is ongoing), and the user must be shown the tier
// actually running. It is an object of its own, not a tag of the archive,
// so remembering never reads or rewrites the archive itself.
const tierSuffix = ".restore-tier"

// rememberTier records the tier of the restore S3 accepted (a new one, or
// an Expedited upgrade of a Standard one). It is best effort: without the
// record a later runningTier answers conservatively.
func (a *S3Glacier) rememberTier(ctx context.Context, key string, tier domain.RetrievalTier) {
	_, _ = a.api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(a.store.Bucket(key)), Key: aws.String(key + tierSuffix),
		Body: strings.NewReader(string(tier)), ContentType: aws.String("text/plain")})
}

// runningTier is the tier of the restore already in progress on key when a
// request at asked was refused with RestoreAlreadyInProgress. S3 accepts
// a faster tier as an upgrade, so a refused Expedited means Expedited is
// running; a refused Standard may hide either, and rememberTier's record
// tells which (without it, Standard: telling a user to expect the slower
// tier is the mistake that disappoints nobody).
func (a *S3Glacier) runningTier(ctx context.Context, key string, asked domain.RetrievalTier) domain.RetrievalTier {
	if asked == domain.RetrievalExpedited {
		return asked
	}
	out, err := a.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.store.Bucket(key)), Key: aws.String(key + tierSuffix)})
	if err != nil {
		return asked
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 64))
	if t := domain.RetrievalTier(b); err == nil && validTier(t) {
		return t
	}
	return asked
}

func parseRetrieval(retrievalID string) (domain.RetrievalTier, string, bool) {
	tier, key, ok := strings.Cut(retrievalID, ":")
	t := domain.RetrievalTier(tier)
	return t, key, ok && validTier(t) && key != ""
}

// RestoreStatus reads the object's restore state with HEAD: the polling
// fallback for the S3 restore-completed event (which may be late, or on
// moto only emitted when the object is next read). A retrieval that is
// neither running nor readable (it expired, or never existed) is
// ports.ErrNotFound, so the caller starts a new one.
func (a *S3Glacier) RestoreStatus(ctx context.Context, retrievalID string) (ports.RestoreStatus, error) {
	tier, key, ok := parseRetrieval(retrievalID)
	if !ok {
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, ports.ErrNotFound)
	}
	out, err := a.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(a.store.Bucket(key)), Key: aws.String(key)})
	if err != nil {
		if code := apiCode(err); code == "NotFound" || code == "NoSuchKey" {
			return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, ports.ErrNotFound)
		}
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, err)
	}
	restore := aws.ToString(out.Restore)
	switch {
	case strings.Contains(restore, `ongoing-request="true"`):
		return ports.RestoreStatus{Done: false, Tier: tier}, nil
	case strings.Contains(restore, `ongoing-request="false"`):
		return ports.RestoreStatus{Done: true, Tier: tier}, nil
	case out.StorageClass != types.StorageClassGlacier && out.StorageClass != types.StorageClassDeepArchive:
		return ports.RestoreStatus{Done: true, Tier: tier}, nil // in an active tier: readable
	}
	return ports.RestoreStatus{}, fmt.Errorf("restore status %s: no retrieval in flight or restored copy: %w", retrievalID, ports.ErrNotFound)
}

// OpenRestored reads the restored copy, verifying its SHA-256 at the end
// (ports.ErrChecksum on mismatch); ErrRestoreInProgress before it is ready.
func (a *S3Glacier) OpenRestored(ctx context.Context, retrievalID string) (io.ReadCloser, error) {
	_, key, ok := parseRetrieval(retrievalID)
	if !ok {
		return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, ports.ErrNotFound)
	}
	rc, err := a.store.Get(ctx, key)
	if err != nil {
		if apiCode(err) == "InvalidObjectState" {
			return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, ErrRestoreInProgress)
		}
		return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, err)
	}
	return rc, nil
}

// Delete removes the archive object and its restore-tier record; a missing
// one is not an error.
func (a *S3Glacier) Delete(ctx context.Context, archiveID string) error {
	if err := a.store.Delete(ctx, archiveID); err != nil {
		return fmt.Errorf("delete archive: %w", err)
	}
	if _, err := a.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.store.Bucket(archiveID)),
		Key: aws.String(archiveID + tierSuffix)}); err != nil {
		return fmt.Errorf("delete archive %s: restore-tier record: %w", archiveID, err)
	}
	return nil
}
