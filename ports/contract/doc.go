// Package contract holds one test suite per port, exported so every
// implementation — the in-memory adapters and the AWS ones run against
// moto — is held to the same behaviour and the two cannot drift.
//
// Each suite is a function taking *testing.T and a factory; call it from a
// _test.go file of the adapter package:
//
//	func TestJobStore(t *testing.T) {
//		contract.TestJobStore(t, func(t *testing.T) ports.JobStore { return memory.NewMemoryJobStore() })
//	}
//
// Suites that involve time (queues, archives, presigned expiry) take a
// Sleep function from the fixture: a fake clock advances, a real adapter
// sleeps. Durations used are whole seconds (SQS's granularity) and short
// (1–4 s), so the suites also run in real time against moto. Factories may
// share a backing table or bucket between calls: the suites always use
// fresh random ids, keys and users.
package contract

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"
	"testing"
	"time"
)

// opTimeout bounds every call a suite makes, in real time, so a broken
// adapter (or a fake clock nobody advances) fails the test instead of
// hanging it.
const opTimeout = 30 * time.Second

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return ctx
}

// uniq returns prefix plus a random suffix, so suites can share backing
// stores between runs and subtests.
func uniq(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:12])
}

// pattern is a deterministic, incompressible-looking byte stream of a given
// length that is generated on the fly, so suites can stream many megabytes
// through an adapter without holding them.
type pattern struct {
	n, off int64
	seed   byte
}

func newPattern(n int64, seed byte) *pattern { return &pattern{n: n, seed: seed} }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	for i := range b {
		x := uint64(p.off+int64(i))*2654435761 + uint64(p.seed)*97
		b[i] = byte(x>>13) ^ byte(x>>5)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternBytes(n int64, seed byte) []byte {
	b, _ := io.ReadAll(newPattern(n, seed))
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hashOf(t *testing.T, r io.Reader) (string, int64) {
	t.Helper()
	var h hash.Hash = sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func readAll(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// eventually polls cond in real time for up to d; stores that are only
// eventually consistent (SQS statistics, SNS fan-out) pass as soon as the
// condition holds.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %s", what, d, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func equalBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (sha256 %s), want %d bytes (sha256 %s)", what, len(got), sha256Hex(got)[:12], len(want), sha256Hex(want)[:12])
	}
}
