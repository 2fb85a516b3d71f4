//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain/accounts"
	"github.com/gasproject/gas/domain/workers"
)

// initLocal wires local mode: every port durable in the data directory
// (SQLite and files), the web application and every role's workers,
// through the provider sets the AWS roles use.
func initLocal(ctx context.Context, cfg serveConfig) (*localApp, func(), error) {
	wire.Build(localDataDir, providers.SQLiteSet, localSet)
	return nil, nil, nil
}

// initEphemeral wires local mode with every port in memory (--ephemeral).
func initEphemeral(ctx context.Context, cfg serveConfig) (*localApp, func(), error) {
	wire.Build(providers.MemorySet, localSet)
	return nil, nil, nil
}

// initReconcile wires `gas reconcile`: the reconciler over the AWS
// deployment a reconciler role's configuration names.
func initReconcile(ctx context.Context, rt *role.Runtime) (*workers.Reconciler, func(), error) {
	wire.Build(providers.ReconcileCommandSet)
	return nil, nil, nil
}

// initOperator wires an operator's command to the deployment the runtime
// names: its profiles and the accounts service over them.
func initOperator(ctx context.Context, rt *role.Runtime) (*accounts.Service, func(), error) {
	wire.Build(providers.OperatorSet)
	return nil, nil, nil
}
