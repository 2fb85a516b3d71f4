// Command notifier is the GAS notifier role: it e-mails users (SES or SMTP) when their
// job completes or fails, and drains the dead-letter queues, marking the
// jobs of dead requests FAILED with the reason.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Notifier, initialize) }
