//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/accounts"
)

// initLocal wires local mode: every port in memory, the web application and
// every role's workers, through the provider sets the AWS roles use.
func initLocal(ctx context.Context, cfg serveConfig) (*localApp, func(), error) {
	wire.Build(providers.MemorySet, localSet)
	return nil, nil, nil
}

// initOperator wires an operator's command to the deployment the runtime
// names: its profiles and the accounts service over them.
func initOperator(ctx context.Context, rt *role.Runtime) (*accounts.Service, func(), error) {
	wire.Build(providers.OperatorSet)
	return nil, nil, nil
}
