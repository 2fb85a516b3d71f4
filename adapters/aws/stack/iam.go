package stack

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/iam"

	"github.com/gasproject/gas/adapters/aws/resources"
	"github.com/gasproject/gas/ports/message"
)

// Roles of a deployment, each its own binary (apps/<role>) and its own
// IAM role. The web role is no consumer of the topology; the others are.
const RoleWeb = "web"

// Group is an autoscaling group and the roles each of its instances runs.
type Group struct {
	Name  string
	Roles []string
}

// The groups' names.
const (
	GroupWeb          = "web"
	GroupAnnotators   = "annotators"
	GroupHousekeeping = "housekeeping"
)

// Groups lists the deployment's groups: web servers and annotators scale
// on their own; every other role the topology names (the consumers of its
// queues and dead-letter queues, and the reconciler) shares one small
// group of housekeeping instances (their work is light and bursty).
func Groups() []Group {
	t := message.DefaultTopology()
	var house []string
	add := func(r string) {
		if r != RoleWeb && r != message.RoleAnnotator && !slices.Contains(house, r) {
			house = append(house, r)
		}
	}
	for _, q := range t.Queues {
		add(q.Consumer)
		add(q.DeadLetterConsumer)
	}
	add(t.Reconciler.Role)
	return []Group{
		{Name: GroupWeb, Roles: []string{RoleWeb}},
		{Name: GroupAnnotators, Roles: []string{message.RoleAnnotator}},
		{Name: GroupHousekeeping, Roles: house},
	}
}

// Roles lists every role of the deployment.
func Roles() []string {
	var out []string
	for _, g := range Groups() {
		out = append(out, g.Roles...)
	}
	return out
}

// IAMRoleName is the name of role's IAM role: named (IAM is global, so
// with the region) because the housekeeping instances' role assumes the
// housekeeping roles by name.
func IAMRoleName(role string) string { return prefixVar + role + "-${AWS::Region}" }

// RoleID is the logical id of role's IAM role.
func RoleID(role string) string { return logicalID("", role) + "Role" }

// Grant is part of a role's policy: actions on resources (ARNs, with
// CloudFormation substitutions).
type Grant struct {
	Actions   []string
	Resources []string
}

var (
	consumeActions = []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
		"sqs:GetQueueAttributes", "sqs:SendMessage"}
	readObjects  = []string{"s3:GetObject", "s3:GetObjectTagging"}
	writeObjects = []string{"s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"}
)

func (b *builder) queueARN(base string) string { return arn("sqs", b.names.Queue(base)) }
func (b *builder) topicARN(base string) string { return arn("sns", b.names.Topic(base)) }
func tableARN(name string) string              { return arn("dynamodb", "table/"+name) }
func indexARN(name string) string              { return arn("dynamodb", "table/"+name+"/index/*") }
func bucketARN(name string) string             { return sub("arn:${AWS::Partition}:s3:::" + name) }
func objectsARN(name string) string            { return sub("arn:${AWS::Partition}:s3:::" + name + "/*") }

// referenceBucket is the bucket of the AnnotationDatabase parameter
// (s3://bucket/key): annotators read the database and its known variants
// from it.
func referenceBucket() map[string]any {
	return map[string]any{"Bucket": raw(selectFn(2, raw(split("/", raw(ref(ParamAnnotationDB))))))}
}

// Grants is what role's code calls, resource by resource: its IAM policy.
// Everything about queues and topics follows the message topology (who
// consumes what, who drains which dead letters); the rest is what each
// role's adapters call, checked against the calls each role makes in the
// end-to-end run (apps/internal/e2e, TestStackPoliciesAreExact).
//
// S3 answers a read of a missing key with 403 unless the caller may list
// the bucket; GAS tells a missing object from a forbidden one (a .tbi
// built when absent, an archive already gone), so a role that reads a
// bucket may list it.
func (b *builder) Grants(role string) []Grant {
	n := b.names
	t := b.cfg.Topology()
	var queues []string
	for _, q := range b.d.Queues {
		queues = append(queues, arn("sqs", q.Name))
	}
	g := []Grant{
		// message.Open resolves every queue of the topology at start.
		{[]string{"sqs:GetQueueUrl"}, queues},
		// snstopic.Open finds topics by name: ListTopics takes no resource.
		{[]string{"sns:ListTopics"}, []string{"*"}},
	}
	if role == t.Reconciler.Role {
		// It reads every job (a consistent Scan; /readyz a GetItem) and
		// writes none: it only re-issues messages.
		g = append(g, Grant{[]string{"dynamodb:GetItem", "dynamodb:Scan"}, []string{tableARN(n.JobsTable)}})
	} else {
		// Every other role reads and writes jobs (conditional writes).
		g = append(g, Grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem"}, []string{tableARN(n.JobsTable)}})
	}
	for _, q := range t.Queues {
		if q.Consumer == role {
			g = append(g, Grant{consumeActions, []string{b.queueARN(q.Name)}})
		}
		if q.DeadLetterConsumer == role {
			g = append(g, Grant{consumeActions, []string{arn("sqs", message.DeadLetterName(n.Queue(q.Name)))}},
				Grant{[]string{"sqs:SendMessage"}, []string{b.queueARN(q.Name)}}) // redrive
		}
	}
	g = append(g, b.parkedGrants(role)...)
	if role == t.Reconciler.Role {
		g = append(g, b.reconcilerGrants()...)
	}
	readUsers := Grant{[]string{"dynamodb:GetItem"}, []string{tableARN(n.UsersTable)}}
	list := func(buckets ...string) Grant {
		var rs []string
		for _, bk := range buckets {
			rs = append(rs, bucketARN(bk))
		}
		return Grant{[]string{"s3:ListBucket"}, rs}
	}
	switch role {
	case RoleWeb:
		g = append(g,
			// Profiles, and the operators' list of users (a Scan).
			Grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}, []string{tableARN(n.UsersTable)}},
			Grant{[]string{"dynamodb:Query"}, []string{indexARN(n.JobsTable)}},
			Grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem",
				"dynamodb:Query", "dynamodb:BatchGetItem"}, []string{tableARN(n.TokensTable)}},
			// Server-side sessions: both items written and deleted in one
			// transaction, a user's sessions queried to end them all.
			Grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"},
				[]string{tableARN(n.SessionsTable)}},
			// Uploads: presigned POSTs from browsers, PUTs through the API.
			Grant{slices.Concat(readObjects, writeObjects, []string{"s3:DeleteObject"}), []string{objectsARN(n.InputsBucket)}},
			Grant{readObjects, []string{objectsARN(n.ResultsBucket)}},
			list(n.InputsBucket, n.ResultsBucket),
			// Annotation requests go straight to the (fair) annotate
			// queue in their user's message group; /metrics shows its
			// backlog.
			Grant{[]string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, []string{b.queueARN(message.QueueAnnotate)}},
			Grant{[]string{"sns:Publish"}, []string{b.topicARN(message.TopicThawRequests)}},
		)
	case message.RoleAnnotator:
		g = append(g, readUsers,
			Grant{readObjects, []string{objectsARN(n.InputsBucket)}},
			Grant{slices.Concat(writeObjects, []string{"s3:DeleteObject"}), []string{objectsARN(n.ResultsBucket)}},
			Grant{[]string{"s3:GetObject"}, []string{subVars("arn:${AWS::Partition}:s3:::${Bucket}/*", referenceBucket())}},
			list(n.InputsBucket),
			Grant{[]string{"s3:ListBucket"}, []string{subVars("arn:${AWS::Partition}:s3:::${Bucket}", referenceBucket())}},
			Grant{[]string{"sns:Publish"}, []string{b.topicARN(message.TopicJobResults)}},
			Grant{[]string{"sqs:SendMessage"}, []string{b.queueARN(message.QueueArchive)}},
			// Scale-in protection while a job runs, and the termination
			// lifecycle hook once it is finished or released.
			Grant{[]string{"autoscaling:SetInstanceProtection", "autoscaling:CompleteLifecycleAction"},
				[]string{groupARN(GroupAnnotators)}},
		)
	case message.RoleArchiver:
		g = append(g, readUsers,
			Grant{slices.Concat(readObjects, []string{"s3:DeleteObject"}), []string{objectsARN(n.ResultsBucket)}},
			// A user upgraded mid-archive is restored at once.
			Grant{slices.Concat(writeObjects, []string{"s3:RestoreObject", "s3:GetObject"}), []string{objectsARN(n.ArchiveBucket)}},
			list(n.ResultsBucket, n.ArchiveBucket),
			Grant{[]string{"sqs:SendMessage"}, []string{b.queueARN(message.QueueRestore)}},
		)
	case message.RoleThawer:
		g = append(g, readUsers,
			Grant{[]string{"dynamodb:Query"}, []string{indexARN(n.JobsTable)}},
			// A restore records its tier beside the archive (.restore-tier),
			// read back when a restore of it is already running.
			Grant{[]string{"s3:RestoreObject", "s3:PutObject", "s3:GetObject"}, []string{objectsARN(n.ArchiveBucket)}},
			list(n.ArchiveBucket),
			Grant{[]string{"sqs:SendMessage"}, []string{b.queueARN(message.QueueRestore)}},
		)
	case message.RoleRestorer:
		g = append(g,
			Grant{slices.Concat(readObjects, []string{"s3:DeleteObject"}), []string{objectsARN(n.ArchiveBucket)}},
			Grant{writeObjects, []string{objectsARN(n.ResultsBucket)}},
			list(n.ArchiveBucket),
		)
	case message.RoleNotifier:
		g = append(g, readUsers,
			Grant{[]string{"ses:SendEmail"}, sesIdentities()},
			Grant{[]string{"sns:Publish"}, []string{b.topicARN(message.TopicJobResults)}},
		)
	}
	return g
}

// parkedGrants let role send to the parked queue (the dead-letter
// handlers give up on a message there) and read its depth for /metrics
// (the dead-letter handlers' role, and the reconciler).
func (b *builder) parkedGrants(role string) []Grant {
	t := b.cfg.Topology()
	drains := slices.ContainsFunc(t.Queues, func(q message.QueueSpec) bool { return q.DeadLetterConsumer == role })
	parked := []string{b.queueARN(t.Parked)}
	switch {
	case drains:
		return []Grant{{[]string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, parked}}
	case role == t.Reconciler.Role:
		return []Grant{{[]string{"sqs:GetQueueAttributes"}, parked}}
	}
	return nil
}

// reconcilerGrants are what the reconciler re-issues lost messages with
// (message.Topology.Reconciler): it publishes to topics and sends to
// queues, reads users (a premium user's archived results are thawed) and
// the depth of the queues it watches.
func (b *builder) reconcilerGrants() []Grant {
	r := b.cfg.Topology().Reconciler
	var topics, sends, watches []string
	for _, p := range r.Publishes {
		topics = append(topics, b.topicARN(p))
	}
	for _, q := range r.Sends {
		sends = append(sends, b.queueARN(q))
	}
	for _, q := range r.Watches {
		watches = append(watches, b.queueARN(q))
	}
	return []Grant{
		{[]string{"dynamodb:GetItem"}, []string{tableARN(b.names.UsersTable)}},
		{[]string{"sns:Publish"}, topics},
		{[]string{"sqs:SendMessage"}, sends},
		{[]string{"sqs:GetQueueAttributes"}, watches},
	}
}

// sesIdentities are the verified identities the sender may be: its
// address, or its whole domain.
func sesIdentities() []string {
	domain := selectFn(1, raw(split("@", raw(ref(ParamSender)))))
	return []string{
		arn("ses", "identity/${"+ParamSender+"}"),
		subVars("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Domain}", map[string]any{"Domain": raw(domain)}),
	}
}

// groupName is the autoscaling group's name: fixed, so user data and
// policies can name it without a reference cycle.
func groupName(group string) string { return prefixVar + group }

func groupARN(group string) string {
	return arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/"+groupName(group))
}

// policy is role's grants as a policy document.
func (b *builder) policy(role string) resources.Policy {
	var ss []resources.Statement
	for _, g := range b.Grants(role) {
		ss = append(ss, resources.Statement{Effect: "Allow", Action: g.Actions, Resource: g.Resources})
	}
	return resources.NewPolicy(ss...)
}

// trust lets principal assume a role.
func trust(principal map[string]any) resources.Policy {
	return resources.NewPolicy(resources.Statement{Effect: "Allow", Principal: principal,
		Action: []string{"sts:AssumeRole"}})
}

var ec2Trust = trust(map[string]any{"Service": "ec2.amazonaws.com"})

// hostRole is the housekeeping instances' own role: it may only assume
// the housekeeping roles (each process runs as its own, AWS_PROFILE) and
// boot.
const hostRole = "HousekeepingHostRole"

// iam declares a role per GAS role with its policy, and the instance
// profiles: web servers and annotators run as their role; housekeeping
// instances run several roles, so their profile's role only assumes
// each, and every process gets its own credentials.
func (b *builder) iam() error {
	for _, g := range Groups() {
		shared := len(g.Roles) > 1
		var assumable []string
		for _, role := range g.Roles {
			assume, policies := ec2Trust, []iam.Role_Policy{{PolicyName: "calls", PolicyDocument: b.policy(role)}}
			if shared {
				assume = trust(map[string]any{"AWS": getAtt(hostRole, "Arn")})
				// By name: these roles' trust names the host role, so a
				// reference back would be a cycle.
				assumable = append(assumable, sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+IAMRoleName(role)))
			} else {
				policies = append(policies, b.bootPolicies(g)...)
			}
			b.t.Resources[RoleID(role)] = &iam.Role{AssumeRolePolicyDocument: assume, RoleName: aws.String(sub(IAMRoleName(role))),
				Description: aws.String(sub("GAS " + role + " (" + prefixVar + "): what its code calls")), Policies: policies}
		}
		if shared {
			b.t.Resources[hostRole] = &iam.Role{AssumeRolePolicyDocument: ec2Trust,
				Description: aws.String(sub("GAS " + g.Name + " instances (" + prefixVar + "): assume each of their roles")),
				Policies: append([]iam.Role_Policy{{PolicyName: "assume-roles", PolicyDocument: resources.NewPolicy(
					resources.Statement{Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: assumable})}},
					b.bootPolicies(g)...)}
		}
		b.t.Resources[profileID(g)] = &iam.InstanceProfile{Roles: []string{ref(instanceRole(g))}}
	}
	return nil
}

// instanceRole is the logical id of the role a group's instances run as.
func instanceRole(g Group) string {
	if len(g.Roles) > 1 {
		return hostRole
	}
	return RoleID(g.Roles[0])
}

func profileID(g Group) string { return logicalID("", g.Name) + "InstanceProfile" }
