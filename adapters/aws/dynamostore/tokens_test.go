package dynamostore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/ports"
)

// TestTokenItemsComeAndGoTogether: a token is two items (by hash, by
// owner) written and removed in one transaction; a revoke leaves no
// fragment, and no item ever holds the secret.
func TestTokenItemsComeAndGoTogether(t *testing.T) {
	awstest.Endpoint(t)
	env := awstest.New(t)
	ctx := awstest.Ctx(t)
	name := env.Config.Names.TokensTable
	if _, err := env.Clients.DynamoDB.CreateTable(ctx, dynamostore.TokensTableSpec(name)); err != nil {
		t.Fatal(err)
	}
	s, err := dynamostore.NewTokenStore(env.Clients.DynamoDB, name)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "gas_supersecretvalue"
	h := sha256.Sum256([]byte(secret))
	tok := ports.APIToken{ID: "t1", User: "alice", Name: "laptop", Hash: hex.EncodeToString(h[:]), CreatedAt: t0}
	if err := s.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, tok.Hash, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	scan := func() []map[string]types.AttributeValue {
		out, err := env.Clients.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Items
	}
	items := scan()
	if len(items) != 2 {
		t.Fatalf("a token is %d items, want 2: %v", len(items), items)
	}
	for _, it := range items {
		for k, v := range it {
			if sv, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(sv.Value, "supersecret") {
				t.Fatalf("attribute %s holds the secret", k)
			}
		}
	}
	if err := s.Delete(ctx, "alice", "t1"); err != nil {
		t.Fatal(err)
	}
	if items := scan(); len(items) != 0 {
		t.Fatalf("revoke left %d items: %v", len(items), items)
	}
}
