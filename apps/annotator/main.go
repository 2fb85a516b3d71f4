// Command annotator is the GAS annotator role: it loads the annotation database once at
// start (a path or an s3:// object) and annotates the jobs of the annotate
// queue. Scale the farm by running more; SIGTERM finishes or releases the
// job in progress, so scaling in loses nothing.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Annotator, initialize) }
