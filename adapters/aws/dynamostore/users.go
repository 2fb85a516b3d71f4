package dynamostore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

const (
	uName, uEmail, uInstitution = "name", "email", "institution"
	uTier, uCreated, uUpgraded  = "tier", "created", "upgraded"
	uDowngraded, uVersion       = "downgraded", "version"
)

// UsersTableSpec is the users table as `gas aws bootstrap` creates it.
func UsersTableSpec(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(aID), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(aID), KeyType: types.KeyTypeHash}},
	}
}

// UserStore implements ports.UserStore on a DynamoDB table.
type UserStore struct {
	db    API
	table string
}

var _ ports.UserStore = (*UserStore)(nil)

// NewUserStore uses table (created by UsersTableSpec).
func NewUserStore(db API, table string) (*UserStore, error) {
	if db == nil || table == "" {
		return nil, fmt.Errorf("dynamodb user store: client and table name are required")
	}
	return &UserStore{db: db, table: table}, nil
}

// Get reads a profile consistently, so an upgrade is seen at once by the
// archiver's re-check of the owner's tier.
func (s *UserStore) Get(ctx context.Context, id domain.UserID) (*domain.User, error) {
	it, err := getConsistent(ctx, s.db, s.table, map[string]types.AttributeValue{aID: str(string(id))})
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	u, err := userFromItem(it)
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// userFromItem reads a profile item.
func userFromItem(it map[string]types.AttributeValue) (*domain.User, error) {
	r := &reader{it: it}
	snap := domain.UserSnapshot{
		ID: domain.UserID(r.s(aID)), Name: r.s(uName), Email: r.s(uEmail), Institution: r.s(uInstitution),
		Tier: domain.Tier(r.s(uTier)), CreatedAt: r.t(uCreated), UpgradedAt: r.t(uUpgraded), DowngradedAt: r.t(uDowngraded),
		Version: r.n(uVersion), // absent on profiles written before versions: 0
	}
	if r.err != nil {
		return nil, r.err
	}
	return domain.RestoreUser(snap)
}

func userItem(snap domain.UserSnapshot) item {
	it := item{}
	it.s(aID, string(snap.ID))
	it.s(uName, snap.Name)
	it.s(uEmail, snap.Email)
	it.s(uInstitution, snap.Institution)
	it.s(uTier, string(snap.Tier))
	it.t(uCreated, snap.CreatedAt)
	it.t(uUpgraded, snap.UpgradedAt)
	it.t(uDowngraded, snap.DowngradedAt)
	it.n(uVersion, snap.Version)
	return it
}

// Create stores a new profile; ports.ErrExists if the user already has one.
func (s *UserStore) Create(ctx context.Context, u *domain.User) error {
	snap := u.Snapshot()
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     userItem(snap),
		ConditionExpression:      aws.String("attribute_not_exists(#id)"),
		ExpressionAttributeNames: map[string]string{"#id": aID},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("create user %s: %w", snap.ID, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", snap.ID, err)
	}
	return nil
}

// Update writes the profile only if the stored version still equals
// u.Version() (one conditional PutItem) and returns it at version+1;
// ports.ErrConflict if it changed, ports.ErrNotFound if there is none.
// A profile stored before versions existed has no version attribute and
// counts as version 0, as Get reads it. Like JobStore.Update the write
// carries a token that lets a retry of a write whose answer was lost
// recognise it.
func (s *UserStore) Update(ctx context.Context, u *domain.User) (*domain.User, error) {
	snap := u.Snapshot()
	next := snap
	next.Version = snap.Version + 1
	updated, err := domain.RestoreUser(next)
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	cond := "attribute_exists(#id) AND (#v = :v OR #w = :w)"
	if snap.Version == 0 {
		cond = "attribute_exists(#id) AND (attribute_not_exists(#v) OR #v = :v OR #w = :w)"
	}
	token := writeToken()
	it := userItem(next)
	it[aWriteToken] = str(token)
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                it,
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            map[string]string{"#id": aID, "#v": uVersion, "#w": aWriteToken},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":v": num(snap.Version), ":w": str(token)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if ccf.Item == nil {
			// Either no profile, or a server that does not return the old
			// item: read it to tell which.
			if _, gerr := s.Get(ctx, snap.ID); errors.Is(gerr, ports.ErrNotFound) {
				return nil, fmt.Errorf("update user %s: %w", snap.ID, ports.ErrNotFound)
			}
		}
		return nil, fmt.Errorf("update user %s at version %d: %w", snap.ID, snap.Version, ports.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("update user %s: %w", snap.ID, err)
	}
	return updated, nil
}

// List scans the table a page at a time; the cursor is the last id of the
// page before (base64). Like ListByUser it asks for one more than limit so
// "next" is empty exactly after the last page.
func (s *UserStore) List(ctx context.Context, cur string, limit int) ([]*domain.User, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("list users: limit %d must be positive", limit)
	}
	var start map[string]types.AttributeValue
	if cur != "" {
		id, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || len(id) == 0 {
			return nil, "", fmt.Errorf("list users: %w", ErrBadCursor)
		}
		start = map[string]types.AttributeValue{aID: str(string(id))}
	}
	var items []map[string]types.AttributeValue
	for {
		out, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
			Limit: aws.Int32(int32(limit + 1 - len(items))), ExclusiveStartKey: start})
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
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
		next = base64.RawURLEncoding.EncodeToString([]byte(getS(items[limit-1], aID)))
	}
	out := make([]*domain.User, 0, len(items))
	for _, it := range items {
		u, err := userFromItem(it)
		if err != nil {
			return nil, "", fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, next, nil
}
