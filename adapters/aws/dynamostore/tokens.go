package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// The tokens table holds two items per token, written and deleted together
// in one transaction, so every read is a strongly consistent key lookup
// (no index, which DynamoDB only reads eventually):
//
//	pk "hash#<sha256>", sk "token"   — looked up by every API request (ByHash, Touch)
//	pk "user#<owner>",  sk "id#<id>" — the owner's list and revocation by id
//
// The hash item's existence condition makes hashes unique; the user item's
// makes ids unique per owner.
const (
	tPK, tSK, tHash, tUser, tID = "pk", "sk", "hash", "user", "token_id"
	tName, tCreated, tLastUsed  = "name", "created", "last_used"
	hashItemSK                  = "token"
)

func hashPK(hash string) string        { return "hash#" + hash }
func userPK(user domain.UserID) string { return "user#" + string(user) }
func idSK(id string) string            { return "id#" + id }

// TokensTableSpec is the API-tokens table as `gas aws bootstrap` creates it.
func TokensTableSpec(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(tPK), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(tSK), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(tPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(tSK), KeyType: types.KeyTypeRange},
		},
	}
}

// TokensAPI is the part of the DynamoDB client the token store uses.
type TokensAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// TokenStore implements ports.TokenStore on a DynamoDB table, so API tokens
// survive restarts and every web server behind the load balancer accepts
// them. Only token hashes are stored.
type TokenStore struct {
	db    TokensAPI
	table string
}

var _ ports.TokenStore = (*TokenStore)(nil)

// NewTokenStore uses table (created by TokensTableSpec).
func NewTokenStore(db TokensAPI, table string) (*TokenStore, error) {
	if db == nil || table == "" {
		return nil, fmt.Errorf("dynamodb token store: client and table name are required")
	}
	return &TokenStore{db: db, table: table}, nil
}

func tokenKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{tPK: str(pk), tSK: str(sk)}
}

// Create writes both items of t in one transaction, each conditional on
// not existing: ports.ErrExists if the hash, or the owner's id, is taken.
func (s *TokenStore) Create(ctx context.Context, t ports.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	hashItem := item{}
	hashItem.s(tPK, hashPK(t.Hash))
	hashItem.s(tSK, hashItemSK)
	hashItem.s(tHash, t.Hash)
	hashItem.s(tUser, string(t.User))
	hashItem.s(tID, t.ID)
	hashItem.s(tName, t.Name)
	hashItem.t(tCreated, t.CreatedAt)
	hashItem.t(tLastUsed, t.LastUsed)
	userItem := item{}
	userItem.s(tPK, userPK(t.User))
	userItem.s(tSK, idSK(t.ID))
	userItem.s(tHash, t.Hash)
	notThere := aws.String("attribute_not_exists(#pk)")
	names := map[string]string{"#pk": tPK}
	err := transact(ctx, s.db, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: hashItem, ConditionExpression: notThere, ExpressionAttributeNames: names}},
		{Put: &types.Put{TableName: aws.String(s.table), Item: userItem, ConditionExpression: notThere, ExpressionAttributeNames: names}},
	}})
	if conditionFailed(err) {
		return fmt.Errorf("create token %s: %w", t.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// transactConflictRetries bounds the retries of a transaction cancelled
// only because another transaction was writing the same items (the SDK's
// retryer does not retry TransactionCanceledException).
const transactConflictRetries = 8

// transact runs in, retrying a transaction that lost a conflict with a
// concurrent one: the retry then sees the winner's items, so a racing
// create ends in ErrExists instead of an unexplained failure.
func transact(ctx context.Context, db TokensAPI, in *dynamodb.TransactWriteItemsInput) error {
	for attempt := 0; ; attempt++ {
		_, err := db.TransactWriteItems(ctx, in)
		if err == nil || conditionFailed(err) || !transactionConflict(err) || attempt == transactConflictRetries {
			return err
		}
		if err := sleepCtx(ctx, time.Duration(attempt+1)*20*time.Millisecond); err != nil {
			return err
		}
	}
}

func transactionConflict(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		var conflict *types.TransactionConflictException
		return errors.As(err, &conflict)
	}
	for _, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return strings.Contains(tc.ErrorMessage(), "TransactionConflict")
}

// conditionFailed reports whether a transaction was cancelled because a
// condition did not hold (rather than a conflict or a server error).
func conditionFailed(err error) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return false
	}
	for _, r := range tc.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			return true
		}
	}
	// Servers that omit the reasons still name the cause in the message.
	return strings.Contains(tc.ErrorMessage(), "ConditionalCheckFailed")
}

// ByHash reads the token consistently, so a token works the moment it is
// created and stops the moment it is revoked.
func (s *TokenStore) ByHash(ctx context.Context, hash string) (ports.APIToken, error) {
	it, err := getConsistent(ctx, s.db, s.table, tokenKey(hashPK(hash), hashItemSK))
	if err != nil {
		return ports.APIToken{}, fmt.Errorf("token: %w", err)
	}
	return tokenFromItem(it)
}

func tokenFromItem(it map[string]types.AttributeValue) (ports.APIToken, error) {
	r := &reader{it: it}
	t := ports.APIToken{
		ID: r.s(tID), User: domain.UserID(r.s(tUser)), Name: r.s(tName), Hash: r.s(tHash),
		CreatedAt: r.t(tCreated), LastUsed: r.t(tLastUsed),
	}
	if r.err != nil {
		return ports.APIToken{}, fmt.Errorf("decode token %s: %w", t.ID, r.err)
	}
	return t, nil
}

// maxBatchGet is DynamoDB's BatchGetItem limit.
const maxBatchGet = 100

// List queries the owner's items, then reads their hash items (which carry
// the name, times and last use) in consistent batches.
func (s *TokenStore) List(ctx context.Context, user domain.UserID) ([]ports.APIToken, error) {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": tPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userPK(user))},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list tokens of %s: %w", user, err)
		}
		for _, it := range page.Items {
			keys = append(keys, tokenKey(hashPK(getS(it, tHash)), hashItemSK))
		}
	}
	out := make([]ports.APIToken, 0, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), maxBatchGet)
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if err := sleepCtx(ctx, time.Duration(min(attempt, 10))*50*time.Millisecond); err != nil {
					return nil, fmt.Errorf("list tokens of %s: %w", user, err)
				}
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("list tokens of %s: %w", user, err)
			}
			for _, it := range res.Responses[s.table] {
				t, err := tokenFromItem(it)
				if err != nil {
					return nil, fmt.Errorf("list tokens of %s: %w", user, err)
				}
				// A token revoked between the query and the read is gone; one
				// whose hash item names another owner is not this user's.
				if t.User == user {
					out = append(out, t)
				}
			}
			pending = res.UnprocessedKeys // throttled keys: retry with backoff
		}
	}
	slices.SortFunc(out, func(a, b ports.APIToken) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete reads the owner's item for id (consistently) to find the hash,
// then deletes both items in one transaction, each conditional on still
// belonging together, so a racing revoke cannot leave half a token.
func (s *TokenStore) Delete(ctx context.Context, user domain.UserID, id string) error {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: tokenKey(userPK(user), idSK(id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	if out.Item == nil {
		return fmt.Errorf("delete token %s: %w", id, ports.ErrNotFound)
	}
	hash := getS(out.Item, tHash)
	err = transact(ctx, s.db, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: tokenKey(userPK(user), idSK(id)),
			ConditionExpression:       aws.String("#h = :h"),
			ExpressionAttributeNames:  map[string]string{"#h": tHash},
			ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(hash)},
		}},
		{Delete: &types.Delete{
			TableName: aws.String(s.table), Key: tokenKey(hashPK(hash), hashItemSK),
			ConditionExpression:       aws.String("#u = :u AND #i = :i"),
			ExpressionAttributeNames:  map[string]string{"#u": tUser, "#i": tID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(string(user)), ":i": str(id)},
		}},
	}})
	if conditionFailed(err) {
		return fmt.Errorf("delete token %s: %w", id, ports.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete token %s: %w", id, err)
	}
	return nil
}

// Touch sets the hash item's last use, only if the token still exists (an
// update alone would recreate a revoked token as a fragment).
func (s *TokenStore) Touch(ctx context.Context, hash string, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       tokenKey(hashPK(hash), hashItemSK),
		UpdateExpression:          aws.String("SET #l = :l"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#l": tLastUsed, "#pk": tPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":l": str(at.UTC().Format(time.RFC3339Nano))},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("touch token: %w", ports.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}
