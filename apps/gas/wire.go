//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/gasproject/gas/apps/internal/providers"
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
