package stack

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/autoscaling"
	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"

	"github.com/gasproject/gas/domain/scaling"
	"github.com/gasproject/gas/ports/message"
)

func groupByName(name string) Group {
	for _, g := range Groups() {
		if g.Name == name {
			return g
		}
	}
	panic("no group " + name)
}

// scalingPolicies declares domain/scaling's policies: by default target
// tracking (web: ALBRequestCountPerTarget; annotators: backlog per
// instance and jobs in flight per instance, both by metric math over the
// annotate queue and the group's instances in service), or, for
// comparison, the original deployment's step policies and their alarms
// exactly (scaling.SeedWebSteps, scaling.SeedAnnotatorSteps).
func (b *builder) scalingPolicies() error {
	web, ann := GroupID(groupByName(GroupWeb)), GroupID(groupByName(GroupAnnotators))
	b.t.Resources["WebRequestTracking"] = &autoscaling.ScalingPolicy{AutoScalingGroupName: ref(web),
		PolicyType: aws.String("TargetTrackingScaling"), AWSCloudFormationCondition: condTracking}
	b.patch("WebRequestTracking", "TargetTrackingConfiguration", map[string]any{
		"TargetValue": raw(ref(ParamWebTarget)),
		"PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": "ALBRequestCountPerTarget",
			"ResourceLabel": raw(join("/", raw(getAtt(idLoadBalancer, "LoadBalancerFullName")), raw(getAtt(idTargetGroup, "TargetGroupFullName"))))},
	})
	policy, err := scaling.TargetTrackingAnnotator(b.o.AcceptableWait, b.o.MeanJob)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	for _, rule := range policy.Rules() {
		tt, ok := rule.(scaling.TargetTracking)
		if !ok {
			return fmt.Errorf("%w: annotator rule %s is not target tracking", ErrTemplate, rule.Name())
		}
		target := ParamBacklogTarget
		if tt.Metric() == scaling.MessagesInFlight {
			target = ParamInFlightTarget
		}
		id := logicalID("Annotator", tt.Name())
		b.t.Resources[id] = &autoscaling.ScalingPolicy{AutoScalingGroupName: ref(ann),
			PolicyType: aws.String("TargetTrackingScaling"), EstimatedInstanceWarmup: aws.Int(180), AWSCloudFormationCondition: condTracking}
		b.patch(id, "TargetTrackingConfiguration", map[string]any{
			"TargetValue":                   raw(ref(target)),
			"CustomizedMetricSpecification": b.perInstance(tt.Metric(), tt.Name()),
		})
	}
	for _, s := range scaling.SeedWebSteps() {
		b.step(web, s)
	}
	for _, s := range scaling.SeedAnnotatorSteps() {
		b.step(ann, s)
	}
	return nil
}

// perInstance is metric ÷ the annotators in service, as target tracking's
// metric math takes it.
func (b *builder) perInstance(m scaling.Metric, label string) map[string]any {
	return map[string]any{"Metrics": []any{
		map[string]any{"Id": "queue", "ReturnData": false, "MetricStat": map[string]any{"Stat": "Sum",
			"Metric": b.queueMetric(string(m))}},
		map[string]any{"Id": "instances", "ReturnData": false, "MetricStat": map[string]any{"Stat": "Average",
			"Metric": map[string]any{"Namespace": "AWS/AutoScaling", "MetricName": string(scaling.InService),
				"Dimensions": []any{map[string]any{"Name": "AutoScalingGroupName", "Value": raw(sub(groupName(GroupAnnotators)))}}}}},
		map[string]any{"Id": "perinstance", "Expression": "queue / instances", "Label": label, "ReturnData": true},
	}}
}

func (b *builder) queueMetric(name string) map[string]any {
	return map[string]any{"Namespace": "AWS/SQS", "MetricName": name,
		"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": raw(named(b.names.Queue(message.QueueAnnotate)))}}}
}

// step is one of the original's step policies with its alarm.
func (b *builder) step(group string, s scaling.StepPolicy) {
	id := logicalID("Seed", s.Name())
	b.t.Resources[id] = &autoscaling.ScalingPolicy{AutoScalingGroupName: ref(group), PolicyType: aws.String("SimpleScaling"),
		AdjustmentType: aws.String("ChangeInCapacity"), ScalingAdjustment: aws.Int(s.Adjustment()),
		Cooldown: aws.String(fmt.Sprint(int(s.Cooldown().Seconds()))), AWSCloudFormationCondition: condSeed}
	a := s.Alarm().Spec()
	ns, dim, value := "AWS/SQS", "QueueName", named(b.names.Queue(message.QueueAnnotate))
	if a.Metric == scaling.RequestCount || a.Metric == scaling.TargetResponseTime {
		ns, dim, value = "AWS/ApplicationELB", "LoadBalancer", getAtt(idLoadBalancer, "LoadBalancerFullName")
	}
	b.t.Resources[id+"Alarm"] = &cloudwatch.Alarm{
		AlarmDescription: aws.String("the original deployment's " + s.Name() + " policy"),
		Namespace:        aws.String(ns), MetricName: aws.String(string(a.Metric)),
		Dimensions: []cloudwatch.Alarm_Dimension{{Name: dim, Value: value}},
		Statistic:  aws.String(a.Statistic.String()), Period: aws.Int(int(a.Period.Seconds())),
		EvaluationPeriods: a.EvaluationPeriods, ComparisonOperator: a.Comparison.String(),
		Threshold: aws.Float64(a.Threshold), TreatMissingData: aws.String(a.Missing.String()),
		AlarmActions: []string{ref(id)}, AWSCloudFormationCondition: condSeed,
	}
}
