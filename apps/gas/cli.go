package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// command is one `gas` command: a leaf that runs, or a group of
// subcommands (`gas db build`). Each registers itself in an init function
// of its own file so adding a command touches no shared list.
type command struct {
	summary string
	// usage is the synopsis without "gas " (leaves), about a longer
	// description printed by --help below the summary.
	usage, about string
	run          func(ctx context.Context, args []string) error
	subs         map[string]command
}

var commands = map[string]command{}

// helpRequest is what a command's flag parsing returns for -h or --help:
// the dispatcher prints the command's help, built from the very flag set
// the command parses with, and exits 0. The README's flag tables come from
// the same flag sets (commandReference).
type helpRequest struct{ fs *flag.FlagSet }

func (*helpRequest) Error() string { return "help requested" }

// parseFlags parses a command's flags (they must precede its arguments;
// see parseInterspersed for commands that allow both orders).
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpRequest{fs}
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// parseInterspersed parses flags that may come before or after positional
// arguments, returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// showDefault sets how help and the README print flag name's default when
// the value itself depends on the machine (CPUs, the user's cache
// directory, the environment), so the generated docs are the same
// everywhere.
func showDefault(fs *flag.FlagSet, name, text string) {
	fs.Lookup(name).DefValue = text
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// resolve finds the command args name: its path ("db build"), the command
// and its arguments. A group without a valid subcommand resolves to the
// group itself (ok false unless help was asked for).
func resolve(args []string) (path string, cmd command, rest []string, err error) {
	cmd, found := commands[args[0]]
	if !found {
		return args[0], command{}, nil, fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	path, rest = args[0], args[1:]
	if cmd.subs == nil {
		return path, cmd, rest, nil
	}
	switch {
	case len(rest) == 0:
		return path, cmd, nil, fmt.Errorf("%w: gas %s needs a subcommand", errUsage, path)
	case isHelp(rest[0]):
		return path, cmd, nil, &helpRequest{}
	}
	sub, found := cmd.subs[rest[0]]
	if !found {
		return path, cmd, nil, fmt.Errorf("%w: unknown subcommand %q of gas %s", errUsage, rest[0], path)
	}
	return path + " " + rest[0], sub, rest[1:], nil
}

// dispatch runs subcommand args[0] of group (for callers below the top
// level, such as tests).
func dispatch(ctx context.Context, group string, args []string) error {
	_, c, rest, err := resolve(append([]string{group}, args...))
	if err != nil {
		return err
	}
	return c.run(ctx, rest)
}

// printUsage lists the commands (and their subcommands).
func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: gas <command> [flags]   (gas <command> --help for its flags)\n\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range sortedKeys(commands) {
		c := commands[name]
		fmt.Fprintf(tw, "  %s\t%s\n", name, c.summary)
		for _, sub := range sortedKeys(c.subs) {
			fmt.Fprintf(tw, "  %s %s\t%s\n", name, sub, c.subs[sub].summary)
		}
	}
	tw.Flush()
}

// printHelp is `gas PATH --help`: a group's subcommands, or a leaf's
// synopsis, description and every flag with its meaning and default.
func printHelp(w io.Writer, path string, c command, fs *flag.FlagSet) {
	if c.subs != nil {
		fmt.Fprintf(w, "usage: gas %s <subcommand> [flags]\n\n%s\n\nsubcommands:\n", path, c.summary)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, sub := range sortedKeys(c.subs) {
			fmt.Fprintf(tw, "  %s\t%s\n", sub, c.subs[sub].summary)
		}
		tw.Flush()
		return
	}
	fmt.Fprintf(w, "usage: gas %s\n\n%s\n", c.usage, c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	flags := flagsOf(fs)
	if len(flags) == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range flags {
		meaning := f.Meaning
		if f.Default != "" {
			meaning += " (default " + f.Default + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", f.Synopsis(), meaning)
	}
	tw.Flush()
}

// flagDoc is one flag as help and the README show it.
type flagDoc struct {
	Name, Value, Meaning, Default string
}

// Synopsis is how the flag is written: "--addr ADDR", "-o FILE", "--quiet".
func (f flagDoc) Synopsis() string {
	dash := "--"
	if len(f.Name) == 1 {
		dash = "-"
	}
	if f.Value == "" {
		return dash + f.Name
	}
	return dash + f.Name + " " + f.Value
}

// flagsOf lists a flag set's flags in name order. The value's name is the
// backquoted word of the usage (flag.UnquoteUsage), or its type.
func flagsOf(fs *flag.FlagSet) []flagDoc {
	var out []flagDoc
	if fs == nil {
		return out
	}
	fs.VisitAll(func(f *flag.Flag) {
		value, meaning := flag.UnquoteUsage(f)
		switch value {
		case "string": // name it after the flag: --addr ADDR, -o FILE
			value = strings.ToUpper(f.Name)
			if len(f.Name) == 1 {
				value = "FILE"
			}
		case "int", "uint", "int64", "uint64":
			value = "N"
		case "float", "float64":
			value = "NUMBER"
		case "duration":
			value = "DURATION"
		}
		def := f.DefValue
		if isZeroDefault(f) {
			def = ""
		}
		out = append(out, flagDoc{Name: f.Name, Value: value, Meaning: meaning, Default: def})
	})
	return out
}

// isZeroDefault reports defaults not worth printing: false, 0, "".
func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s":
		return true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// leaves lists every runnable command path ("annotate", "db build", …).
func leaves() []string {
	var out []string
	for _, name := range sortedKeys(commands) {
		if subs := commands[name].subs; subs != nil {
			for _, sub := range sortedKeys(subs) {
				out = append(out, name+" "+sub)
			}
			continue
		}
		out = append(out, name)
	}
	return out
}

// helpOf runs command path with --help and returns the flag set it parses
// with. Every command parses its flags before doing anything, so this has
// no effect beyond building the flag set.
func helpOf(path string) (command, *flag.FlagSet, error) {
	_, c, rest, err := resolve(strings.Fields(path))
	if err != nil {
		return c, nil, err
	}
	var help *helpRequest
	if err := c.run(context.Background(), append(rest, "--help")); !errors.As(err, &help) {
		return c, nil, fmt.Errorf("gas %s --help returned %v, not its help", path, err)
	}
	return c, help.fs, nil
}

// commandReference is the README's command reference: per command, its
// synopsis and a table of every flag, generated from the flag sets the
// commands parse with (a test keeps the README equal to it).
func commandReference() (string, error) {
	var b strings.Builder
	for _, path := range leaves() {
		c, fs, err := helpOf(path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "#### `gas %s`\n\n%s.\n\n    gas %s\n\n", path, strings.TrimSuffix(c.summary, "."),
			strings.ReplaceAll(c.usage, "\n", "\n    "))
		flags := flagsOf(fs)
		if len(flags) == 0 {
			b.WriteString("No flags.\n\n")
			continue
		}
		b.WriteString("| Flag | Default | Meaning |\n|---|---|---|\n")
		for _, f := range flags {
			def := ""
			if f.Default != "" {
				def = "`" + f.Default + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Synopsis(), def, strings.ReplaceAll(f.Meaning, "|", `\|`))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
