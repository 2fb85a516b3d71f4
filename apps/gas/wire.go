//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/gasproject/gas/apps/internal/providers"
)

// initLocal wires local mode: every port in memory, the services, the web
// app and the workers.
func initLocal(ctx context.Context, cfg serveConfig) (*localApp, func(), error) {
	wire.Build(providers.MemorySet, providers.ServicesSet, localSet)
	return nil, nil, nil
}
