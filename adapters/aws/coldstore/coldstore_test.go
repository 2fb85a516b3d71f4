package coldstore_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glacier"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/awsfault"
	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/coldstore"
	"github.com/gasproject/gas/adapters/aws/s3store"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// s3Archive is a GLACIER-class archive on a fresh bucket whose client
// goes through an Expedited refuser.
func s3Archive(t *testing.T) (*coldstore.S3Glacier, *awstest.ExpeditedRefuser, *awstest.Env) {
	t.Helper()
	refuser := &awstest.ExpeditedRefuser{}
	env := awstest.New(t, awsconfig.WithHTTPClient(&http.Client{Transport: refuser}))
	b := env.Config.Names.ArchiveBucket
	if _, err := env.Clients.S3.CreateBucket(awstest.Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	a, err := coldstore.NewS3Glacier(env.Clients.S3, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a, refuser, env
}

func vaultArchive(t *testing.T) (*coldstore.Vault, *awstest.ExpeditedRefuser) {
	t.Helper()
	refuser := &awstest.ExpeditedRefuser{}
	env := awstest.New(t, awsconfig.WithHTTPClient(&http.Client{Transport: refuser}))
	v := env.Config.Names.Vault
	if _, err := env.Clients.Glacier.CreateVault(awstest.Ctx(t), &glacier.CreateVaultInput{VaultName: aws.String(v)}); err != nil {
		t.Fatal(err)
	}
	a, err := coldstore.NewVault(env.Clients.Glacier, v, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return a, refuser
}

func TestS3GlacierContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
		a, refuser, _ := s3Archive(t)
		return contract.ArchiveFixture{Archive: a, Sleep: time.Sleep, RefuseExpedited: refuser.Refuse, MaxRestore: 2 * time.Second, ModelsDeletion: true}
	})
}

func TestVaultContract(t *testing.T) {
	awstest.Endpoint(t)
	contract.TestArchive(t, func(t *testing.T) contract.ArchiveFixture {
		a, refuser := vaultArchive(t)
		// moto completes Expedited vault jobs in about 2 s, Standard in 5 s.
		// It does not model deleted archives (a second DeleteArchive is a
		// 500, InitiateJob for a deleted archive is accepted), so the suite
		// checks only the first delete; real Glacier answers
		// ResourceNotFoundException, which the adapter maps
		// (TestVaultDeleteThenRestore checks the mapping).
		return contract.ArchiveFixture{Archive: a, Sleep: time.Sleep, RefuseExpedited: refuser.Refuse, MaxRestore: 6 * time.Second, ModelsDeletion: false}
	})
}

// TestS3ExpeditedRefusalIsNotRetried: the 503 S3 answers when Expedited
// has no capacity is an answer, not an outage: the SDK retryer must not
// retry it (one refusal per call), and the caller gets ErrNoExpeditedCapacity
// at once and falls back to Standard.
func TestS3ExpeditedRefusalIsNotRetried(t *testing.T) {
	a, refuser, _ := s3Archive(t)
	ctx := awstest.Ctx(t)
	id, err := a.Put(ctx, "archive/u/j/abc.tar", strings.NewReader("tarball"))
	if err != nil {
		t.Fatal(err)
	}
	refuser.Refuse(true)
	start := time.Now()
	_, err = retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	if !errors.Is(err, ports.ErrNoExpeditedCapacity) {
		t.Fatalf("Expedited refused: %v, want ErrNoExpeditedCapacity", err)
	}
	if n := refuser.Refused(); n != 1 {
		t.Fatalf("the refusal was sent %d times: the retryer retried it", n)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusal took %s", took)
	}
	rid, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalStandard))
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.RestoreStatus(ctx, rid)
	if err != nil || !st.Done || st.Tier != domain.RetrievalStandard {
		t.Fatalf("status %+v, %v; want done (moto restores at once) at Standard", st, err)
	}
	// A redelivered thaw asks again: not an error.
	if again, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalStandard)); err != nil || again != rid {
		t.Fatalf("second restore: %q, %v", again, err)
	}
}

// TestS3RestoreVerifiesChecksum: an archive whose bytes no longer match the
// SHA-256 recorded when it was archived fails the restore read.
func TestS3RestoreVerifiesChecksum(t *testing.T) {
	a, _, env := s3Archive(t)
	ctx := awstest.Ctx(t)
	key := "archive/u/j/def.tar"
	id, err := a.Put(ctx, key, strings.NewReader("original bytes"))
	if err != nil {
		t.Fatal(err)
	}
	head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(env.Config.Names.ArchiveBucket), Key: aws.String(key)})
	if err != nil || head.StorageClass != "GLACIER" {
		t.Fatalf("archive storage class %q, %v", head.StorageClass, err)
	}
	rid, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := a.OpenRestored(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || string(b) != "original bytes" {
		t.Fatalf("restored %q, %v", b, err)
	}
	rc.Close()
	tags, _ := env.Clients.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(env.Config.Names.ArchiveBucket), Key: aws.String(key)})
	var sum string
	for _, tg := range tags.TagSet {
		if aws.ToString(tg.Key) == s3store.SHA256Tag {
			sum = aws.ToString(tg.Value)
		}
	}
	if _, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(env.Config.Names.ArchiveBucket), Key: aws.String(key), Body: bytes.NewReader([]byte("tampered bytes")),
		Tagging: aws.String(s3store.SHA256Tag + "=" + sum),
	}); err != nil {
		t.Fatal(err)
	}
	rc, err = a.OpenRestored(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, ports.ErrChecksum) {
		t.Fatalf("tampered archive read: %v, want ErrChecksum", err)
	}
}

// TestVaultRetrievalPolling: a vault retrieval is pending until Glacier
// (moto: about 2 s for Expedited) completes it; polling DescribeJob sees
// it finish, and the output is unreadable before and intact after.
func TestVaultRetrievalPolling(t *testing.T) {
	a, refuser := vaultArchive(t)
	ctx := awstest.Ctx(t)
	data := bytes.Repeat([]byte("vault bytes "), 100000)
	id, err := a.Put(ctx, "archive/u/j/123.tar", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	refuser.Refuse(true)
	if _, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited)); !errors.Is(err, ports.ErrNoExpeditedCapacity) {
		t.Fatalf("vault Expedited refused: %v", err)
	}
	refuser.Refuse(false)
	start := time.Now()
	rid, err := retrievalID(a.InitiateRestore(ctx, id, domain.RetrievalExpedited))
	if err != nil {
		t.Fatal(err)
	}
	st, err := a.RestoreStatus(ctx, rid)
	if err != nil || st.Done || st.Tier != domain.RetrievalExpedited {
		t.Fatalf("fresh retrieval status %+v, %v; want pending Expedited", st, err)
	}
	if _, err := a.OpenRestored(ctx, rid); !errors.Is(err, coldstore.ErrRestoreInProgress) {
		t.Fatalf("open before completion: %v, want ErrRestoreInProgress", err)
	}
	polls := 0
	for !st.Done {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("Expedited retrieval not done after %s", time.Since(start))
		}
		time.Sleep(250 * time.Millisecond)
		polls++
		if st, err = a.RestoreStatus(ctx, rid); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("Expedited vault retrieval completed after %s (%d polls)", time.Since(start).Round(100*time.Millisecond), polls)
	rc, err := a.OpenRestored(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("restored %d bytes, %v", len(got), err)
	}
}

// TestVaultDeleteThenRestore checks what moto can show of vault deletion:
// the archive's retrieval output is gone after DeleteArchive.
func TestVaultDeleteThenRestore(t *testing.T) {
	a, _ := vaultArchive(t)
	ctx := awstest.Ctx(t)
	id, err := a.Put(ctx, "archive/u/j/gone.tar", strings.NewReader("gone soon"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "not-a-vault-id"); err == nil {
		t.Fatal("deleting a malformed archive id succeeded")
	}
	if _, err := retrievalID(a.InitiateRestore(ctx, "archive/never.tar", domain.RetrievalStandard)); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("restore of a non-vault id: %v, want ErrNotFound", err)
	}
}

// TestS3RetrievalNamesTheTierRunning: a thaw that finds a restore already
// running (S3 answers 409 RestoreAlreadyInProgress, which moto never does,
// so it is injected below the SDK) reports the tier that restore runs at,
// not the one it asked for: an Expedited restore started by an attempt
// that died is not shown to the user as a five-hour Standard one. Without
// a record of the running tier, Standard is assumed.
func TestS3RetrievalNamesTheTierRunning(t *testing.T) {
	faults := &awsfault.Injector{}
	env := awstest.New(t, awsconfig.WithHTTPClient(awsconfig.HTTPClientWith(faults)))
	ctx := awstest.Ctx(t)
	b := env.Config.Names.ArchiveBucket
	if _, err := env.Clients.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	a, err := coldstore.NewS3Glacier(env.Clients.S3, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	inProgress := func() {
		faults.Respond(awsfault.All(awsfault.Query("restore"), awsfault.BodyContains("<Tier>Standard</Tier>")), 1, 409,
			"application/xml", nil, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>RestoreAlreadyInProgress</Code>`+
				`<Message>Object restore is already in progress</Message><RequestId>gas-test</RequestId></Error>`)
	}
	running, _ := a.Put(ctx, "archive/u/j1/abc.tar", strings.NewReader("tarball"))
	if _, err := a.InitiateRestore(ctx, running, domain.RetrievalExpedited); err != nil {
		t.Fatal(err)
	}
	inProgress() // the retry after a crash, Expedited now refused for capacity
	started, err := a.InitiateRestore(ctx, running, domain.RetrievalStandard)
	if err != nil || started.Tier != domain.RetrievalExpedited {
		t.Fatalf("asked Standard with Expedited running: %+v, %v; want the Expedited retrieval", started, err)
	}
	if st, err := a.RestoreStatus(ctx, started.ID); err != nil || st.Tier != domain.RetrievalExpedited {
		t.Fatalf("status of the retrieval: %+v, %v", st, err)
	}

	unknown, _ := a.Put(ctx, "archive/u/j2/abc.tar", strings.NewReader("tarball"))
	inProgress()
	started, err = a.InitiateRestore(ctx, unknown, domain.RetrievalStandard)
	if err != nil || started.Tier != domain.RetrievalStandard {
		t.Fatalf("asked Standard with an unrecorded restore running: %+v, %v; want Standard", started, err)
	}
	if faults.Hits() != 2 {
		t.Fatalf("the in-progress answer was given %d times, want 2", faults.Hits())
	}
}

// retrievalID keeps only the id of a started retrieval.
func retrievalID(r ports.Retrieval, err error) (string, error) { return r.ID, err }
