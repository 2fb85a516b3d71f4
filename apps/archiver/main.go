// Command archiver is the GAS archiver role: when a free user's download window ends it
// moves the results to cold storage (S3 Glacier storage class or a Glacier
// vault) and deletes the hot copy only once the archive is recorded.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Archiver, initialize) }
