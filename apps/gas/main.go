// Command gas is the Genomics Annotation Service: `gas serve` runs the whole
// service in one process (local mode), `gas annotate` and `gas db` use the
// annotation engine from the command line, and `gas aws` manages a
// deployment on AWS.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes that scripts can rely on.
const (
	exitOK       = 0
	exitFailure  = 1 // a runtime failure: I/O, network, a bug
	exitUsage    = 2 // the command line was wrong
	exitBadInput = 3 // the input data was malformed
)

// errUsage marks command-line mistakes so main exits with exitUsage.
var errUsage = errors.New("usage")

// errBadInput marks malformed input data so main exits with exitBadInput.
var errBadInput = errors.New("bad input")

// command is one subcommand; each registers itself in an init function of
// its own file so adding a subcommand touches no shared list.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "gas: unknown command %q\n\n", args[0])
		usage()
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.run(ctx, args[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "gas %s: %v\n", args[0], err)
		return exitUsage
	case errors.Is(err, errBadInput):
		fmt.Fprintf(os.Stderr, "gas %s: %v\n", args[0], err)
		return exitBadInput
	default:
		slog.Error("command failed", "command", args[0], "err", err)
		fmt.Fprintf(os.Stderr, "gas %s: %v\n", args[0], err)
		return exitFailure
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gas <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}
