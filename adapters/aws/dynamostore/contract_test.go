package dynamostore_test

import (
	"sync"
	"testing"

	"github.com/gasproject/gas/adapters/aws/awstest"
	"github.com/gasproject/gas/adapters/aws/dynamostore"
	"github.com/gasproject/gas/ports"
	"github.com/gasproject/gas/ports/contract"
)

// The same suites the memory stores pass, against DynamoDB on the test
// server; the factories share one pair of tables (the suites use random ids).
func TestJobStoreContract(t *testing.T) {
	awstest.Endpoint(t)
	var once sync.Once
	var js ports.JobStore
	contract.TestJobStore(t, func(t *testing.T) ports.JobStore {
		once.Do(func() { js, _ = tables(t) })
		return js
	})
}

func TestUserStoreContract(t *testing.T) {
	awstest.Endpoint(t)
	var once sync.Once
	var us ports.UserStore
	contract.TestUserStore(t, func(t *testing.T) ports.UserStore {
		once.Do(func() { _, us = tables(t) })
		return us
	})
}

func TestTokenStoreContract(t *testing.T) {
	awstest.Endpoint(t)
	var once sync.Once
	var ts ports.TokenStore
	contract.TestTokenStore(t, func(t *testing.T) ports.TokenStore {
		once.Do(func() { ts = tokensTable(t) })
		return ts
	})
}

// tokensTable creates a fresh API-tokens table on the test server.
func tokensTable(t *testing.T) *dynamostore.TokenStore {
	t.Helper()
	env := awstest.New(t)
	name := env.Config.Names.TokensTable
	if _, err := env.Clients.DynamoDB.CreateTable(awstest.Ctx(t), dynamostore.TokensTableSpec(name)); err != nil {
		t.Fatal(err)
	}
	s, err := dynamostore.NewTokenStore(env.Clients.DynamoDB, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionStoreContract(t *testing.T) {
	awstest.Endpoint(t)
	var once sync.Once
	var ss ports.SessionStore
	contract.TestSessionStore(t, func(t *testing.T) ports.SessionStore {
		once.Do(func() {
			env := awstest.New(t)
			name := env.Config.Names.SessionsTable
			if _, err := env.Clients.DynamoDB.CreateTable(awstest.Ctx(t), dynamostore.SessionsTableSpec(name)); err != nil {
				t.Fatal(err)
			}
			s, err := dynamostore.NewSessionStore(env.Clients.DynamoDB, name)
			if err != nil {
				t.Fatal(err)
			}
			ss = s
		})
		return ss
	})
}
