// Command thawer is the GAS thawer role: when a user upgrades it starts the retrieval
// of every archived result, Expedited first and Standard when AWS has no
// Expedited capacity.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Thawer, initialize) }
