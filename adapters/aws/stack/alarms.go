package stack

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/cloudwatch"
	"github.com/awslabs/goformation/v7/cloudformation/sns"

	"github.com/gasproject/gas/adapters/workers"
	"github.com/gasproject/gas/ports/message"
)

const idAlarmTopic = "AlarmTopic"

// alarms declares what an operator must hear about, on one topic (and
// the AlarmEmail address when given): a dead letter on any dead-letter
// queue (a message that failed every delivery), annotation requests
// waiting longer than they should, the site answering with server
// errors, and the reconciler finding work a failure lost.
func (b *builder) alarms() error {
	b.t.Resources[idAlarmTopic] = &sns.Topic{TopicName: aws.String(sub(prefixVar + "alarms"))}
	b.t.Resources["AlarmEmailSubscription"] = &sns.Subscription{TopicArn: ref(idAlarmTopic), Protocol: "email",
		Endpoint: aws.String(ref(ParamAlarmEmail)), AWSCloudFormationCondition: condAlarmEmail}
	notify := []string{ref(idAlarmTopic)}
	for _, q := range b.d.Queues {
		if !q.HoldsFailures() {
			continue
		}
		id, what := logicalID("DeadLetters", q.Base)+"Alarm", "dead letters on "+q.Name+": messages that failed every delivery"
		if q.Parked {
			id, what = "ParkedAlarm", "parked messages on "+q.Name+": dead letters whose redrives are spent"
		}
		b.t.Resources[id] = &cloudwatch.Alarm{
			AlarmDescription: aws.String(sub(what)),
			Namespace:        aws.String("AWS/SQS"), MetricName: aws.String("ApproximateNumberOfMessagesVisible"),
			Dimensions: []cloudwatch.Alarm_Dimension{{Name: "QueueName", Value: named(q.Name)}},
			Statistic:  aws.String("Maximum"), Period: aws.Int(300), EvaluationPeriods: 1,
			ComparisonOperator: "GreaterThanThreshold", Threshold: aws.Float64(0), TreatMissingData: aws.String("notBreaching"),
			AlarmActions: notify, OKActions: notify,
		}
	}
	b.t.Resources["OldestRequestAlarm"] = &cloudwatch.Alarm{
		AlarmDescription: aws.String("the oldest waiting annotation request is older than the alarm threshold"),
		Namespace:        aws.String("AWS/SQS"), MetricName: aws.String("ApproximateAgeOfOldestMessage"),
		Dimensions: []cloudwatch.Alarm_Dimension{{Name: "QueueName", Value: named(b.names.Queue(message.QueueAnnotate))}},
		Statistic:  aws.String("Maximum"), Period: aws.Int(60), EvaluationPeriods: 5,
		ComparisonOperator: "GreaterThanThreshold", TreatMissingData: aws.String("notBreaching"),
		AlarmActions: notify, OKActions: notify,
	}
	b.patch("OldestRequestAlarm", "Threshold", raw(ref(ParamOldestRequest)))
	lb := func(id, metric string) cloudwatch.Alarm_MetricDataQuery {
		return cloudwatch.Alarm_MetricDataQuery{Id: id, ReturnData: aws.Bool(false), MetricStat: &cloudwatch.Alarm_MetricStat{
			Stat: "Sum", Period: 300, Metric: &cloudwatch.Alarm_Metric{Namespace: aws.String("AWS/ApplicationELB"),
				MetricName: aws.String(metric), Dimensions: []cloudwatch.Alarm_Dimension{
					{Name: "LoadBalancer", Value: getAtt(idLoadBalancer, "LoadBalancerFullName")}}}}}
	}
	b.t.Resources["ServerErrorsAlarm"] = &cloudwatch.Alarm{
		AlarmDescription: aws.String("more than 5% of requests answered with a server error (5xx) over 5 minutes"),
		Metrics: []cloudwatch.Alarm_MetricDataQuery{
			lb("target", "HTTPCode_Target_5XX_Count"), lb("balancer", "HTTPCode_ELB_5XX_Count"), lb("requests", "RequestCount"),
			{Id: "rate", Label: aws.String("5xx %"), ReturnData: aws.Bool(true),
				Expression: aws.String("IF(requests > 0, 100 * (FILL(target, 0) + FILL(balancer, 0)) / requests, 0)")},
		},
		EvaluationPeriods: 1, ComparisonOperator: "GreaterThanThreshold", Threshold: aws.Float64(5),
		TreatMissingData: aws.String("notBreaching"), AlarmActions: notify, OKActions: notify,
	}
	// The reconciler's last pass found work a failure lost (it re-issues
	// it): one pass may catch a job mid-step, three running mean hints
	// keep getting lost. Its findings reach CloudWatch through the agent
	// (agentConfig), one data point per kind of finding.
	b.t.Resources["ReconcilerFindingsAlarm"] = &cloudwatch.Alarm{
		AlarmDescription: aws.String("the reconciler found lost work on three passes running: messages keep getting lost"),
		Namespace:        aws.String(MetricNamespace), MetricName: aws.String("gas_reconcile_findings"),
		Dimensions: []cloudwatch.Alarm_Dimension{{Name: "job", Value: message.RoleReconciler}},
		Statistic:  aws.String("Maximum"), Period: aws.Int(int(workers.DefaultReconcileInterval.Seconds())), EvaluationPeriods: 3,
		ComparisonOperator: "GreaterThanThreshold", Threshold: aws.Float64(0), TreatMissingData: aws.String("notBreaching"),
		AlarmActions: notify, OKActions: notify,
	}
	return nil
}
