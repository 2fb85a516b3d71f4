package memory

import (
	"crypto/rand"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gasproject/gas/ports"
)

// RandomIDs makes unguessable identifiers from crypto/rand: job ids appear
// in URLs and object keys, so they must not be enumerable.
type RandomIDs struct{}

// NewRandomIDs returns the production ID source.
func NewRandomIDs() RandomIDs { return RandomIDs{} }

// NewID returns 26 lower-case base32 characters (130 random bits), safe in
// URLs, object keys and case-insensitive file systems.
func (RandomIDs) NewID() string { return strings.ToLower(rand.Text()) }

// SequenceIDs makes predictable identifiers (prefix-000001, prefix-000002…)
// so tests can name the jobs they expect; the zero padding keeps them in
// creation order when sorted as strings.
type SequenceIDs struct {
	prefix string
	n      atomic.Uint64
}

// NewSequenceIDs starts a sequence; an empty prefix means "id".
func NewSequenceIDs(prefix string) *SequenceIDs {
	if prefix == "" {
		prefix = "id"
	}
	return &SequenceIDs{prefix: prefix}
}

// NewID returns the next identifier in the sequence.
func (s *SequenceIDs) NewID() string {
	return fmt.Sprintf("%s-%06d", s.prefix, s.n.Add(1))
}

var (
	_ ports.IDs = RandomIDs{}
	_ ports.IDs = (*SequenceIDs)(nil)
)
