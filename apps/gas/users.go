package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
	"github.com/gasproject/gas/apps/internal/role"
	"github.com/gasproject/gas/domain"
	"github.com/gasproject/gas/domain/accounts"
)

func init() {
	commands["users"] = command{summary: "list users and grant or revoke premium on a deployment (the admin upgrade policy)", subs: map[string]command{
		"list":   {summary: "list every user: id, plan, name, e-mail", usage: "users list", about: usersAbout, run: runUsers("list")},
		"grant":  {summary: "make a user premium and restore their archived results", usage: "users grant USER_ID", about: usersAbout, run: runUsers("grant")},
		"revoke": {summary: "return a user to the free plan", usage: "users revoke USER_ID", about: usersAbout, run: runUsers("revoke")},
	}}
}

const usersAbout = `The deployment is the one the GAS_AWS_* variables name (see gas aws env);
its web role's GAS_UPGRADE_POLICY=admin leaves plans to these commands and
to the admin page of the operators in GAS_ADMINS.`

// usersOperator is the accounts service of the configured deployment.
type usersOperator func(ctx context.Context) (*accounts.Service, func(), error)

// runUsers is `gas users SUB`.
func runUsers(sub string) func(ctx context.Context, args []string) error {
	return func(ctx context.Context, args []string) error {
		return users(ctx, append([]string{sub}, args...), os.Stdout, usersFromEnv(os.Getenv))
	}
}

// usersFromEnv opens the deployment the GAS_AWS_* variables name.
func usersFromEnv(getenv func(string) string) usersOperator {
	return func(ctx context.Context) (*accounts.Service, func(), error) {
		c, err := awsconfig.FromEnv(getenv)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rt := role.NewRuntime(role.Config{Role: "users", AWS: c, Policy: domain.DefaultPolicy(), BaseURL: "http://127.0.0.1"}, os.Stderr)
		return initOperator(ctx, rt)
	}
}

// users runs subcommand args[0] (list, grant USER_ID, revoke USER_ID).
func users(ctx context.Context, args []string, stdout io.Writer, open usersOperator) error {
	want := map[string]int{"list": 0, "grant": 1, "revoke": 1}
	if len(args) == 0 {
		return fmt.Errorf("%w: missing subcommand (list, grant or revoke)", errUsage)
	}
	sub := args[0]
	n, ok := want[sub]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q (list, grant or revoke)", errUsage, sub)
	}
	fs := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) != n {
		return fmt.Errorf("%w: gas users %s takes %d argument(s), got %d", errUsage, sub, n, len(rest))
	}
	svc, cleanup, err := open(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	switch sub {
	case "list":
		return listUsers(ctx, svc, stdout)
	case "grant":
		u, err := svc.Grant(ctx, domain.UserID(rest[0]))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is %s; restoring their archived results has been requested\n", u.ID(), u.Tier())
	case "revoke":
		u, err := svc.Revoke(ctx, domain.UserID(rest[0]))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is %s\n", u.ID(), u.Tier())
	}
	return nil
}

func listUsers(ctx context.Context, svc *accounts.Service, stdout io.Writer) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "USER\tPLAN\tNAME\tE-MAIL")
	for cursor := ""; ; {
		us, next, err := svc.Users(ctx, cursor, 100)
		if err != nil {
			return err
		}
		for _, u := range us {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", u.ID(), u.Tier(), u.Name(), u.Email())
		}
		if next == "" {
			return w.Flush()
		}
		cursor = next
	}
}
