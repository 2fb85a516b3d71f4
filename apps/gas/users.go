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
	commands["users"] = command{"list users and grant or revoke premium on a deployment (the admin upgrade policy)", runUsers}
}

const usersUsage = `usage: gas users <subcommand>

  list            every user: id, plan, name, e-mail
  grant USER_ID   make the user premium and restore their archived results
  revoke USER_ID  return the user to the free plan

The deployment is the one the GAS_AWS_* variables name (see gas aws env);
its web role's GAS_UPGRADE_POLICY=admin leaves plans to these commands and
to the admin page of the operators in GAS_ADMINS.`

// usersOperator is the accounts service of the configured deployment.
type usersOperator func(ctx context.Context) (*accounts.Service, func(), error)

func runUsers(ctx context.Context, args []string) error {
	return users(ctx, args, os.Stdout, usersFromEnv(os.Getenv))
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

func users(ctx context.Context, args []string, stdout io.Writer, open usersOperator) error {
	fs := flag.NewFlagSet("gas users", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return fmt.Errorf("%w: missing subcommand\n%s", errUsage, usersUsage)
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	want := map[string]int{"list": 0, "grant": 1, "revoke": 1}
	n, ok := want[sub]
	if !ok || len(rest) != n {
		return fmt.Errorf("%w: %s %v\n%s", errUsage, sub, rest, usersUsage)
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
