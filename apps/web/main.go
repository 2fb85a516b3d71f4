// Command web serves the GAS web application on AWS: pages, JSON API and OIDC sign-in,
// with uploads posted by the browser straight to S3 through a presigned POST.
// Stateless: run as many as the load balancer needs.
//
// Configuration: environment variables or flags, see docs/configuration.md.
package main

import "github.com/gasproject/gas/apps/internal/role"

func main() { role.Main(role.Web, initialize) }
