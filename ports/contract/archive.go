package contract

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// ArchiveFixture is cold storage under test and its time.
type ArchiveFixture struct {
	Archive ports.Archive
	// Sleep lets d of the archive's time pass (advance a fake clock or sleep).
	Sleep func(d time.Duration)
	// RefuseExpedited makes the archive answer Expedited requests as if it
	// had no capacity (true) or serve them again (false): the memory archive
	// has a switch, the AWS fixture injects GlacierExpeditedRetrievalNotAvailable
	// through the client's HTTP transport.
	RefuseExpedited func(refuse bool)
	// MaxRestore is the longest a retrieval of either tier may take in this
	// fixture (e.g. a few seconds against moto or a short fake setting).
	MaxRestore time.Duration
	// ModelsDeletion says the server behind the archive remembers deleted
	// archives: deleting one again succeeds and restoring it fails with
	// ErrNotFound. Real cold storage and the memory archive do. moto's
	// Glacier vault does not (a second DeleteArchive is a 500, a retrieval
	// of a deleted archive is accepted), so its fixture clears this and the
	// suite checks only that the first delete succeeds; the adapter's own
	// tests cover its mapping of AWS's not-found answers.
	ModelsDeletion bool
}

// TestArchive checks a ports.Archive: streaming put, retrieval with the
// requested tier that completes and returns the bytes, overwrite by key,
// idempotent delete, ErrNotFound for unknown ids, and
// ErrNoExpeditedCapacity with Standard still served.
func TestArchive(t *testing.T, newArchive func(t *testing.T) ArchiveFixture) {
	for _, tier := range []domain.RetrievalTier{domain.RetrievalExpedited, domain.RetrievalStandard} {
		t.Run("PutRestoreOpen"+string(tier), func(t *testing.T) {
			t.Parallel()
			fx, ctx := newArchive(t), ctxFor(t)
			data := patternBytes(3<<20+17, 7)
			key := uniq("archive/job") + ".tar"
			id, err := fx.Archive.Put(ctx, key, newPattern(int64(len(data)), 7))
			must(t, err)
			if id == "" {
				t.Fatalf("Put returned an empty archive id")
			}
			started, err := fx.Archive.InitiateRestore(ctx, id, tier)
			must(t, err)
			rid := started.ID
			if rid == "" || started.Tier != tier {
				t.Fatalf("InitiateRestore returned %+v, want a retrieval id at %s", started, tier)
			}
			st := awaitRestore(t, fx, rid)
			if st.Tier != tier {
				t.Fatalf("retrieval tier %q, want %q", st.Tier, tier)
			}
			rc, err := fx.Archive.OpenRestored(ctx, rid)
			must(t, err)
			equalBytes(t, "restored archive", readAll(t, rc), data)
		})
	}
	t.Run("PutSameKeyOverwrites", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newArchive(t), ctxFor(t)
		key := uniq("archive/job") + ".tar"
		_, err := fx.Archive.Put(ctx, key, bytes.NewReader([]byte("first attempt")))
		must(t, err)
		id, err := fx.Archive.Put(ctx, key, bytes.NewReader([]byte("second attempt")))
		must(t, err)
		started, err := fx.Archive.InitiateRestore(ctx, id, domain.RetrievalStandard)
		must(t, err)
		rid := started.ID
		awaitRestore(t, fx, rid)
		rc, err := fx.Archive.OpenRestored(ctx, rid)
		must(t, err)
		equalBytes(t, "archive after a retried put", readAll(t, rc), []byte("second attempt"))
	})
	t.Run("NoExpeditedCapacityFallsBackToStandard", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newArchive(t), ctxFor(t)
		if fx.RefuseExpedited == nil {
			t.Fatalf("fixture has no RefuseExpedited switch; every Archive fixture must provide one")
		}
		id, err := fx.Archive.Put(ctx, uniq("archive/job")+".tar", bytes.NewReader([]byte("payload")))
		must(t, err)
		fx.RefuseExpedited(true)
		if _, err := fx.Archive.InitiateRestore(ctx, id, domain.RetrievalExpedited); !errors.Is(err, ports.ErrNoExpeditedCapacity) {
			t.Fatalf("Expedited while refused: got %v, want ErrNoExpeditedCapacity", err)
		}
		started, err := fx.Archive.InitiateRestore(ctx, id, domain.RetrievalStandard)
		must(t, err)
		rid := started.ID
		if st := awaitRestore(t, fx, rid); st.Tier != domain.RetrievalStandard || started.Tier != domain.RetrievalStandard {
			t.Fatalf("fallback retrieval tier %q", st.Tier)
		}
		rc, err := fx.Archive.OpenRestored(ctx, rid)
		must(t, err)
		equalBytes(t, "standard fallback", readAll(t, rc), []byte("payload"))
		fx.RefuseExpedited(false)
		if _, err := fx.Archive.InitiateRestore(ctx, id, domain.RetrievalExpedited); err != nil {
			t.Fatalf("Expedited after capacity returned: %v", err)
		}
	})
	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newArchive(t), ctxFor(t)
		id, err := fx.Archive.Put(ctx, uniq("archive/job")+".tar", bytes.NewReader([]byte("gone soon")))
		must(t, err)
		must(t, fx.Archive.Delete(ctx, id))
		if !fx.ModelsDeletion {
			return
		}
		must(t, fx.Archive.Delete(ctx, id))
		if _, err := fx.Archive.InitiateRestore(ctx, id, domain.RetrievalStandard); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("restore of a deleted archive: got %v, want ErrNotFound", err)
		}
	})
	t.Run("UnknownIDsAreErrNotFound", func(t *testing.T) {
		t.Parallel()
		fx, ctx := newArchive(t), ctxFor(t)
		if _, err := fx.Archive.InitiateRestore(ctx, uniq("archive/never")+".tar", domain.RetrievalStandard); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("restore of an unknown archive: got %v, want ErrNotFound", err)
		}
		if _, err := fx.Archive.RestoreStatus(ctx, uniq("retrieval-never")); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("status of an unknown retrieval: got %v, want ErrNotFound", err)
		}
		if _, err := fx.Archive.OpenRestored(ctx, uniq("retrieval-never")); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("open of an unknown retrieval: got %v, want ErrNotFound", err)
		}
	})
}

// awaitRestore polls a retrieval, letting fixture time pass, until it is
// done or MaxRestore (plus slack) has passed.
func awaitRestore(t *testing.T, fx ArchiveFixture, rid string) ports.RestoreStatus {
	t.Helper()
	step := max(500*time.Millisecond, fx.MaxRestore/50)
	limit := fx.MaxRestore + 5*time.Second
	for waited := time.Duration(0); ; waited += step {
		st, err := fx.Archive.RestoreStatus(ctxFor(t), rid)
		must(t, err)
		if st.Done {
			return st
		}
		if waited > limit {
			t.Fatalf("retrieval %s not done after %s", rid, waited)
		}
		fx.Sleep(step)
	}
}
