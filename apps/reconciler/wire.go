//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/gasproject/gas/apps/internal/providers"
	"github.com/gasproject/gas/apps/internal/role"
)

// initialize builds the reconciler role from its runtime (configuration,
// logger, metrics).
func initialize(ctx context.Context, rt *role.Runtime) (*role.App, func(), error) {
	wire.Build(providers.ReconcilerRoleSet)
	return nil, nil, nil
}
