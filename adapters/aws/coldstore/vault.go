package coldstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/glacier/types"

	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// VaultAPI is the part of the Glacier client the vault archive uses.
type VaultAPI interface {
	UploadArchive(ctx context.Context, in *glacier.UploadArchiveInput, opts ...func(*glacier.Options)) (*glacier.UploadArchiveOutput, error)
	InitiateJob(ctx context.Context, in *glacier.InitiateJobInput, opts ...func(*glacier.Options)) (*glacier.InitiateJobOutput, error)
	DescribeJob(ctx context.Context, in *glacier.DescribeJobInput, opts ...func(*glacier.Options)) (*glacier.DescribeJobOutput, error)
	GetJobOutput(ctx context.Context, in *glacier.GetJobOutputInput, opts ...func(*glacier.Options)) (*glacier.GetJobOutputOutput, error)
	DeleteArchive(ctx context.Context, in *glacier.DeleteArchiveInput, opts ...func(*glacier.Options)) (*glacier.DeleteArchiveOutput, error)
}

// Vault keeps archives in a Glacier vault, as the original GAS did.
//
// Ids carry what Glacier does not give back: an archive id is
// "<glacier archive id>#<sha256>#<key>" and a retrieval id
// "<glacier job id>#<sha256>", so the restored bytes are verified against
// the digest taken when they were archived, and the retrieval job's
// description (the key, which names the job) lets the restore-completion
// notification be routed to the right GAS job.
//
// Unlike S3, a vault cannot overwrite: an archive retried after a crash
// between UploadArchive and recording its id leaves the first upload
// orphaned (found by a vault inventory). This is the vault API's limit.
type Vault struct {
	api      VaultAPI
	vault    string
	topicARN string
	tmpDir   string
}

var _ ports.Archive = (*Vault)(nil)

// NewVault archives into vault. topicARN (may be empty) is the SNS topic
// Glacier notifies when a retrieval job completes (restore-completions);
// the restorer also polls DescribeJob. tmpDir holds the spool file an
// upload needs (Glacier wants the tree hash before the body); "" means
// os.TempDir.
func NewVault(api VaultAPI, vault, topicARN, tmpDir string) (*Vault, error) {
	if api == nil || vault == "" {
		return nil, errors.New("glacier vault archive: client and vault name are required")
	}
	return &Vault{api: api, vault: vault, topicARN: topicARN, tmpDir: tmpDir}, nil
}

// Put spools r to a temporary file (hashing it), then uploads it in one
// request with the tree hash the SDK computes from the seekable file.
func (v *Vault) Put(ctx context.Context, key string, r io.Reader) (string, error) {
	if key == "" || strings.ContainsAny(key, "\x00") {
		return "", fmt.Errorf("archive %q: invalid key", key)
	}
	f, err := os.CreateTemp(v.tmpDir, "gas-vault-*")
	if err != nil {
		return "", fmt.Errorf("archive %s: spool: %w", key, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		return "", fmt.Errorf("archive %s: spool: %w", key, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("archive %s: spool: %w", key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	out, err := v.api.UploadArchive(ctx, &glacier.UploadArchiveInput{
		VaultName: aws.String(v.vault), Body: f, ArchiveDescription: aws.String(description(key)),
	})
	if err != nil {
		return "", fmt.Errorf("archive %s: upload: %w", key, err)
	}
	return aws.ToString(out.ArchiveId) + "#" + sum + "#" + key, nil
}

// description fits Glacier's rule: at most 1024 printable ASCII characters.
func description(key string) string {
	d := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, key)
	if len(d) > 1024 {
		d = d[:1024]
	}
	return d
}

func parseArchive(archiveID string) (id, sum, key string, ok bool) {
	parts := strings.SplitN(archiveID, "#", 3)
	if len(parts) != 3 || parts[0] == "" || len(parts[1]) != 64 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func parseVaultRetrieval(retrievalID string) (job, sum string, ok bool) {
	job, sum, ok = strings.Cut(retrievalID, "#")
	return job, sum, ok && job != "" && len(sum) == 64
}

func isResourceNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf) || apiCode(err) == "ResourceNotFoundException"
}

// InitiateRestore starts an archive-retrieval job at tier, announced on the
// restore-completions topic when done. InsufficientCapacityException for
// Expedited is ports.ErrNoExpeditedCapacity.
func (v *Vault) InitiateRestore(ctx context.Context, archiveID string, tier domain.RetrievalTier) (ports.Retrieval, error) {
	if !validTier(tier) {
		return ports.Retrieval{}, fmt.Errorf("restore %s: unknown tier %q", archiveID, tier)
	}
	id, sum, key, ok := parseArchive(archiveID)
	if !ok {
		return ports.Retrieval{}, fmt.Errorf("restore %s: not a vault archive id: %w", archiveID, ports.ErrNotFound)
	}
	params := &types.JobParameters{
		Type: aws.String("archive-retrieval"), ArchiveId: aws.String(id), Tier: aws.String(string(tier)),
		Description: aws.String(description(key)),
	}
	if v.topicARN != "" {
		params.SNSTopic = aws.String(v.topicARN)
	}
	out, err := v.api.InitiateJob(ctx, &glacier.InitiateJobInput{VaultName: aws.String(v.vault), JobParameters: params})
	if err != nil {
		var ic *types.InsufficientCapacityException
		switch {
		case errors.As(err, &ic) || apiCode(err) == "InsufficientCapacityException":
			return ports.Retrieval{}, fmt.Errorf("restore %s: %w", key, ports.ErrNoExpeditedCapacity)
		case isResourceNotFound(err):
			return ports.Retrieval{}, fmt.Errorf("restore %s: %w", key, ports.ErrNotFound)
		}
		return ports.Retrieval{}, fmt.Errorf("restore %s: %w", key, err)
	}
	return ports.Retrieval{ID: aws.ToString(out.JobId) + "#" + sum, Tier: tier}, nil
}

// RestoreStatus polls DescribeJob (Glacier's SNS notification is the fast
// path; on moto, which sends none, polling is the only one).
func (v *Vault) RestoreStatus(ctx context.Context, retrievalID string) (ports.RestoreStatus, error) {
	job, _, ok := parseVaultRetrieval(retrievalID)
	if !ok {
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, ports.ErrNotFound)
	}
	out, err := v.api.DescribeJob(ctx, &glacier.DescribeJobInput{VaultName: aws.String(v.vault), JobId: aws.String(job)})
	if err != nil {
		if isResourceNotFound(err) {
			return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, ports.ErrNotFound)
		}
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: %w", retrievalID, err)
	}
	if out.StatusCode == types.StatusCodeFailed {
		return ports.RestoreStatus{}, fmt.Errorf("restore status %s: retrieval failed: %s", retrievalID, aws.ToString(out.StatusMessage))
	}
	return ports.RestoreStatus{Done: out.Completed, Tier: domain.RetrievalTier(aws.ToString(out.Tier))}, nil
}

// OpenRestored streams the job output, verifying the archive's SHA-256.
// Before completion Glacier (and moto, with a bare 404) refuses: that is
// ErrRestoreInProgress when DescribeJob says the job is still running.
func (v *Vault) OpenRestored(ctx context.Context, retrievalID string) (io.ReadCloser, error) {
	job, sum, ok := parseVaultRetrieval(retrievalID)
	if !ok {
		return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, ports.ErrNotFound)
	}
	out, err := v.api.GetJobOutput(ctx, &glacier.GetJobOutputInput{VaultName: aws.String(v.vault), JobId: aws.String(job)})
	if err != nil {
		st, serr := v.RestoreStatus(ctx, retrievalID)
		switch {
		case serr != nil:
			return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, serr)
		case !st.Done:
			return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, ErrRestoreInProgress)
		}
		return nil, fmt.Errorf("open retrieval %s: %w", retrievalID, err)
	}
	return s3store.VerifySHA256(out.Body, sum, "retrieval "+job), nil
}

// Delete removes the archive; a missing one is not an error.
func (v *Vault) Delete(ctx context.Context, archiveID string) error {
	id, _, _, ok := parseArchive(archiveID)
	if !ok {
		return fmt.Errorf("delete archive %s: not a vault archive id", archiveID)
	}
	if _, err := v.api.DeleteArchive(ctx, &glacier.DeleteArchiveInput{VaultName: aws.String(v.vault), ArchiveId: aws.String(id)}); err != nil && !isResourceNotFound(err) {
		return fmt.Errorf("delete archive %s: %w", id, err)
	}
	return nil
}
