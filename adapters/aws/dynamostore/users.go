package dynamostore

import (
	"context"
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
	r := &reader{it: it}
	snap := domain.UserSnapshot{
		ID: domain.UserID(r.s(aID)), Name: r.s(uName), Email: r.s(uEmail), Institution: r.s(uInstitution),
		Tier: domain.Tier(r.s(uTier)), CreatedAt: r.t(uCreated), UpgradedAt: r.t(uUpgraded),
	}
	if r.err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, r.err)
	}
	u, err := domain.RestoreUser(snap)
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// Put creates or replaces a profile.
func (s *UserStore) Put(ctx context.Context, u *domain.User) error {
	snap := u.Snapshot()
	it := item{}
	it.s(aID, string(snap.ID))
	it.s(uName, snap.Name)
	it.s(uEmail, snap.Email)
	it.s(uInstitution, snap.Institution)
	it.s(uTier, string(snap.Tier))
	it.t(uCreated, snap.CreatedAt)
	it.t(uUpgraded, snap.UpgradedAt)
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: it}); err != nil {
		return fmt.Errorf("put user %s: %w", snap.ID, err)
	}
	return nil
}
