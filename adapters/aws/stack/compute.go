package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/autoscaling"
	"github.com/awslabs/goformation/v7/cloudformation/ec2"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/tags"

	"github.com/gasproject/gas/adapters/aws/asg"
	"github.com/gasproject/gas/adapters/aws/resources"
)

// GroupID is the logical id of a group's autoscaling group.
func GroupID(g Group) string { return logicalID("", g.Name) + "Group" }

func launchTemplateID(g Group) string { return logicalID("", g.Name) + "LaunchTemplate" }

// LifecycleHook is the annotators' termination hook: the group waits
// for the annotator to finish or release its job (it completes the
// action itself; the timeout lets the instance go regardless).
const LifecycleHook = asg.DefaultHook

// bootPolicies are what a group's instances need at boot, apart from
// the roles' own calls: reading the release, shipping logs and metrics,
// and for web servers reading their two secrets. They are inline
// policies of the instance's role, so the role's "calls" policy stays
// exactly what the code calls.
func (b *builder) bootPolicies(g Group) []iam.Role_Policy {
	var logGroups []string
	for _, r := range g.Roles {
		logGroups = append(logGroups, arn("logs", "log-group:"+LogGroup(r)+":*"))
	}
	logGroups = append(logGroups, arn("logs", "log-group:"+metricsLogGroup+":*"), arn("logs", "log-group:"+bootLogGroup+":*"))
	out := []iam.Role_Policy{{PolicyName: "boot", PolicyDocument: resources.NewPolicy(
		resources.Statement{Effect: "Allow", Action: []string{"s3:GetObject"},
			Resource: []string{sub("arn:${AWS::Partition}:s3:::${" + ParamReleaseBucket + "}/${" + ParamReleaseVersion + "}/*")}},
		resources.Statement{Effect: "Allow", Action: []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			Resource: logGroups},
	)}}
	if g.Name != GroupWeb {
		return out
	}
	read := func(store, action string) resources.Statement {
		return resources.Statement{Effect: "Allow", Action: []string{action},
			Resource: []string{secretARN(store, SecretOIDCClient), secretARN(store, SecretSessionKey)}}
	}
	return append(out, iam.Role_Policy{PolicyName: "secrets", PolicyDocument: map[string]any{"Version": "2012-10-17",
		"Statement": []any{raw(ifc(condSecretsManager,
			read(SecretStoreSecretsManager, "secretsmanager:GetSecretValue"), read(SecretStoreSSM, "ssm:GetParameter")))}}})
}

// compute declares each group: its log groups, launch template (image,
// instance type, profile, IMDSv2 only, encrypted root volume, user data)
// and autoscaling group in the VPC's subnets, collecting the group
// metrics target tracking divides by.
func (b *builder) compute() error {
	for _, g := range Groups() {
		for _, r := range g.Roles {
			b.t.Resources[logicalID("LogGroup", r)] = &logs.LogGroup{LogGroupName: aws.String(sub(LogGroup(r))),
				RetentionInDays: nil}
			b.patch(logicalID("LogGroup", r), "RetentionInDays", raw(ref(ParamLogRetention)))
		}
		b.launchTemplate(g)
		b.group(g)
	}
	for id, name := range map[string]string{"LogGroupMetrics": metricsLogGroup, "LogGroupBoot": bootLogGroup} {
		b.t.Resources[id] = &logs.LogGroup{LogGroupName: aws.String(sub(name))}
		b.patch(id, "RetentionInDays", raw(ref(ParamLogRetention)))
	}
	return nil
}

func (b *builder) launchTemplate(g Group) {
	typ, sg, disk := ParamHousekeepingType, idWorkerGroup, 8
	switch g.Name {
	case GroupWeb:
		typ, sg = ParamWebInstanceType, idWebGroup
	case GroupAnnotators:
		typ, disk = ParamAnnotatorType, 30 // the annotation database and temporary results
	}
	b.t.Resources[launchTemplateID(g)] = &ec2.LaunchTemplate{
		LaunchTemplateData: &ec2.LaunchTemplate_LaunchTemplateData{
			ImageId:            aws.String(ref(ParamImage)),
			InstanceType:       aws.String(ref(typ)),
			IamInstanceProfile: &ec2.LaunchTemplate_IamInstanceProfile{Arn: aws.String(getAtt(profileID(g), "Arn"))},
			SecurityGroupIds:   []string{ref(sg)},
			MetadataOptions: &ec2.LaunchTemplate_MetadataOptions{HttpTokens: aws.String("required"),
				HttpEndpoint: aws.String("enabled"), HttpPutResponseHopLimit: aws.Int(1)},
			BlockDeviceMappings: []ec2.LaunchTemplate_BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"),
				Ebs: &ec2.LaunchTemplate_Ebs{VolumeSize: aws.Int(disk), VolumeType: aws.String("gp3"), Encrypted: aws.Bool(true),
					DeleteOnTermination: aws.Bool(true)}}},
			UserData: aws.String(fn("Fn::Base64", raw(subVars(b.userData(g), map[string]any{"SiteURL": raw(siteURL())})))),
			TagSpecifications: []ec2.LaunchTemplate_TagSpecification{{ResourceType: aws.String("instance"),
				Tags: []tags.Tag{{Key: "Name", Value: sub(prefixVar + g.Name)}}}},
		},
	}
}

func (b *builder) group(g Group) {
	minP, maxP := ParamHousekeepingCount, ParamHousekeepingCount
	switch g.Name {
	case GroupWeb:
		minP, maxP = ParamWebMin, ParamWebMax
	case GroupAnnotators:
		minP, maxP = ParamAnnotatorMin, ParamAnnotatorMax
	}
	asg := &autoscaling.AutoScalingGroup{
		AutoScalingGroupName: aws.String(sub(groupName(g.Name))),
		MinSize:              ref(minP), MaxSize: ref(maxP),
		LaunchTemplate: &autoscaling.AutoScalingGroup_LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(ref(launchTemplateID(g))), Version: getAtt(launchTemplateID(g), "LatestVersionNumber")},
		// Target tracking divides by the instances in service.
		MetricsCollection:      []autoscaling.AutoScalingGroup_MetricsCollection{{Granularity: "1Minute", Metrics: []string{"GroupInServiceInstances"}}},
		DefaultInstanceWarmup:  aws.Int(180),
		HealthCheckGracePeriod: aws.Int(300),
		Tags:                   []autoscaling.AutoScalingGroup_TagProperty{{Key: "gas:group", Value: g.Name, PropagateAtLaunch: true}},
		AWSCloudFormationUpdatePolicy: &policies.UpdatePolicy{AutoScalingRollingUpdate: &policies.AutoScalingRollingUpdate{
			MaxBatchSize: 1, MinInstancesInService: 0, PauseTime: "PT3M"}},
	}
	switch g.Name {
	case GroupWeb:
		asg.TargetGroupARNs = []string{ref(idTargetGroup)}
		asg.HealthCheckType = aws.String("ELB")
	case GroupAnnotators:
		asg.LifecycleHookSpecificationList = []autoscaling.AutoScalingGroup_LifecycleHookSpecification{{
			LifecycleHookName: LifecycleHook, LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
			HeartbeatTimeout: aws.Int(int(b.o.DrainTimeout.Seconds())), DefaultResult: aws.String("CONTINUE")}}
	}
	b.t.Resources[GroupID(g)] = asg
	b.patch(GroupID(g), "VPCZoneIdentifier", subnets())
}
