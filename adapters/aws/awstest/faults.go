package awstest

import "github.com/gasproject/gas/adapters/aws/awsfault"

// ExpeditedRefuser is awsfault.ExpeditedRefusal, which the adapter tests
// put under their clients: its zero value matches every archive and
// refuses nothing until Refuse(true); Refused counts the refusals.
type ExpeditedRefuser = awsfault.ExpeditedRefusal
