// Command restorer is the GAS restorer role: it finishes retrievals from cold storage —
// on S3 ObjectRestore:Completed events or Glacier job notifications, and by
// polling as a fallback — writing the results back hot before the archive
// copy is deleted.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Restorer, initialize) }
