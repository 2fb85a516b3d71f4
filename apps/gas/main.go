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

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		printUsage(os.Stderr)
		return exitUsage
	}
	if isHelp(args[0]) {
		printUsage(os.Stdout)
		return exitOK
	}
	path, cmd, rest, err := resolve(args)
	var help *helpRequest
	switch {
	case errors.As(err, &help):
		printHelp(os.Stdout, path, cmd, nil)
		return exitOK
	case err != nil && cmd.subs != nil:
		fmt.Fprintf(os.Stderr, "gas: %v\n\n", err)
		printHelp(os.Stderr, path, cmd, nil)
		return exitUsage
	case err != nil:
		fmt.Fprintf(os.Stderr, "gas: %v\n\n", err)
		printUsage(os.Stderr)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = cmd.run(ctx, rest)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &help):
		printHelp(os.Stdout, path, cmd, help.fs)
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "gas %s: %v\n(gas %s --help lists its flags)\n", path, err, path)
		return exitUsage
	case errors.Is(err, errBadInput):
		fmt.Fprintf(os.Stderr, "gas %s: %v\n", path, err)
		return exitBadInput
	default:
		slog.Error("command failed", "command", path, "err", err)
		fmt.Fprintf(os.Stderr, "gas %s: %v\n", path, err)
		return exitFailure
	}
}
