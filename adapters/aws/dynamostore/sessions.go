package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/ports"
)

// The sessions table holds two items per web session, written together in
// one transaction, so every read is a strongly consistent key lookup (no
// index, which DynamoDB only reads eventually):
//
//	pk "session#<id>", sk "session"    — looked up by every web request (Get)
//	pk "user#<owner>", sk "session#<id>" — signing a user out everywhere
//
// Both carry the TTL attribute "expires_ttl" (epoch seconds): DynamoDB
// deletes expired sessions by itself, within a day or two, and Get refuses
// them from the moment they expire.
const (
	sPK, sSK, sUser, sCreated, sExpires = "pk", "sk", "user", "created", "expires"
	// SessionTTLAttribute is the table's time-to-live attribute.
	SessionTTLAttribute = "expires_ttl"
	sessionItemSK       = "session"
)

func sessionPK(id string) string { return "session#" + id }
func sessionSK(id string) string { return "session#" + id }

// SessionsTableSpec is the sessions table as `gas aws bootstrap` creates
// it; bootstrap then turns on time to live for SessionTTLAttribute.
func SessionsTableSpec(name string) *dynamodb.CreateTableInput {
	return TokensTableSpec(name) // the same pk/sk key schema
}

// SessionStore implements ports.SessionStore on a DynamoDB table, so every
// web server behind the load balancer sees a sign-out at once.
type SessionStore struct {
	db    TokensAPI
	table string
}

var _ ports.SessionStore = (*SessionStore)(nil)

// NewSessionStore uses table (created by SessionsTableSpec).
func NewSessionStore(db TokensAPI, table string) (*SessionStore, error) {
	if db == nil || table == "" {
		return nil, fmt.Errorf("dynamodb session store: client and table name are required")
	}
	return &SessionStore{db: db, table: table}, nil
}

// Create writes both items of s in one transaction, conditional on the
// session item not existing: ErrExists if its id is taken.
func (s *SessionStore) Create(ctx context.Context, sess ports.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	ttl := strconv.FormatInt(sess.ExpiresAt.Unix()+1, 10)
	main := item{}
	main.s(sPK, sessionPK(sess.ID))
	main.s(sSK, sessionItemSK)
	main.s(sUser, string(sess.User))
	main.t(sCreated, sess.CreatedAt)
	main.t(sExpires, sess.ExpiresAt)
	main[SessionTTLAttribute] = &types.AttributeValueMemberN{Value: ttl}
	byUser := item{}
	byUser.s(sPK, userPK(sess.User))
	byUser.s(sSK, sessionSK(sess.ID))
	byUser[SessionTTLAttribute] = &types.AttributeValueMemberN{Value: ttl}
	table := aws.String(s.table)
	err := transact(ctx, s.db, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: table, Item: main, ConditionExpression: aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": sPK}}},
		{Put: &types.Put{TableName: table, Item: byUser}},
	}})
	if conditionFailed(err) {
		return fmt.Errorf("create session of %s: %w", sess.User, ports.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create session of %s: %w", sess.User, err)
	}
	return nil
}

// Get reads the session consistently and refuses it once expired, whether
// or not DynamoDB has deleted it yet.
func (s *SessionStore) Get(ctx context.Context, id string, now time.Time) (ports.Session, error) {
	it, err := getConsistent(ctx, s.db, s.table, tokenKey(sessionPK(id), sessionItemSK))
	if err != nil {
		return ports.Session{}, fmt.Errorf("session: %w", err)
	}
	r := &reader{it: it}
	sess := ports.Session{ID: id, User: domain.UserID(r.s(sUser)), CreatedAt: r.t(sCreated), ExpiresAt: r.t(sExpires)}
	if r.err != nil {
		return ports.Session{}, fmt.Errorf("decode session: %w", r.err)
	}
	if !now.Before(sess.ExpiresAt) {
		return ports.Session{}, fmt.Errorf("session: %w", ports.ErrNotFound)
	}
	return sess, nil
}

// Delete ends one session: both its items go in one transaction.
func (s *SessionStore) Delete(ctx context.Context, id string) error {
	it, err := getConsistent(ctx, s.db, s.table, tokenKey(sessionPK(id), sessionItemSK))
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	if err := s.deleteBoth(ctx, domain.UserID(getS(it, sUser)), id); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func (s *SessionStore) deleteBoth(ctx context.Context, user domain.UserID, id string) error {
	table := aws.String(s.table)
	return transact(ctx, s.db, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: table, Key: tokenKey(sessionPK(id), sessionItemSK)}},
		{Delete: &types.Delete{TableName: table, Key: tokenKey(userPK(user), sessionSK(id))}},
	}})
}

// DeleteUser queries the user's session items consistently and ends each.
func (s *SessionStore) DeleteUser(ctx context.Context, user domain.UserID) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames: map[string]string{"#pk": sPK, "#sk": sSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(userPK(user)), ":sk": str(sessionSK("")),
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("end sessions of %s: %w", user, err)
		}
		for _, it := range page.Items {
			id := getS(it, sSK)[len(sessionSK("")):]
			if err := s.deleteBoth(ctx, user, id); err != nil {
				return fmt.Errorf("end sessions of %s: %w", user, err)
			}
		}
	}
	return nil
}
