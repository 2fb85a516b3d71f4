package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/bootstrap"
)

func init() {
	commands["aws"] = command{"deploy GAS on AWS (release, deploy, destroy, template, bootstrap, env)", runAWS}
}

const awsUsage = `usage: gas aws <subcommand> [flags]

subcommands:
  release     build the roles for linux/amd64 and linux/arm64 and upload them,
              with their SHA256SUMS, to a release bucket
  deploy      create or update the CloudFormation stack of a whole deployment,
              following its events, and print the site's URL and outputs
  destroy     delete the stack (buckets and tables are kept unless
              --delete-data)
  template    print the CloudFormation template (YAML, or --json)
  bootstrap   create (idempotently) the buckets, tables, queues, topics and
              subscriptions of a deployment named by GAS_AWS_* variables,
              without CloudFormation (roles run elsewhere, e.g. on moto)
  env         list the environment variables of the AWS deployment`

func runAWS(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: missing subcommand\n%s", errUsage, awsUsage)
	}
	switch args[0] {
	case "bootstrap":
		return runAWSBootstrap(ctx, args[1:], os.Stdout, os.Stderr)
	case "template":
		return runAWSTemplate(args[1:], os.Stdout, os.Stderr)
	case "deploy":
		return runAWSDeploy(ctx, args[1:], os.Stdout, os.Stderr)
	case "destroy":
		return runAWSDestroy(ctx, args[1:], os.Stdout, os.Stderr)
	case "release":
		return runAWSRelease(ctx, args[1:], os.Stdout, os.Stderr)
	case "env":
		return printAWSEnv(os.Stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stdout, awsUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown subcommand %q\n%s", errUsage, args[0], awsUsage)
}

// runAWSBootstrap reads the deployment from the environment, lets flags
// override the usual suspects, and converges the account on it.
func runAWSBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gas aws bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "endpoint override, e.g. http://127.0.0.1:5000 for moto (default $GAS_AWS_ENDPOINT)")
	region := fs.String("region", "", "AWS region (default $GAS_AWS_REGION or us-east-1)")
	prefix := fs.String("prefix", "", "resource name prefix (default $GAS_AWS_PREFIX or gas-)")
	cold := fs.String("cold-storage", "", "s3-glacier or glacier-vault (default $GAS_COLD_STORAGE or s3-glacier)")
	quiet := fs.Bool("q", false, "print nothing but errors")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gas aws bootstrap [flags]\n\nVariables (flags override): run `gas aws env`.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	getenv := func(name string) string {
		switch {
		case name == "GAS_AWS_ENDPOINT" && *endpoint != "":
			return *endpoint
		case name == "GAS_AWS_REGION" && *region != "":
			return *region
		case name == "GAS_AWS_PREFIX" && *prefix != "":
			return *prefix
		case name == "GAS_COLD_STORAGE" && *cold != "":
			return *cold
		}
		return os.Getenv(name)
	}
	c, err := awsconfig.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cl, err := awsconfig.NewClients(ctx, c)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelError
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	res, err := bootstrap.Run(ctx, cl, c, log)
	if err != nil {
		return err
	}
	if *quiet {
		return nil
	}
	if len(res.Created) == 0 {
		fmt.Fprintf(stdout, "deployment %q is up to date (nothing created)\n", c.Prefix)
	} else {
		fmt.Fprintf(stdout, "deployment %q: created %d resources\n", c.Prefix, len(res.Created))
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, name := range sortedKeys(res.QueueURLs) {
		fmt.Fprintf(w, "queue\t%s\t%s\n", name, res.QueueURLs[name])
	}
	for _, name := range sortedKeys(res.TopicARNs) {
		fmt.Fprintf(w, "topic\t%s\t%s\n", name, res.TopicARNs[name])
	}
	for _, b := range c.Names.Buckets() {
		fmt.Fprintf(w, "bucket\t%s\t\n", b)
	}
	for _, t := range c.Names.Tables() {
		fmt.Fprintf(w, "table\t%s\t\n", t)
	}
	return w.Flush()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// printAWSEnv prints the variables as a Markdown table, ready for the README.
func printAWSEnv(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n| --- | --- | --- |\n")
	for _, v := range awsconfig.Variables() {
		def := v.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, v.Meaning)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
