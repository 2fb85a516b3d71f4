// Package ports holds the interfaces the GAS domain needs from the world,
// written in domain types. Adapters (memory, aws, oidc, engine) implement
// them; services and workers see the world only through them.
package ports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/gasproject/gas/domain"
)

//go:generate go tool moq -out mocks/ports_moq.go -pkg mocks . JobStore UserStore ObjectStore Queue Publisher Archive Mailer Billing SessionStore

// Errors every adapter returns (wrapped with context) so services can react
// to them without knowing the technology.
var (
	// ErrNotFound: no such job, user, object or archive.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a conditional write lost to a concurrent one (stale version).
	ErrConflict = errors.New("conflicting concurrent update")
	// ErrExists: a create found the item already there.
	ErrExists = errors.New("already exists")
	// ErrNoExpeditedCapacity: cold storage cannot take an Expedited retrieval
	// now; callers fall back to Standard.
	ErrNoExpeditedCapacity = errors.New("no expedited retrieval capacity")
	// ErrTooLarge: an upload exceeded the size limit it was allowed.
	ErrTooLarge = errors.New("object larger than allowed")
	// ErrChecksum: stored bytes do not match the checksum recorded at write.
	ErrChecksum = errors.New("checksum mismatch")
)

// Clock is injected so the domain never calls time.Now and tests can move
// time forward through a download window in microseconds.
type Clock interface {
	Now() time.Time
}

// IDs makes new unique identifiers (job ids, tokens); injected so tests are
// reproducible.
type IDs interface {
	NewID() string
}

// JobStore persists jobs. Every change is a conditional write on the job's
// version so two workers, or a redelivered message, can never both win.
type JobStore interface {
	// Create stores a new job; ErrExists if its id is taken.
	Create(ctx context.Context, job *domain.Job) error
	// Get returns a job; ErrNotFound if absent.
	Get(ctx context.Context, id domain.JobID) (*domain.Job, error)
	// Update writes job if the stored version still equals job.Version(),
	// returning the job at its new version; ErrConflict otherwise.
	Update(ctx context.Context, job *domain.Job) (*domain.Job, error)
	// ListByUser pages through a user's jobs newest first. cursor is opaque
	// ("" for the first page); next is "" after the last page.
	ListByUser(ctx context.Context, user domain.UserID, cursor string, limit int) (jobs []*domain.Job, next string, err error)
	// ListByStorage returns a user's completed jobs in a storage state (the
	// thawer lists ARCHIVED ones). It may read an index that lags behind
	// the jobs themselves (DynamoDB's global secondary indexes are
	// eventually consistent), so it can miss a job changed a moment ago;
	// nothing may depend on it alone (the reconciler's Scan is the backstop).
	ListByStorage(ctx context.Context, user domain.UserID, state domain.Storage) ([]*domain.Job, error)
	// Delete removes a job if the stored version still equals version
	// (its owner deleted it, after its objects): ErrConflict if the job
	// changed meanwhile, ErrNotFound if it is gone already.
	Delete(ctx context.Context, id domain.JobID, version int64) error
	// Scan calls visit for every job in the store, each once and in no
	// particular order, read as strongly as Get reads (the table itself,
	// never an index), so the reconciler can take decisions from what it
	// sees. A job created or changed during the scan may be seen before or
	// after the change. An error from visit stops the scan and is returned.
	Scan(ctx context.Context, visit func(*domain.Job) error) error
}

// UserStore persists profiles. Like JobStore, every change after creation is
// a conditional write on the profile's version: a sign-in (contact fields)
// and a plan change (tier) racing on one profile would otherwise each
// overwrite the other's change with a stale copy. With the version check
// the loser gets ErrConflict and re-applies its change to the latest copy.
type UserStore interface {
	// Create stores a new profile; ErrExists if the user already has one
	// (two first sign-ins raced), so it never replaces a profile.
	Create(ctx context.Context, user *domain.User) error
	// Get returns a profile; ErrNotFound if the user never signed in.
	Get(ctx context.Context, id domain.UserID) (*domain.User, error)
	// Update replaces a profile only if the stored version still equals
	// user.Version(), returning the profile at its new version; ErrConflict
	// if another write got there first, ErrNotFound if there is no profile.
	Update(ctx context.Context, user *domain.User) (*domain.User, error)
	// List pages through every profile, in no particular order, for the
	// operators (`gas users list`, the admin page). cursor is opaque (""
	// for the first page); next is "" after the last page.
	List(ctx context.Context, cursor string, limit int) (users []*domain.User, next string, err error)
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// SHA256 is the hex SHA-256 of the bytes where the store records one
	// on write (S3, which verifies every read against it, and memory).
	// The disk store records none: hashing every result as it streams
	// would cost each job a CPU-bound pass over hundreds of megabytes for
	// a digest only archiving uses, so the archiver (ports.Bundler) hashes
	// what it bundles instead. Never a wrong digest: "" or the right one.
	SHA256  string
	ModTime time.Time
}

// UploadForm is what a browser needs to post a file straight into object
// storage: the action URL and the hidden fields (policy, signature, key).
type UploadForm struct {
	URL    string
	Fields map[string]string
	// Key is where the uploaded object will be stored.
	Key string
}

// ObjectStore holds inputs and hot results. Reads and writes stream; nothing
// buffers a whole file.
type ObjectStore interface {
	// Put streams r to key and returns what was stored.
	Put(ctx context.Context, key string, r io.Reader) (ObjectInfo, error)
	// Get opens key for reading; ErrNotFound if absent.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange opens length bytes of key from offset (length < 0: to the end).
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Head describes key; ErrNotFound if absent.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// PresignUpload makes a browser upload form for key that refuses bodies
	// over maxSize and redirects to redirect on success.
	PresignUpload(ctx context.Context, key string, maxSize int64, redirect string, expires time.Duration) (UploadForm, error)
	// PresignDownload makes a short-lived URL that downloads key as
	// filename, served as MediaType(filename) and never cached.
	PresignDownload(ctx context.Context, key, filename string, expires time.Duration) (string, error)
}

// Message is one delivery from a queue.
type Message struct {
	ID      string
	Body    []byte
	Receipt string // handle for Delete and ExtendVisibility of this delivery
	// Receives counts deliveries of this message, including this one.
	Receives int
	// Group is the tenant the sender named (Outgoing.Group), "" for none.
	Group string
}

// Outgoing is one message to send to a queue.
type Outgoing struct {
	Body []byte
	// Delay keeps the message invisible until it has passed.
	Delay time.Duration
	// Group names the tenant the message is for (the user id of an
	// annotation request), so a queue shared by many users can keep one
	// user's backlog from delaying everyone else's messages: on SQS it is
	// the MessageGroupId that makes a standard queue a fair queue. ""
	// belongs to no tenant.
	Group string
}

// QueueStats are queue depths for metrics and readiness.
type QueueStats struct {
	Visible, InFlight, Delayed int
}

// Queue is an at-least-once work queue with delays and visibility timeouts.
// A message received more than the queue's configured number of times goes
// to its dead-letter queue instead of being delivered again.
type Queue interface {
	// Send enqueues m.Body, invisible until m.Delay has passed; its
	// deliveries carry m.Group.
	Send(ctx context.Context, m Outgoing) error
	// Receive waits up to wait for at most max messages, each hidden from
	// other receivers for visibility unless deleted or extended.
	Receive(ctx context.Context, max int, visibility, wait time.Duration) ([]Message, error)
	// Delete acknowledges a delivery; call it only after its effects are durable.
	Delete(ctx context.Context, receipt string) error
	// ExtendVisibility keeps a delivery hidden for d from now; d = 0 releases it at once.
	ExtendVisibility(ctx context.Context, receipt string, d time.Duration) error
	// Stats reports depths.
	Stats(ctx context.Context) (QueueStats, error)
}

// Publisher publishes events to a topic fanned out to subscribed queues.
type Publisher interface {
	Publish(ctx context.Context, body []byte) error
}

// RestoreStatus is the progress of a cold-storage retrieval.
type RestoreStatus struct {
	Done bool
	Tier domain.RetrievalTier
}

// Retrieval is a cold-storage retrieval as it was started.
type Retrieval struct {
	// ID names it for RestoreStatus and OpenRestored.
	ID string
	// Tier is the tier it runs at: the one asked for, or that of a
	// retrieval of the same archive already running (S3 restores an object
	// once at a time). It is what the user is told to expect.
	Tier domain.RetrievalTier
}

// Archive is cold storage.
type Archive interface {
	// Put streams r into cold storage under key (derived from the job, so a
	// retry overwrites rather than orphans) and returns the archive id.
	Put(ctx context.Context, key string, r io.Reader) (archiveID string, err error)
	// InitiateRestore starts a retrieval; ErrNoExpeditedCapacity when an
	// Expedited one cannot be served now.
	InitiateRestore(ctx context.Context, archiveID string, tier domain.RetrievalTier) (Retrieval, error)
	// RestoreStatus polls a retrieval.
	RestoreStatus(ctx context.Context, retrievalID string) (RestoreStatus, error)
	// OpenRestored reads a completed retrieval's bytes.
	OpenRestored(ctx context.Context, retrievalID string) (io.ReadCloser, error)
	// Delete removes an archive; deleting a missing one is not an error.
	Delete(ctx context.Context, archiveID string) error
}

// Bundler packs a job's hot results (the annotated VCF and its index) into
// the one object cold storage keeps, and unpacks it again. The format is a
// codec, so it is an adapter; the archive protocol only decides when.
type Bundler interface {
	// Bundle opens keys' objects (every object-store call is made before it
	// returns) and streams them as one bundle; reading fails if an object
	// does not match its recorded size or checksum.
	Bundle(ctx context.Context, keys domain.ResultKeys) (io.ReadCloser, error)
	// Unbundle writes bundle r back under target, verifying sizes and
	// checksums; it fails if r lacks target's VCF or index.
	Unbundle(ctx context.Context, r io.Reader, target domain.ResultKeys) error
}

// Email is one rendered e-mail.
type Email struct {
	// User is the account the e-mail is for: the local outbox files mail
	// by it, never by address, since addresses compare loosely.
	User    domain.UserID
	To      string
	Subject string
	Text    string
	HTML    string
}

// ErrInvalidEmail is wrapped when an e-mail cannot be sent as given.
var ErrInvalidEmail = errors.New("invalid e-mail")

// Validate is what every Mailer checks before sending e (the rules a mail
// service applies, so the local outboxes refuse what SES would): one
// recipient address — a RejectedError otherwise, since no retry can
// deliver it — a subject without line breaks, and a body.
func (e Email) Validate() error {
	_, err := mail.ParseAddress(e.To)
	switch {
	case strings.TrimSpace(e.To) == "" || err != nil:
		return fmt.Errorf("%w: %w", ErrInvalidEmail, &RejectedError{Reason: fmt.Sprintf("%q is not an e-mail address", e.To)})
	case strings.TrimSpace(e.Subject) == "":
		return fmt.Errorf("%w: no subject", ErrInvalidEmail)
	case e.Text == "" && e.HTML == "":
		return fmt.Errorf("%w: no body", ErrInvalidEmail)
	case strings.ContainsAny(e.Subject, "\r\n"):
		return fmt.Errorf("%w: subject contains a line break", ErrInvalidEmail)
	}
	return nil
}

// Mailer sends e-mail: SES or SMTP on AWS, the outbox page in local mode.
type Mailer interface {
	// Send delivers e; an address the service refuses for good (an
	// unverified recipient, a malformed address) wraps ErrRejected.
	Send(ctx context.Context, e Email) error
}

// ErrRejected marks an e-mail the mail service refused for good, which no
// retry can fix; the refusal is recorded on the job instead.
var ErrRejected = errors.New("e-mail rejected")

// RejectedError is ErrRejected with the mail service's reason, which the
// job page shows its owner ("e-mail could not be delivered: …").
type RejectedError struct {
	Reason string
}

func (e *RejectedError) Error() string { return ErrRejected.Error() + ": " + e.Reason }

// Is makes a RejectedError match ErrRejected.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Composer renders a domain.Notice as an e-mail. Wording, HTML and the
// links back to the site are presentation, so they live in an adapter and
// the domain only decides what to tell.
type Composer interface {
	Compose(n domain.Notice) (Email, error)
}

// Identity is who signed in, as the identity provider vouches.
type Identity struct {
	Subject     domain.UserID
	Name        string
	Email       string
	Institution string
}

// AuthRequest carries the per-sign-in secrets the web layer keeps in the
// session between redirect and callback.
type AuthRequest struct {
	State, Nonce, CodeVerifier string
}

// IdentityProvider is the OAuth2/OIDC sign-in (Globus Auth in production).
type IdentityProvider interface {
	// AuthURL is where to send the browser to sign in.
	AuthURL(req AuthRequest) string
	// Exchange trades the callback's code for a verified identity.
	Exchange(ctx context.Context, code string, req AuthRequest) (Identity, error)
}

// Annotator annotates jobs: it reads a job's input object and stores the
// results under the given keys — the annotated VCF, its variant-table
// index, the summary and the log — streaming, never holding a whole file.
// A deployment may hold several annotation databases (GRCh38 and GRCh37,
// say); each job names the one it is to be annotated against. The engine,
// the index and the summary format are adapters' business; the runner only
// decides when, under which lease, and what to record. Implementations
// hold their reference data loaded once and are safe for concurrent use.
type Annotator interface {
	// References names the annotation databases jobs can be annotated
	// against, the default (the one for an empty name) first.
	References() []string
	// Annotate stores the results of one job. Input errors wrap
	// ErrBadInput, and so does a reference this annotator does not hold
	// (with ErrUnknownReference); an input past the request's limits
	// (checked while it streams: the VCF text once decompressed, the
	// variant records; zero is unbounded) fails with limits.Exceeded's
	// error, wrapped in ErrBadInput; a missing input object wraps
	// ErrNotFound. On error some of the keys may have been written; the
	// caller deletes them.
	Annotate(ctx context.Context, req AnnotationRequest) (Annotated, error)
}

// AnnotationRequest is one job's annotation.
type AnnotationRequest struct {
	Input   string             // the input object's key
	Keys    domain.ResultKeys  // where the results go
	Options domain.JobOptions  // the reference ("" the default) and how to treat malformed lines
	Limits  domain.InputLimits // the owner's plan's bounds on the input
}

// Annotated is what an annotation stored.
type Annotated struct {
	// Keys are the objects written: the keys asked for, without Index when
	// the annotator keeps no variant index.
	Keys    domain.ResultKeys
	Summary domain.Summary
	// Reference names the annotation database used.
	Reference string
}

// ErrUnknownReference marks a job asking for an annotation database the
// deployment does not hold.
var ErrUnknownReference = errors.New("no such annotation database")

// ErrBadInput marks an annotation failure caused by the user's file, which
// no retry can fix; its message is shown to the user.
var ErrBadInput = errors.New("bad input")

// Billing takes payment for premium; local mode's adapter needs no card.
type Billing interface {
	Subscribe(ctx context.Context, user domain.UserID) error
	Cancel(ctx context.Context, user domain.UserID) error
}

// APIToken is a personal API token as stored. Only the SHA-256 of the
// secret is kept (the secret is shown to its owner once, at creation), so a
// leaked table or backup yields no usable token and a lookup needs nothing
// but the hash of the presented bearer secret.
type APIToken struct {
	ID        string        // short, URL-safe; unique per user, names the token in the revoke URL
	User      domain.UserID // owner: requests with this token act as this user
	Name      string        // the owner's label ("laptop", "pipeline")
	Hash      string        // hex SHA-256 of the secret: 64 lowercase hex digits
	CreatedAt time.Time
	LastUsed  time.Time // zero until first used
}

// ErrInvalidToken marks a token a store refuses to create (missing id,
// owner or creation time, or a hash that is not a hex SHA-256), so a bug
// that would store a secret instead of its hash fails loudly.
var ErrInvalidToken = errors.New("invalid API token")

// Validate checks what every TokenStore requires before storing t; the
// error wraps ErrInvalidToken.
func (t APIToken) Validate() error {
	switch {
	case t.ID == "" || t.User == "":
		return fmt.Errorf("token %q of %q: id and user are required: %w", t.ID, t.User, ErrInvalidToken)
	case t.CreatedAt.IsZero():
		return fmt.Errorf("token %s: creation time is required: %w", t.ID, ErrInvalidToken)
	case !isSHA256Hex(t.Hash):
		return fmt.Errorf("token %s: hash is not a lowercase hex SHA-256: %w", t.ID, ErrInvalidToken)
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// TokenStore keeps personal API tokens for the JSON API's bearer
// authentication. It is a port rather than web-layer state because tokens
// must outlive a web process and be shared by every web server behind the
// load balancer: memory in local mode, a DynamoDB table on AWS.
// Implementations store tokens hashed (APIToken.Hash) and never see secrets.
type TokenStore interface {
	// Create stores a new token; ErrExists if a token with the same hash,
	// or the same id for the same user, is already stored.
	Create(ctx context.Context, t APIToken) error
	// ByHash finds the token with the given secret hash; ErrNotFound if none.
	ByHash(ctx context.Context, hash string) (APIToken, error)
	// List returns a user's tokens, newest first (ties by id, ascending);
	// empty, not an error, for a user without tokens.
	List(ctx context.Context, user domain.UserID) ([]APIToken, error)
	// Delete revokes a user's token at once; ErrNotFound if the user has no
	// such token (another user's token id included), so revoking is scoped
	// to its owner.
	Delete(ctx context.Context, user domain.UserID, id string) error
	// Touch records that a token was used at at; ErrNotFound if it was revoked.
	Touch(ctx context.Context, hash string, at time.Time) error
}

// ScaleIn is the autoscaling group a worker's instance runs in, as the
// work on that instance sees it. An instance holding a job asks not to be
// chosen when the group shrinks (scale-in protection), and when the group
// terminates it anyway (its termination lifecycle hook waits) the worker
// finishes or releases the job, then lets the termination go on.
type ScaleIn interface {
	// Protect sets or clears this instance's scale-in protection.
	Protect(ctx context.Context, on bool) error
	// Terminating reports whether the group is terminating this instance
	// and waits for it to let go.
	Terminating(ctx context.Context) (bool, error)
	// Proceed lets a waiting termination go on.
	Proceed(ctx context.Context) error
}

// Session is a signed-in browser as the server keeps it. The cookie carries
// only a random secret; the store keeps the secret's SHA-256 as the id, so
// a copy of the table (a backup) signs no one in. Because every request
// looks its session up, deleting the record ends the sign-in at once on
// every copy of the cookie: sign-out cannot be undone by replaying one.
type Session struct {
	ID        string        // hex SHA-256 of the cookie's secret: 64 lowercase hex digits
	User      domain.UserID // who signed in
	CreatedAt time.Time
	ExpiresAt time.Time // the session ends then even if nobody signs out
}

// ErrInvalidSession marks a session a store refuses to create (a missing
// user, times out of order, an id that is not a hex SHA-256).
var ErrInvalidSession = errors.New("invalid session")

// Validate checks what every SessionStore requires before storing s; the
// error wraps ErrInvalidSession.
func (s Session) Validate() error {
	switch {
	case !isSHA256Hex(s.ID):
		return fmt.Errorf("session of %q: id is not a lowercase hex SHA-256: %w", s.User, ErrInvalidSession)
	case s.User == "":
		return fmt.Errorf("session: user is required: %w", ErrInvalidSession)
	case s.CreatedAt.IsZero() || !s.ExpiresAt.After(s.CreatedAt):
		return fmt.Errorf("session of %s: needs a creation time before its expiry: %w", s.User, ErrInvalidSession)
	}
	return nil
}

// SessionStore keeps the server side of web sign-ins, so that signing out
// (here or everywhere) ends a session at once and sessions survive
// restarts and are shared by every web server: SQLite in local mode, a
// DynamoDB table with a TTL on AWS. Expired sessions are never returned
// and are removed eventually.
type SessionStore interface {
	// Create stores a new session; ErrExists if its id is taken.
	Create(ctx context.Context, s Session) error
	// Get returns the session with id if it is live at now; ErrNotFound if
	// it never existed, was deleted or has expired.
	Get(ctx context.Context, id string, now time.Time) (Session, error)
	// Delete ends one session; ending a missing one is not an error.
	Delete(ctx context.Context, id string) error
	// DeleteUser ends every session of user ("sign out everywhere").
	DeleteUser(ctx context.Context, user domain.UserID) error
}
