package role

import (
	"slices"
	"strings"
	"testing"

	"github.com/gasproject/gas/adapters/aws/stack"
)

// TestStackEnvironmentIsConfiguration: every variable the stack's user
// data gives a role is one that role reads, so a renamed setting cannot
// leave instances misconfigured; and every role of the stack is a role.
func TestStackEnvironmentIsConfiguration(t *testing.T) {
	tpl, err := stack.Generate(stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	settings := append(Settings(), AWSSettings()...)
	for _, r := range stack.Roles() {
		if !slices.Contains(Roles, Name(r)) {
			t.Fatalf("the stack runs %q, which is no role", r)
		}
		env := tpl.Environment(r)
		if len(env) == 0 {
			t.Fatalf("no environment for %s", r)
		}
		for _, line := range env {
			name, _, _ := strings.Cut(line, "=")
			if !strings.HasPrefix(name, "GAS_") {
				continue
			}
			if !slices.ContainsFunc(settings, func(s Setting) bool { return s.Env == name && s.For(Name(r)) && !s.Test }) {
				t.Errorf("the stack sets %s for %s, which %s does not read", name, r, r)
			}
		}
	}
}
