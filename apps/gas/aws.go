package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/adapters/aws/bootstrap"
)

func init() {
	commands["aws"] = command{summary: "deploy and manage GAS on AWS", subs: map[string]command{
		"release": {summary: "build the roles for linux/amd64 and linux/arm64 and upload them, with their SHA256SUMS, to a release bucket",
			usage: "aws release [flags]",
			run: func(ctx context.Context, args []string) error {
				return runAWSRelease(ctx, args, os.Stdout, os.Stderr)
			}},
		"deploy": {summary: "create or update the CloudFormation stack of a whole deployment, following its events, and print the site's URL and outputs",
			usage: "aws deploy [flags]",
			run: func(ctx context.Context, args []string) error {
				return runAWSDeploy(ctx, args, os.Stdout, os.Stderr)
			}},
		"destroy": {summary: "delete the stack (buckets and tables are kept unless --delete-data)", usage: "aws destroy [flags]",
			run: func(ctx context.Context, args []string) error {
				return runAWSDestroy(ctx, args, os.Stdout, os.Stderr)
			}},
		"template": {summary: "print the CloudFormation template (YAML, or --json)", usage: "aws template [flags]",
			run: func(_ context.Context, args []string) error {
				return runAWSTemplate(args, os.Stdout, os.Stderr)
			}},
		"bootstrap": {summary: "create (idempotently) the buckets, tables, queues, topics and subscriptions of a deployment, without CloudFormation",
			usage: "aws bootstrap [flags]", about: "The deployment is named by GAS_AWS_* variables (gas aws env lists them); flags override them.",
			run: func(ctx context.Context, args []string) error {
				return runAWSBootstrap(ctx, args, os.Stdout, os.Stderr)
			}},
		"env": {summary: "list the environment variables of an AWS deployment (a Markdown table)", usage: "aws env",
			run: func(_ context.Context, args []string) error {
				if err := parseFlags(flag.NewFlagSet("aws env", flag.ContinueOnError), args); err != nil {
					return err
				}
				return printAWSEnv(os.Stdout)
			}},
	}}
}

// runAWSBootstrap reads the deployment from the environment, lets flags
// override the usual suspects, and converges the account on it.
func runAWSBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aws bootstrap", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "endpoint `URL` override, e.g. http://127.0.0.1:5000 for moto (default $GAS_AWS_ENDPOINT)")
	region := fs.String("region", "", "AWS `REGION` (default $GAS_AWS_REGION or us-east-1)")
	prefix := fs.String("prefix", "", "resource name `PREFIX` (default $GAS_AWS_PREFIX or gas-)")
	cold := fs.String("cold-storage", "", "cold storage `KIND`: s3-glacier or glacier-vault (default $GAS_COLD_STORAGE or s3-glacier)")
	quiet := fs.Bool("q", false, "print nothing but errors")
	if err := parseFlags(fs, args); err != nil {
		return err
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
