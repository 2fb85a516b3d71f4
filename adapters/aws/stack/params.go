package stack

import (
	"fmt"
	"strconv"

	"github.com/awslabs/goformation/v7/cloudformation"

	"github.com/gasproject/gas/domain/scaling"
)

// Parameter names of the template. `gas aws deploy` sets them from its
// flags; every other parameter keeps its default.
const (
	ParamPrefix            = "Prefix"
	ParamVpcID             = "VpcId"
	ParamSubnets           = "SubnetIds"
	ParamImage             = "ImageId"
	ParamWebInstanceType   = "WebInstanceType"
	ParamWebMin            = "WebMinSize"
	ParamWebMax            = "WebMaxSize"
	ParamAnnotatorType     = "AnnotatorInstanceType"
	ParamAnnotatorMin      = "AnnotatorMinSize"
	ParamAnnotatorMax      = "AnnotatorMaxSize"
	ParamHousekeepingType  = "HousekeepingInstanceType"
	ParamCertificate       = "CertificateArn"
	ParamDomain            = "DomainName"
	ParamOIDCIssuer        = "OIDCIssuer"
	ParamOIDCClientID      = "OIDCClientId"
	ParamSecretStore       = "SecretStore"
	ParamAnnotationDB      = "AnnotationDatabase"
	ParamSender            = "SenderAddress"
	ParamUpgradePolicy     = "UpgradePolicy"
	ParamAdmins            = "Admins"
	ParamReleaseBucket     = "ReleaseBucket"
	ParamReleaseVersion    = "ReleaseVersion"
	ParamScaling           = "ScalingPolicies"
	ParamWebTarget         = "WebRequestsPerTarget"
	ParamBacklogTarget     = "AnnotatorBacklogPerInstance"
	ParamInFlightTarget    = "AnnotatorJobsInFlightPerInstance"
	ParamOldestRequest     = "OldestRequestAlarmSeconds"
	ParamAlarmEmail        = "AlarmEmail"
	ParamLogRetention      = "LogRetentionDays"
	ParamInputRetention    = "InputRetentionDays"
	ParamFreeWindow        = "FreeWindow"
	ParamHousekeepingCount = "HousekeepingInstances"
)

// Conditions of the template.
const (
	condCreateVpc      = "CreateVpc"
	condHTTPS          = "HasCertificate"
	condHTTP           = "NoCertificate"
	condDomain         = "HasDomain"
	condSeed           = "UseSeedPolicies"
	condTracking       = "UseTargetTracking"
	condAlarmEmail     = "HasAlarmEmail"
	condSecretsManager = "UseSecretsManager"
	condExpireInputs   = "ExpireInputs"
)

// Scaling policy choices (ParamScaling).
const (
	ScalingTargetTracking = "target-tracking"
	ScalingSeed           = "seed"
)

// Secret stores (ParamSecretStore).
const (
	SecretStoreSSM            = "ssm"
	SecretStoreSecretsManager = "secretsmanager"
)

func (b *builder) parameters() error {
	backlog, err := scaling.AnnotatorBacklogTarget(b.o.AcceptableWait, b.o.MeanJob)
	if err != nil {
		return fmt.Errorf("annotator backlog target: %w", err)
	}
	str := func(name, def, desc string, allowed ...string) {
		p := cloudformation.Parameter{Type: "String", Default: def, Description: &desc}
		for _, a := range allowed {
			p.AllowedValues = append(p.AllowedValues, a)
		}
		b.t.Parameters[name] = p
	}
	num := func(name string, def, lo, hi float64, desc string) {
		b.t.Parameters[name] = cloudformation.Parameter{Type: "Number", Default: def, Description: &desc, MinValue: &lo, MaxValue: &hi}
	}
	prefixPattern := "^[a-z0-9][a-z0-9-]{0,20}$"
	b.t.Parameters[ParamPrefix] = cloudformation.Parameter{Type: "String", Default: "gas-", AllowedPattern: &prefixPattern,
		Description: ptr("prefix of every resource name (GAS_AWS_PREFIX); bucket names are global, so make it unique")}
	str(ParamVpcID, "", "VPC to run in; empty creates a small VPC with two public subnets")
	b.t.Parameters[ParamSubnets] = cloudformation.Parameter{Type: "CommaDelimitedList", Default: "",
		Description: ptr("two or more public subnets of VpcId, in different availability zones (with VpcId)")}
	b.t.Parameters[ParamImage] = cloudformation.Parameter{Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
		Default:     "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
		Description: ptr("Amazon Linux 2023 image for every instance; its architecture must match the instance types")}
	str(ParamWebInstanceType, "t4g.small", "web servers' instance type")
	num(ParamWebMin, 1, 1, 100, "fewest web servers")
	num(ParamWebMax, 4, 1, 100, "most web servers")
	str(ParamAnnotatorType, "t4g.large", "annotators' instance type (memory holds the annotation database)")
	num(ParamAnnotatorMin, 1, 1, 100, "fewest annotators (at least one: backlog per instance divides by it)")
	num(ParamAnnotatorMax, 10, 1, 100, "most annotators")
	str(ParamHousekeepingType, "t4g.small", "instance type of the housekeeping group (archiver, thawer, restorer, notifier, reconciler)")
	num(ParamHousekeepingCount, 1, 1, 3, "instances in the housekeeping group")
	str(ParamCertificate, "", "ACM certificate ARN for HTTPS; empty serves plain HTTP")
	str(ParamDomain, "", "the site's domain name (with a DNS record to the load balancer); empty uses the load balancer's name")
	str(ParamOIDCIssuer, "https://auth.globus.org", "OpenID Connect issuer")
	required := func(name, pattern, desc string) {
		b.t.Parameters[name] = cloudformation.Parameter{Type: "String", AllowedPattern: &pattern, Description: &desc,
			ConstraintDescription: ptr("required: " + desc)}
	}
	required(ParamOIDCClientID, ".+", "OIDC client id registered with the issuer (redirect URL: the site URL + /auth/callback)")
	str(ParamSecretStore, SecretStoreSSM, "where the secrets are kept: SSM SecureString parameters or Secrets Manager",
		SecretStoreSSM, SecretStoreSecretsManager)
	required(ParamAnnotationDB, "^s3://[a-z0-9][a-z0-9.-]+[a-z0-9]/.+$", "s3://bucket/key of the annotation database (gas db build); its known variants beside it")
	required(ParamSender, "^[^@ ]+@[^@ ]+$", "sender address of e-mails (a verified SES identity)")
	str(ParamUpgradePolicy, "admin", "who may upgrade a user to premium: admin (an operator) or open (the user)", "admin", "open")
	str(ParamAdmins, "", "comma-separated user ids (OIDC subjects) of the operators who may use the admin page (GAS_ADMINS)")
	required(ParamReleaseBucket, "^[a-z0-9][a-z0-9.-]+[a-z0-9]$", "bucket holding the release binaries (gas aws release)")
	required(ParamReleaseVersion, "^[A-Za-z0-9._+-]+$", "release version to run (a folder of the release bucket)")
	str(ParamScaling, ScalingTargetTracking, "scaling policies: target tracking, or the original deployment's step policies for comparison",
		ScalingTargetTracking, ScalingSeed)
	num(ParamWebTarget, scaling.WebRequestCountPerTarget, 1, 1e6, "web target: ALBRequestCountPerTarget, requests per instance per minute")
	num(ParamBacklogTarget, round2(backlog), 0.01, 1e4,
		"annotator target: jobs waiting per instance in service (acceptable wait "+b.o.AcceptableWait.String()+" / mean job "+b.o.MeanJob.String()+")")
	num(ParamInFlightTarget, scaling.AnnotatorUtilisationTarget, 0.05, 1, "annotator target: jobs in flight per instance in service")
	num(ParamOldestRequest, 4*b.o.AcceptableWait.Seconds(), 60, 1209600, "alarm when the oldest waiting annotation request is older (seconds)")
	str(ParamAlarmEmail, "", "e-mail address told of alarms; empty: alarms only on the alarm topic")
	num(ParamLogRetention, 30, 1, 3653, "days the roles' logs are kept")
	num(ParamInputRetention, 0, 0, 36500, "expire uploaded inputs after this many days (0: keep)")
	str(ParamFreeWindow, "5m", "how long free users' results stay downloadable before they are archived (GAS_FREE_WINDOW)")
	b.conditions()
	return nil
}

func (b *builder) conditions() {
	eq := func(a, v string) any { return raw(fn("Fn::Equals", []any{raw(ref(a)), v})) }
	not := func(c string) any { return raw(fn("Fn::Not", []any{map[string]any{"Condition": c}})) }
	b.t.Conditions[condCreateVpc] = eq(ParamVpcID, "")
	b.t.Conditions[condHTTP] = eq(ParamCertificate, "")
	b.t.Conditions[condHTTPS] = not(condHTTP)
	b.t.Conditions[condDomain] = not("NoDomain")
	b.t.Conditions["NoDomain"] = eq(ParamDomain, "")
	b.t.Conditions[condSeed] = eq(ParamScaling, ScalingSeed)
	b.t.Conditions[condTracking] = eq(ParamScaling, ScalingTargetTracking)
	b.t.Conditions[condAlarmEmail] = not("NoAlarmEmail")
	b.t.Conditions["NoAlarmEmail"] = eq(ParamAlarmEmail, "")
	b.t.Conditions[condSecretsManager] = eq(ParamSecretStore, SecretStoreSecretsManager)
	b.t.Conditions[condExpireInputs] = not("KeepInputs")
	b.t.Conditions["KeepInputs"] = eq(ParamInputRetention, "0")
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

func ptr[T any](v T) *T { return &v }
