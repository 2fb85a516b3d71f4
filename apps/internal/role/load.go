package role

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/gasproject/gas/adapters/aws/awsconfig"
)

// Load reads role r's configuration from getenv (os.Getenv when nil) and
// args (flags win over variables), and validates it.
func Load(r Name, args []string, getenv func(string) string) (Config, error) {
	if !slices.Contains(Roles, r) {
		return Config{}, fmt.Errorf("%w: unknown role %q", ErrConfig, r)
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	fs := flag.NewFlagSet("gas-"+string(r), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := map[string]*string{}
	own := append(Settings(), AWSSettings()...)
	for _, s := range own {
		if s.For(r) {
			flags[s.Env] = fs.String(s.Flag(), "", s.Help+" ($"+s.Env+")")
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, flag.ErrHelp
		}
		return Config{}, fmt.Errorf("%w: %v (see docs/configuration.md)", ErrConfig, err)
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected arguments %q", ErrConfig, fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	lookup := func(env string) string {
		for _, s := range own {
			if s.Env == env && s.For(r) && set[s.Flag()] {
				return *flags[env]
			}
		}
		return getenv(env)
	}
	c := defaults(r)
	var errs []error
	for _, s := range Settings() {
		if !s.For(r) {
			continue
		}
		v := strings.TrimSpace(lookup(s.Env))
		if v == "" {
			continue
		}
		if err := s.apply(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, v, err))
		}
	}
	aws, err := awsconfig.FromEnv(lookup)
	if err != nil {
		errs = append(errs, err)
	}
	c.AWS = aws
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Usage lists role r's flags with their variables, for --help.
func Usage(r Name) string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: %s [flags]\n\nEvery flag has an environment variable; flags win. See docs/configuration.md.\n\n", r)
	for _, s := range append(Settings(), AWSSettings()...) {
		if !s.For(r) {
			continue
		}
		def := ""
		if s.Default != "" {
			def = " (default " + s.Default + ")"
		}
		fmt.Fprintf(&b, "  --%s  $%s%s\n      %s\n", s.Flag(), s.Env, def, s.Help)
	}
	return b.String()
}
