package stack

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gasproject/gas/ports/message"
)

// Secrets the web role needs, kept in SSM SecureString parameters or
// Secrets Manager under names derived from the prefix (gas aws deploy
// creates them; user data reads them at boot).
const (
	SecretOIDCClient = "oidc-client-secret"
	SecretSessionKey = "session-key"
)

// SecretName is where secret of the deployment named by prefix is kept.
func SecretName(store, prefix, secret string) string {
	if store == SecretStoreSecretsManager {
		return prefix + "secrets/" + secret
	}
	return "/" + prefix + "secrets/" + secret
}

// secretARN is the ARN pattern of a secret, for the web role's boot
// policy (Secrets Manager appends six random characters to a name).
func secretARN(store, secret string) string {
	if store == SecretStoreSecretsManager {
		return arn("secretsmanager", "secret:"+SecretName(store, prefixVar, secret)+"-??????")
	}
	return arn("ssm", "parameter"+SecretName(store, prefixVar, secret))
}

// Ports the roles listen on, on their instance: web servers the site for
// the load balancer; every role its /healthz, /readyz and /metrics on the
// loopback for the CloudWatch agent only (the web role on a listener of
// its own, GAS_METRICS_ADDR, so the public site serves no /metrics).
func opsPort(g Group, i int) int {
	if g.Name == GroupHousekeeping {
		return 9101 + i
	}
	return 9100
}

func opsAddr(g Group, i int) string { return "127.0.0.1:" + strconv.Itoa(opsPort(g, i)) }

// LogGroup is the CloudWatch Logs group of a role's JSON logs.
func LogGroup(role string) string { return "/gas/" + prefixVar + role }

// metricsLogGroup holds the roles' Prometheus metrics in embedded metric
// format, from which CloudWatch extracts them (namespace MetricNamespace).
const metricsLogGroup = "/gas/" + prefixVar + "metrics"

// bootLogGroup holds every instance's boot log (/var/log/gas-boot.log):
// what went wrong when an instance never became healthy.
const bootLogGroup = "/gas/" + prefixVar + "boot"

// MetricNamespace is the CloudWatch namespace of the roles' own metrics.
const MetricNamespace = "GAS"

// envLines are a role's environment on its instance: the variables the
// roles read (docs/configuration.md), from stack parameters, with
// $name for shell variables the script sets (instance id, secrets).
func (b *builder) envLines(g Group, role string, i int) []string {
	env := []string{
		"GAS_AWS_REGION=${AWS::Region}",
		"GAS_AWS_PREFIX=" + prefixVar,
		"GAS_FREE_WINDOW=${" + ParamFreeWindow + "}",
		"GAS_SHUTDOWN_GRACE=" + b.grace(g).String(),
	}
	switch role {
	case RoleWeb:
		env = append(env, "GAS_ADDR=0.0.0.0:"+strconv.Itoa(WebPort), "GAS_METRICS_ADDR="+opsAddr(g, i),
			"GAS_BASE_URL=${SiteURL}", "GAS_OIDC_ISSUER=${"+ParamOIDCIssuer+"}", "GAS_OIDC_CLIENT_ID=${"+ParamOIDCClientID+"}",
			"GAS_OIDC_CLIENT_SECRET=$oidc_secret", "GAS_SESSION_KEY=$session_key",
			"GAS_UPGRADE_POLICY=${"+ParamUpgradePolicy+"}", "GAS_ADMINS=${"+ParamAdmins+"}")
	default:
		env = append(env, "GAS_ADDR="+opsAddr(g, i))
	}
	switch role {
	case message.RoleAnnotator:
		env = append(env, "GAS_ANNOTATION_DB=${"+ParamAnnotationDB+"}",
			"GAS_AUTOSCALING_GROUP="+groupName(g.Name), "GAS_INSTANCE_ID=$instance")
	case message.RoleNotifier:
		env = append(env, "GAS_BASE_URL=${SiteURL}", "GAS_MAIL_FROM=${"+ParamSender+"}")
	}
	if len(g.Roles) > 1 {
		env = append(env, "AWS_CONFIG_FILE=/etc/gas/aws-config", "AWS_PROFILE="+role)
	}
	return env
}

// grace is how long a role lets work finish when told to stop:
// annotators until just before their lifecycle hook lets the instance
// go, the others the roles' default.
func (b *builder) grace(g Group) time.Duration {
	if g.Name == GroupAnnotators {
		return b.o.DrainTimeout - time.Minute
	}
	return 25 * time.Second
}

// userData is the boot script of a group's instances (Fn::Sub text: no
// shell ${...}, only the template's): it installs the release's binaries
// for the instance's architecture, checks them against the release's
// SHA256SUMS, writes each role's environment (secrets fetched now, kept
// root-only) and systemd unit, and starts the CloudWatch agent to ship
// the JSON logs and the roles' Prometheus metrics.
func (b *builder) userData(g Group) string {
	var s strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&s, format+"\n", a...) }
	w("#!/bin/bash")
	w("# GAS %s instance (gas aws template): release ${%s} of s3://${%s}", g.Name, ParamReleaseVersion, ParamReleaseBucket)
	w("set -euo pipefail")
	w("exec > >(tee -a /var/log/gas-boot.log) 2>&1")
	w("region=${AWS::Region}")
	w(`case "$(uname -m)" in aarch64) arch=arm64 ;; x86_64) arch=amd64 ;; *) echo "unsupported architecture"; exit 1 ;; esac`)
	w("dnf install -y -q amazon-cloudwatch-agent logrotate")
	w("id gas >/dev/null 2>&1 || useradd --system --home-dir /var/lib/gas --create-home --shell /sbin/nologin gas")
	w("install -d -m 0755 /opt/gas/bin && install -d -m 0755 -o gas -g gas /var/log/gas && install -d -m 0700 /etc/gas")
	w("cd /opt/gas/bin")
	w(`release="s3://${%s}/${%s}/linux-$arch"`, ParamReleaseBucket, ParamReleaseVersion)
	w(`aws s3 cp --only-show-errors --region "$region" "$release/SHA256SUMS" SHA256SUMS`)
	w("for b in %s; do", strings.Join(g.Roles, " "))
	w(`  aws s3 cp --only-show-errors --region "$region" "$release/$b" "$b"`)
	w("done")
	w("sha256sum --check --ignore-missing --strict SHA256SUMS")
	w("chmod 0755 %s", strings.Join(g.Roles, " "))
	w(`token=$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")`)
	w(`instance=$(curl -sS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)`)
	if g.Name == GroupWeb {
		w("secret() {")
		w(`  if [ "${%s}" = %s ]; then aws secretsmanager get-secret-value --region "$region" --secret-id "$1" --query SecretString --output text`,
			ParamSecretStore, SecretStoreSecretsManager)
		w(`  else aws ssm get-parameter --region "$region" --with-decryption --name "$1" --query Parameter.Value --output text; fi`)
		w("}")
		w(`store=${%s}`, ParamSecretStore)
		w(`if [ "$store" = %s ]; then p=${%s}secrets/; else p=/${%s}secrets/; fi`, SecretStoreSecretsManager, ParamPrefix, ParamPrefix)
		w(`oidc_secret=$(secret "$p%s")`, SecretOIDCClient)
		w(`session_key=$(secret "$p%s")`, SecretSessionKey)
	}
	if len(g.Roles) > 1 {
		w("cat > /etc/gas/aws-config <<EOF")
		for _, r := range g.Roles {
			w("[profile %s]\nrole_arn = ${%s.Arn}\ncredential_source = Ec2InstanceMetadata\nregion = ${AWS::Region}", r, RoleID(r))
		}
		w("EOF")
		w("chmod 0644 /etc/gas/aws-config")
	}
	for i, r := range g.Roles {
		w("cat > /etc/gas/%s.env <<EOF", r)
		for _, l := range b.envLines(g, r, i) {
			w("%s", l)
		}
		w("EOF")
		w("chmod 0600 /etc/gas/%s.env", r)
		w("cat > /etc/systemd/system/gas-%s.service <<'EOF'", r)
		w("%s", unit(r, b.grace(g)))
		w("EOF")
	}
	w("cat > /etc/logrotate.d/gas <<'EOF'\n/var/log/gas/*.log {\n  daily\n  rotate 3\n  compress\n  missingok\n  copytruncate\n}\nEOF")
	w("cat > /opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml <<'EOF'\n%sEOF", prometheusConfig(g))
	w("cat > /opt/aws/amazon-cloudwatch-agent/etc/gas.json <<'EOF'\n%s\nEOF", agentConfig(g))
	w("/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/gas.json")
	w("systemctl daemon-reload")
	for _, r := range g.Roles {
		w("systemctl enable --now gas-%s", r)
	}
	return s.String()
}

// unit is a role's systemd unit. Exit status 2 is a configuration error:
// restarting would not help.
func unit(role string, grace time.Duration) string {
	return strings.Join([]string{
		"[Unit]", "Description=GAS " + role, "After=network-online.target", "Wants=network-online.target",
		"[Service]", "User=gas", "EnvironmentFile=/etc/gas/" + role + ".env", "ExecStart=/opt/gas/bin/" + role,
		"Restart=on-failure", "RestartSec=5", "RestartPreventExitStatus=2",
		"TimeoutStopSec=" + strconv.Itoa(int((grace + 30*time.Second).Seconds())),
		"StandardOutput=append:/var/log/gas/" + role + ".log", "StandardError=append:/var/log/gas/" + role + ".log",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/gas",
		"[Install]", "WantedBy=multi-user.target",
	}, "\n")
}

// prometheusConfig scrapes each role's /metrics once a minute.
func prometheusConfig(g Group) string {
	var s strings.Builder
	s.WriteString("global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\nscrape_configs:\n")
	for i, r := range g.Roles {
		fmt.Fprintf(&s, "  - job_name: %s\n    static_configs:\n      - targets: ['%s']\n", r, opsAddr(g, i))
	}
	return s.String()
}

// agentConfig ships each role's log file to its log group and turns the
// scraped gas_* metrics into CloudWatch metrics (embedded metric format).
func agentConfig(g Group) string {
	files := []string{`{"file_path": "/var/log/gas-boot.log", "log_group_name": "` + bootLogGroup + `", "log_stream_name": "{instance_id}"}`}
	for _, r := range g.Roles {
		files = append(files, fmt.Sprintf(`{"file_path": "/var/log/gas/%s.log", "log_group_name": "%s", "log_stream_name": "{instance_id}"}`,
			r, LogGroup(r)))
	}
	return `{"agent": {"run_as_user": "root"},
 "logs": {"force_flush_interval": 15,
  "logs_collected": {"files": {"collect_list": [` + strings.Join(files, ", ") + `]}},
  "metrics_collected": {"prometheus": {"log_group_name": "` + metricsLogGroup + `",
   "prometheus_config_path": "/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml",
   "emf_processor": {"metric_declaration_dedup": true, "metric_namespace": "` + MetricNamespace + `",
    "metric_declaration": [
     {"source_labels": ["job"], "label_matcher": ".+", "dimensions": [["job", "queue", "state"]], "metric_selectors": ["^gas_queue_messages$"]},
     {"source_labels": ["job"], "label_matcher": ".+", "dimensions": [["job"]], "metric_selectors": ["^gas_(annotations_total|job_write_conflicts_total|reconcile_.*)$"]}]}}}}}`
}
