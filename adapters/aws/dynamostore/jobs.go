// Package dynamostore keeps jobs and user profiles in DynamoDB. Every job
// change is a conditional write on the job's version, so two annotators (or
// a redelivered message) can never both move a job: exactly one write wins
// and the other gets ports.ErrConflict.
package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// Index names of the jobs table.
const (
	// ByOwnerIndex lists a user's jobs newest first: its sort key "ordering"
	// is the submission time then the job id, so ties order by id
	// (descending) exactly as in the memory store.
	ByOwnerIndex = "by-owner"
	// ByOwnerStorageIndex is sparse (only completed jobs have "storage"),
	// so the thawer finds a user's ARCHIVED jobs without reading the rest.
	ByOwnerStorageIndex = "by-owner-storage"
)

// Attribute names of a job item, written out once so the table can be read
// in the console and the conditions below cannot misspell them.
const (
	aID, aOwner, aSubmitted, aStorage, aVersion = "id", "owner", "submitted", "storage", "version"
	aStatus, aInputName, aInputKey, aInputSize  = "status", "input_name", "input_key", "input_size"
	aStarted, aCompleted, aLease, aAttempts     = "started", "completed", "lease_until", "attempts"
	aFailure, aResultVCF, aResultIndex          = "failure", "result_vcf", "result_index"
	aResultSummary, aResultLog, aArchiveID      = "result_summary", "result_log", "archive_id"
	aRetrievalID, aRetrievalTier, aRestoreBy    = "retrieval_id", "retrieval_tier", "restore_by"
	aReference, aOrdering                       = "reference", "ordering"
	aNoticeUntil, aNotifiedAt                   = "notice_until", "notified_at"
	aCounts, aArchiveDue, aName                 = "counts", "archive_due", "name"
	aOptions                                    = "options"
	aNoticeError, aServiceFailure               = "notice_error", "service_failure"
	// aWriteToken is the token of the conditional write that stored the
	// item (see writeToken).
	aWriteToken = "write_token"
)

// DefaultPageSize is the page length ListByUser uses when asked for 0 or
// less, the same as the memory store's.
const DefaultPageSize = 25

// ordering is the by-owner sort key: fixed-width submission nanoseconds
// (offset so times before 1970 still sort) then the id, so a descending
// query gives newest first with ties broken by id descending.
func ordering(submitted time.Time, id domain.JobID) string {
	return fmt.Sprintf("%020d#%s", uint64(submitted.UnixNano())+1<<63, id)
}

// ErrBadCursor is returned for a paging cursor this store did not issue
// (or issued for another user), so a tampered URL is a client error.
var ErrBadCursor = errors.New("invalid paging cursor")

// JobsTableSpec is the jobs table as `gas aws bootstrap` creates it.
func JobsTableSpec(name string) *dynamodb.CreateTableInput {
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(aID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(aOwner), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(aOrdering), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(aStorage), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(aID), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{
				IndexName: aws.String(ByOwnerIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(aOwner), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(aOrdering), KeyType: types.KeyTypeRange},
				},
				Projection: all,
			},
			{
				IndexName: aws.String(ByOwnerStorageIndex),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(aOwner), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(aStorage), KeyType: types.KeyTypeRange},
				},
				Projection: all,
			},
		},
	}
}

// API is the part of the DynamoDB client the stores use.
type API interface {
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// JobStore implements ports.JobStore on a DynamoDB table.
type JobStore struct {
	db    API
	table string
}

var _ ports.JobStore = (*JobStore)(nil)

// NewJobStore uses table (created by JobsTableSpec).
func NewJobStore(db API, table string) (*JobStore, error) {
	if db == nil || table == "" {
		return nil, fmt.Errorf("dynamodb job store: client and table name are required")
	}
	return &JobStore{db: db, table: table}, nil
}

// Create stores a new job; ports.ErrExists if the id is taken.
func (s *JobStore) Create(ctx context.Context, job *domain.Job) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                jobItem(job.Snapshot()),
		ConditionExpression: aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{
			"#id": aID,
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("create job %s: %w", job.ID(), ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", job.ID(), err)
	}
	return nil
}

// Get reads a job with a strongly consistent read, so a worker sees the
// latest version it must compare against.
func (s *JobStore) Get(ctx context.Context, id domain.JobID) (*domain.Job, error) {
	it, err := getConsistent(ctx, s.db, s.table, map[string]types.AttributeValue{aID: str(string(id))})
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	j, err := jobFromItem(it)
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// Update writes job only if the stored version still equals job.Version()
// (one conditional PutItem), and returns it at version+1.
//
// The write carries a fresh token, and the condition also holds when the
// stored item bears that token: if the PutItem succeeded but its answer
// was lost (a reset connection, a timeout), the SDK's retry of the same
// request finds its own write and succeeds again, idempotently, instead
// of failing the version check and reporting a conflict the caller would
// misread (a claim that looks taken by another worker, a notice hold that
// looks held by another notifier).
func (s *JobStore) Update(ctx context.Context, job *domain.Job) (*domain.Job, error) {
	snap := job.Snapshot()
	next := snap
	next.Version = snap.Version + 1
	updated, err := domain.JobFromSnapshot(next)
	if err != nil {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, err)
	}
	token := writeToken()
	it := jobItem(next)
	it[aWriteToken] = str(token)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     it,
		ConditionExpression:      aws.String("(#v = :v OR #w = :w) AND #o = :o AND #s = :s"),
		ExpressionAttributeNames: map[string]string{"#v": aVersion, "#w": aWriteToken, "#o": aOwner, "#s": aSubmitted},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": num(snap.Version), ":w": str(token), ":o": str(string(snap.Owner)), ":s": num(snap.SubmittedAt.UnixNano()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		old := ccf.Item
		if old == nil {
			// A server that does not return the old item: read it.
			cur, gerr := s.Get(ctx, snap.ID)
			if errors.Is(gerr, ports.ErrNotFound) {
				return nil, fmt.Errorf("update job %s: %w", snap.ID, ports.ErrNotFound)
			}
			if gerr == nil {
				old = jobItem(cur.Snapshot())
			}
		}
		if old != nil && getN(old, aVersion) == strconv.FormatInt(snap.Version, 10) {
			return nil, fmt.Errorf("update job %s: owner and submission time are immutable", snap.ID)
		}
		return nil, fmt.Errorf("update job %s at version %d: %w", snap.ID, snap.Version, ports.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("update job %s: %w", snap.ID, err)
	}
	return updated, nil
}

type cursor struct {
	ID       string `json:"i"`
	Owner    string `json:"o"`
	Ordering string `json:"k"`
}

func encodeCursor(item map[string]types.AttributeValue) string {
	c := cursor{ID: getS(item, aID), Owner: getS(item, aOwner), Ordering: getS(item, aOrdering)}
	b, _ := json.Marshal(c) // strings only: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, user domain.UserID) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	if c.ID == "" || c.Owner != string(user) || !strings.HasSuffix(c.Ordering, "#"+c.ID) {
		return nil, fmt.Errorf("%w: not issued for this user", ErrBadCursor)
	}
	return map[string]types.AttributeValue{aID: str(c.ID), aOwner: str(c.Owner), aOrdering: str(c.Ordering)}, nil
}

// ListByUser pages newest first through the by-owner index. It asks for one
// item more than limit, so "next" is empty exactly when there is no further
// page (DynamoDB alone would hand out a cursor to an empty page).
func (s *JobStore) ListByUser(ctx context.Context, user domain.UserID, cur string, limit int) ([]*domain.Job, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var start map[string]types.AttributeValue
	if cur != "" {
		var err error
		if start, err = decodeCursor(cur, user); err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
		}
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(ByOwnerIndex),
			KeyConditionExpression:    aws.String("#o = :o"),
			ExpressionAttributeNames:  map[string]string{"#o": aOwner},
			ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(string(user))},
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit + 1 - len(items))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
		}
		items = append(items, out.Items...)
		start = out.LastEvaluatedKey
		if len(items) > limit || start == nil {
			break
		}
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = encodeCursor(items[limit-1])
	}
	jobs, err := jobsFromItems(items)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", user, err)
	}
	return jobs, next, nil
}

// ListByStorage returns the user's completed jobs in state, newest first,
// from the sparse by-owner-storage index.
func (s *JobStore) ListByStorage(ctx context.Context, user domain.UserID, state domain.Storage) ([]*domain.Job, error) {
	if state == domain.StorageNone {
		return nil, nil // only completed jobs have a storage state, as in the memory store
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(ByOwnerStorageIndex),
		KeyConditionExpression:    aws.String("#o = :o AND #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#o": aOwner, "#s": aStorage},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(string(user)), ":s": str(string(state))},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s jobs of %s: %w", state, user, err)
		}
		items = append(items, page.Items...)
	}
	jobs, err := jobsFromItems(items)
	if err != nil {
		return nil, fmt.Errorf("list %s jobs of %s: %w", state, user, err)
	}
	sort.SliceStable(jobs, func(a, b int) bool {
		if !jobs[a].SubmittedAt().Equal(jobs[b].SubmittedAt()) {
			return jobs[a].SubmittedAt().After(jobs[b].SubmittedAt())
		}
		return jobs[a].ID() > jobs[b].ID()
	})
	return jobs, nil
}

// Scan reads the whole table with strongly consistent reads (ConsistentRead
// on the base table; the indexes cannot give that), a page at a time, and
// visits each job.
func (s *JobStore) Scan(ctx context.Context, visit func(*domain.Job) error) error {
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan jobs: %w", err)
		}
		for _, it := range page.Items {
			j, err := jobFromItem(it)
			if err != nil {
				return fmt.Errorf("scan jobs: %w", err)
			}
			if err := visit(j); err != nil {
				return err
			}
		}
	}
	return nil
}

func jobsFromItems(items []map[string]types.AttributeValue) ([]*domain.Job, error) {
	jobs := make([]*domain.Job, 0, len(items))
	for _, it := range items {
		j, err := jobFromItem(it)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// itemGetter is the part of the DynamoDB client getConsistent uses.
type itemGetter interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// getConsistent reads the item at key with a strongly consistent read:
// the client's error as is, or ports.ErrNotFound when there is no item.
func getConsistent(ctx context.Context, db itemGetter, table string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, ports.ErrNotFound
	}
	return out.Item, nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// item is a builder that leaves out empty values: DynamoDB index keys may
// not be empty strings, and absent reads back as the zero value anyway.
type item map[string]types.AttributeValue

func (it item) s(name, v string) {
	if v != "" {
		it[name] = str(v)
	}
}

func (it item) n(name string, v int64) { it[name] = num(v) }

func (it item) t(name string, v time.Time) {
	if !v.IsZero() {
		it[name] = str(v.UTC().Format(time.RFC3339Nano))
	}
}

func jobItem(s domain.JobSnapshot) map[string]types.AttributeValue {
	it := item{}
	it.s(aID, string(s.ID))
	it.s(aOwner, string(s.Owner))
	it.n(aSubmitted, s.SubmittedAt.UnixNano())
	it.s(aOrdering, ordering(s.SubmittedAt, s.ID))
	it.s(aStorage, string(s.Storage))
	it.n(aVersion, s.Version)
	it.s(aStatus, string(s.Status))
	it.s(aInputName, s.InputName)
	it.s(aInputKey, s.InputKey)
	it.n(aInputSize, s.InputSize)
	it.t(aStarted, s.StartedAt)
	it.t(aCompleted, s.CompletedAt)
	it.t(aLease, s.LeaseUntil)
	it.n(aAttempts, int64(s.Attempts))
	it.s(aFailure, s.FailureReason)
	it.s(aResultVCF, s.Results.VCF)
	it.s(aResultIndex, s.Results.Index)
	it.s(aResultSummary, s.Results.Summary)
	it.s(aResultLog, s.Results.Log)
	it.s(aArchiveID, s.ArchiveID)
	it.s(aRetrievalID, s.RetrievalID)
	it.s(aRetrievalTier, string(s.RetrievalTier))
	it.t(aRestoreBy, s.RestoreBy)
	it.s(aReference, s.Reference)
	if !reflect.DeepEqual(s.Counts, domain.Counts{}) {
		b, _ := json.Marshal(s.Counts) // numbers and strings only: cannot fail
		it.s(aCounts, string(b))
	}
	if s.Options != (domain.JobOptions{}) {
		b, _ := json.Marshal(s.Options) // plain data: cannot fail
		it.s(aOptions, string(b))
	}
	it.t(aNoticeUntil, s.NoticeUntil)
	it.t(aNotifiedAt, s.NotifiedAt)
	it.t(aArchiveDue, s.ArchiveDue)
	it.s(aName, s.Name)
	it.s(aNoticeError, s.NoticeError)
	if s.ServiceFailure {
		it.n(aServiceFailure, 1)
	}
	return it
}

// writeToken names one conditional write (see JobStore.Update): 128
// random bits, so no two writes share one.
func writeToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func getS(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

// reader collects the first decoding error so jobFromItem stays readable.
type reader struct {
	it  map[string]types.AttributeValue
	err error
}

func (r *reader) s(name string) string { return getS(r.it, name) }

func (r *reader) n(name string) int64 {
	v := getN(r.it, name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return n
}

func (r *reader) t(name string) time.Time {
	v := r.s(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return t.UTC()
}

func jobFromItem(it map[string]types.AttributeValue) (*domain.Job, error) {
	r := &reader{it: it}
	s := domain.JobSnapshot{
		ID: domain.JobID(r.s(aID)), Owner: domain.UserID(r.s(aOwner)),
		InputName: r.s(aInputName), InputKey: r.s(aInputKey), InputSize: r.n(aInputSize),
		SubmittedAt: time.Unix(0, r.n(aSubmitted)).UTC(),
		StartedAt:   r.t(aStarted), CompletedAt: r.t(aCompleted), LeaseUntil: r.t(aLease),
		Status: domain.Status(r.s(aStatus)), Attempts: int(r.n(aAttempts)), FailureReason: r.s(aFailure),
		Results: domain.ResultKeys{
			VCF: r.s(aResultVCF), Index: r.s(aResultIndex), Summary: r.s(aResultSummary), Log: r.s(aResultLog),
		},
		Storage: domain.Storage(r.s(aStorage)), ArchiveID: r.s(aArchiveID), RetrievalID: r.s(aRetrievalID),
		RetrievalTier: domain.RetrievalTier(r.s(aRetrievalTier)), RestoreBy: r.t(aRestoreBy),
		Reference: r.s(aReference), Version: r.n(aVersion),
		NoticeUntil: r.t(aNoticeUntil), NotifiedAt: r.t(aNotifiedAt), ArchiveDue: r.t(aArchiveDue),
		Name: r.s(aName), NoticeError: r.s(aNoticeError), ServiceFailure: r.n(aServiceFailure) == 1,
	}
	if c := r.s(aCounts); c != "" && r.err == nil {
		if err := json.Unmarshal([]byte(c), &s.Counts); err != nil {
			r.err = fmt.Errorf("attribute %s: %w", aCounts, err)
		}
	}
	if o := r.s(aOptions); o != "" && r.err == nil {
		if err := json.Unmarshal([]byte(o), &s.Options); err != nil {
			r.err = fmt.Errorf("attribute %s: %w", aOptions, err)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode job item %s: %w", s.ID, r.err)
	}
	return domain.JobFromSnapshot(s)
}
