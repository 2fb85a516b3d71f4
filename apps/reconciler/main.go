// Command reconciler is the GAS reconciler role: every
// GAS_RECONCILE_INTERVAL it scans the jobs table with strongly consistent
// reads and re-issues whatever a failure lost (job requests, archive
// requests, thaws, restore checks, notices), so no job is ever stranded.
// It consumes no queue; one instance is enough (more only duplicate
// harmless hints). Its findings are in /metrics (gas_reconcile_*).
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Reconciler, initialize) }
