package stack

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/goformation/v7/cloudformation/ec2"
	elb "github.com/awslabs/goformation/v7/cloudformation/elasticloadbalancingv2"
	"github.com/awslabs/goformation/v7/cloudformation/tags"
)

// Logical ids of the network and load balancer.
const (
	idVpc          = "Vpc"
	idLBGroup      = "LoadBalancerSecurityGroup"
	idWebGroup     = "WebSecurityGroup"
	idWorkerGroup  = "WorkerSecurityGroup"
	idLoadBalancer = "LoadBalancer"
	idTargetGroup  = "WebTargetGroup"
	idHTTPS        = "HttpsListener"
	idHTTP         = "HttpListener"
	idHTTPRedirect = "HttpRedirectListener"
	idGatewayReady = "GatewayReady"
)

// WebPort is where web servers listen for the load balancer.
const WebPort = 8080

// subnetIDs are the created subnets' logical ids.
var subnetIDs = []string{"PublicSubnetA", "PublicSubnetB"}

// vpcID is the VPC the stack runs in: its own, or the one given.
func vpcID() string { return ifc(condCreateVpc, raw(ref(idVpc)), raw(ref(ParamVpcID))) }

// subnets is the subnets the load balancer and groups use, as a patch
// value (an Fn::If between two lists).
func subnets() any {
	var own []any
	for _, id := range subnetIDs {
		own = append(own, raw(ref(id)))
	}
	return raw(ifc(condCreateVpc, own, raw(ref(ParamSubnets))))
}

// network declares, when no VPC is given, a small VPC: two public
// subnets in two zones (the load balancer needs two) and an internet
// gateway. Instances get public addresses and no inbound route but the
// load balancer's, so no NAT gateway is paid for. Then the security
// groups: the load balancer takes 80 and 443 from anywhere, web servers
// take WebPort from the load balancer only, other instances nothing.
func (b *builder) network() error {
	name := func(s string) []tags.Tag { return []tags.Tag{{Key: "Name", Value: sub(prefixVar + s)}} }
	b.t.Resources[idVpc] = &ec2.VPC{CidrBlock: aws.String("10.40.0.0/16"), EnableDnsHostnames: aws.Bool(true),
		EnableDnsSupport: aws.Bool(true), Tags: name("vpc"), AWSCloudFormationCondition: condCreateVpc}
	b.t.Resources["InternetGateway"] = &ec2.InternetGateway{Tags: name("igw"), AWSCloudFormationCondition: condCreateVpc}
	b.t.Resources["GatewayAttachment"] = &ec2.VPCGatewayAttachment{VpcId: ref(idVpc), InternetGatewayId: aws.String(ref("InternetGateway")),
		AWSCloudFormationCondition: condCreateVpc}
	b.t.Resources["PublicRouteTable"] = &ec2.RouteTable{VpcId: ref(idVpc), AWSCloudFormationCondition: condCreateVpc}
	b.t.Resources["PublicRoute"] = &ec2.Route{RouteTableId: ref("PublicRouteTable"), DestinationCidrBlock: aws.String("0.0.0.0/0"),
		GatewayId: aws.String(ref("InternetGateway")), AWSCloudFormationCondition: condCreateVpc,
		AWSCloudFormationDependsOn: []string{"GatewayAttachment"}}
	for i, id := range subnetIDs {
		b.t.Resources[id] = &ec2.Subnet{VpcId: ref(idVpc), CidrBlock: aws.String([]string{"10.40.0.0/20", "10.40.16.0/20"}[i]),
			AvailabilityZone: aws.String(selectFn(i, raw(fn("Fn::GetAZs", "")))), MapPublicIpOnLaunch: aws.Bool(true),
			Tags: name([]string{"public-a", "public-b"}[i]), AWSCloudFormationCondition: condCreateVpc}
		b.t.Resources[id+"Routes"] = &ec2.SubnetRouteTableAssociation{SubnetId: ref(id), RouteTableId: ref("PublicRouteTable"),
			AWSCloudFormationCondition: condCreateVpc}
	}
	b.t.Resources[idLBGroup] = &ec2.SecurityGroup{GroupDescription: "GAS load balancer: HTTP and HTTPS from anywhere",
		VpcId: aws.String(vpcID()), SecurityGroupIngress: []ec2.SecurityGroup_Ingress{
			{IpProtocol: "tcp", FromPort: aws.Int(80), ToPort: aws.Int(80), CidrIp: aws.String("0.0.0.0/0")},
			{IpProtocol: "tcp", FromPort: aws.Int(443), ToPort: aws.Int(443), CidrIp: aws.String("0.0.0.0/0")},
		}}
	b.t.Resources[idWebGroup] = &ec2.SecurityGroup{GroupDescription: "GAS web servers: the application port from the load balancer only",
		VpcId: aws.String(vpcID()), SecurityGroupIngress: []ec2.SecurityGroup_Ingress{
			{IpProtocol: "tcp", FromPort: aws.Int(WebPort), ToPort: aws.Int(WebPort), SourceSecurityGroupId: aws.String(ref(idLBGroup))},
		}}
	b.t.Resources[idWorkerGroup] = &ec2.SecurityGroup{GroupDescription: "GAS annotators and housekeeping: no inbound traffic",
		VpcId: aws.String(vpcID())}
	return nil
}

// loadBalancer declares the application load balancer: HTTPS with the
// given certificate and HTTP redirected to it, or plain HTTP without one;
// /metrics answered 404 (the web role serves it only on its loopback
// operations listener, GAS_METRICS_ADDR, for the CloudWatch agent; the
// rule keeps it private even if a GAS_METRICS_TOKEN is set); the target
// group checks
// /readyz, which fails as soon as a web server starts draining.
func (b *builder) loadBalancer() error {
	lb := &elb.LoadBalancer{Scheme: aws.String("internet-facing"), Type: aws.String("application"),
		SecurityGroups: []string{ref(idLBGroup)},
		LoadBalancerAttributes: []elb.LoadBalancer_LoadBalancerAttribute{
			{Key: aws.String("routing.http.drop_invalid_header_fields.enabled"), Value: aws.String("true")},
		}}
	// A load balancer in the new VPC needs its internet gateway attached
	// first; DependsOn cannot be conditional, so it depends on a handle
	// whose metadata refers to the attachment only when there is one.
	b.t.Resources[idGatewayReady] = waitHandle{metadata: map[string]any{
		"Dependency": raw(ifc(condCreateVpc, raw(ref("GatewayAttachment")), ""))}}
	lb.AWSCloudFormationDependsOn = []string{idGatewayReady}
	b.t.Resources[idLoadBalancer] = lb
	b.patch(idLoadBalancer, "Subnets", subnets())
	b.t.Resources[idTargetGroup] = &elb.TargetGroup{Port: aws.Int(WebPort), Protocol: aws.String("HTTP"), VpcId: aws.String(vpcID()),
		TargetType: aws.String("instance"), HealthCheckPath: aws.String("/readyz"), HealthCheckIntervalSeconds: aws.Int(15),
		HealthyThresholdCount: aws.Int(2), UnhealthyThresholdCount: aws.Int(2), HealthCheckTimeoutSeconds: aws.Int(5),
		TargetGroupAttributes: []elb.TargetGroup_TargetGroupAttribute{
			// Long enough for a request in flight, short next to the
			// shutdown grace of a web server leaving the group.
			{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("20")},
		}}
	forward := []elb.Listener_Action{{Type: "forward", TargetGroupArn: aws.String(ref(idTargetGroup))}}
	b.t.Resources[idHTTPS] = &elb.Listener{LoadBalancerArn: ref(idLoadBalancer), Port: aws.Int(443), Protocol: aws.String("HTTPS"),
		SslPolicy:      aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		Certificates:   []elb.Listener_Certificate{{CertificateArn: aws.String(ref(ParamCertificate))}},
		DefaultActions: forward, AWSCloudFormationCondition: condHTTPS}
	b.t.Resources[idHTTPRedirect] = &elb.Listener{LoadBalancerArn: ref(idLoadBalancer), Port: aws.Int(80), Protocol: aws.String("HTTP"),
		DefaultActions: []elb.Listener_Action{{Type: "redirect", RedirectConfig: &elb.Listener_RedirectConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: "HTTP_301"}}},
		AWSCloudFormationCondition: condHTTPS}
	b.t.Resources[idHTTP] = &elb.Listener{LoadBalancerArn: ref(idLoadBalancer), Port: aws.Int(80), Protocol: aws.String("HTTP"),
		DefaultActions: forward, AWSCloudFormationCondition: condHTTP}
	for listener, cond := range map[string]string{idHTTPS: condHTTPS, idHTTP: condHTTP} {
		b.t.Resources[listener+"HidesMetrics"] = &elb.ListenerRule{ListenerArn: aws.String(ref(listener)), Priority: 1,
			Conditions: []elb.ListenerRule_RuleCondition{{Field: aws.String("path-pattern"),
				PathPatternConfig: &elb.ListenerRule_PathPatternConfig{Values: []string{"/metrics", "/metrics/*"}}}},
			Actions: []elb.ListenerRule_Action{{Type: "fixed-response", FixedResponseConfig: &elb.ListenerRule_FixedResponseConfig{
				StatusCode: "404", ContentType: aws.String("text/plain"), MessageBody: aws.String("not found")}}},
			AWSCloudFormationCondition: cond}
	}
	return nil
}

// siteURL is the site's external URL (GAS_BASE_URL).
func siteURL() string {
	scheme := ifc(condHTTPS, "https", "http")
	host := ifc(condDomain, raw(ref(ParamDomain)), raw(getAtt(idLoadBalancer, "DNSName")))
	return subVars("${Scheme}://${Host}", map[string]any{"Scheme": raw(scheme), "Host": raw(host)})
}

// waitHandle is an AWS::CloudFormation::WaitConditionHandle: a resource
// that does nothing, here to carry a conditional dependency.
type waitHandle struct{ metadata map[string]any }

func (waitHandle) AWSCloudFormationType() string { return "AWS::CloudFormation::WaitConditionHandle" }

func (w waitHandle) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"Type": w.AWSCloudFormationType(), "Metadata": w.metadata})
}
