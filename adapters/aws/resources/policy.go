package resources

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Policy is an IAM policy document: resource policies of queues and
// topics here, the roles' identity policies in the CloudFormation
// template. Strings may be CloudFormation intrinsics when the template
// embeds it.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy.
type Statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal,omitempty"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// NewPolicy is a policy of statements.
func NewPolicy(statements ...Statement) Policy {
	return Policy{Version: "2012-10-17", Statement: statements}
}

// JSON is the document as the service APIs take it.
func (p Policy) JSON() string {
	out, _ := json.Marshal(p) // plain structs of strings: cannot fail
	return string(out)
}

// Publisher is a service allowed to act on a resource, optionally only on
// behalf of one source (a bucket, a topic) and of one account.
type Publisher struct {
	Service   string
	SourceARN string
	// SourceAccount is the account the source must belong to (an id, or
	// in the template a reference to the AWS::AccountId pseudo parameter).
	SourceAccount string
}

// AllowServices lets each publisher perform action on resource; a
// SourceARN pins which bucket or topic may do it, a SourceAccount which
// account it must belong to.
func AllowServices(resource, action string, ps []Publisher) Policy {
	var ss []Statement
	for i, p := range ps {
		s := Statement{Sid: "gas" + strconv.Itoa(i), Effect: "Allow", Principal: map[string]any{"Service": p.Service},
			Action: []string{action}, Resource: []string{resource}}
		cond := map[string]any{}
		if p.SourceARN != "" {
			cond["ArnLike"] = map[string]string{"aws:SourceArn": p.SourceARN}
		}
		if p.SourceAccount != "" {
			cond["StringEquals"] = map[string]string{"aws:SourceAccount": p.SourceAccount}
		}
		if len(cond) > 0 {
			s.Condition = cond
		}
		ss = append(ss, s)
	}
	return NewPolicy(ss...)
}

// QueuePolicy lets the topics feeding a queue send to it.
func QueuePolicy(queueARN string, topicARNs []string) Policy {
	var ps []Publisher
	for _, arn := range topicARNs {
		ps = append(ps, Publisher{Service: "sns.amazonaws.com", SourceARN: arn})
	}
	return AllowServices(queueARN, "sqs:SendMessage", ps)
}

// ColdStorageTopicPolicy lets S3 (restore completions of the archive
// bucket) and Glacier (vault retrieval jobs) publish to the cold-storage
// topic. Both are pinned to account, the topic's owner (aws:SourceAccount):
// bucket names are global, and without it any account's bucket or vault
// could publish fake restore completions to the topic. account is an id,
// or in the template a reference to the AWS::AccountId pseudo parameter.
func ColdStorageTopicPolicy(topicARN, archiveBucketARN, account string) Policy {
	return AllowServices(topicARN, "SNS:Publish", []Publisher{
		{Service: "s3.amazonaws.com", SourceARN: archiveBucketARN, SourceAccount: account},
		{Service: "glacier.amazonaws.com", SourceAccount: account},
	})
}

// AccountOf is the account id in an ARN (arn:aws:sns:region:account:name).
func AccountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
