package resources

import (
	"encoding/json"
	"strconv"
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
// behalf of one source (a bucket, a topic).
type Publisher struct{ Service, SourceARN string }

// AllowServices lets each publisher perform action on resource; a
// SourceARN pins which bucket or topic may do it.
func AllowServices(resource, action string, ps []Publisher) Policy {
	var ss []Statement
	for i, p := range ps {
		s := Statement{Sid: "gas" + strconv.Itoa(i), Effect: "Allow", Principal: map[string]any{"Service": p.Service},
			Action: []string{action}, Resource: []string{resource}}
		if p.SourceARN != "" {
			s.Condition = map[string]any{"ArnLike": map[string]string{"aws:SourceArn": p.SourceARN}}
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
// topic.
func ColdStorageTopicPolicy(topicARN, archiveBucketARN string) Policy {
	return AllowServices(topicARN, "SNS:Publish", []Publisher{
		{Service: "s3.amazonaws.com", SourceARN: archiveBucketARN},
		{Service: "glacier.amazonaws.com"},
	})
}
