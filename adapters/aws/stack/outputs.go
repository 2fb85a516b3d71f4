package stack

import (
	"maps"
	"slices"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation"
)

// Outputs of the stack besides one per resource name (OutputOf).
const (
	OutputSiteURL    = "SiteURL"
	OutputDNSName    = "LoadBalancerDNSName"
	OutputAlarmTopic = "AlarmTopicArn"
)

// OutputOf is the output holding the value of a role variable
// (GAS_INPUTS_BUCKET: InputsBucket), so tools and tests configure roles
// from a stack's outputs.
func OutputOf(variable string) string {
	return logicalID("", strings.ToLower(strings.TrimPrefix(variable, "GAS_")))
}

// RoleOutput is the output holding the name of role's IAM role.
func RoleOutput(role string) string { return RoleID(role) + "Name" }

// GroupOutput is the output holding the name of a group.
func GroupOutput(g Group) string { return GroupID(g) + "Name" }

func (b *builder) outputs() error {
	out := func(key, value, desc string) {
		b.t.Outputs[key] = cloudformation.Output{Value: value, Description: &desc}
	}
	out(OutputSiteURL, siteURL(), "the site: sign in here")
	out(OutputDNSName, getAtt(idLoadBalancer, "DNSName"), "the load balancer's name (point the domain's DNS record at it)")
	out(OutputAlarmTopic, ref(idAlarmTopic), "alarms are published here")
	vars := b.names.Variables()
	for _, v := range slices.Sorted(maps.Keys(vars)) {
		out(OutputOf(v), sub(vars[v]), v)
	}
	for _, r := range Roles() {
		out(RoleOutput(r), ref(RoleID(r)), "IAM role of "+r)
	}
	for _, g := range Groups() {
		out(GroupOutput(g), ref(GroupID(g)), "autoscaling group of "+strings.Join(g.Roles, ", "))
	}
	return nil
}
