package domain_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gasproject/gas/"

// forbidden are standard-library packages the domain must not use: I/O,
// the network, processes, HTML, and codecs. Parsers, codecs and the
// annotation engine are adapters; the domain is the business only.
var forbidden = []string{
	"os", "os/exec", "os/signal", "os/user", "io/ioutil", "path/filepath", "syscall", "unsafe", "plugin",
	"net", "net/http", "net/smtp", "net/rpc", "crypto/tls", "database/sql",
	"html/template", "archive/tar", "archive/zip", "compress/gzip", "compress/flate",
	"encoding/json", "encoding/xml", "encoding/csv", "encoding/gob",
}

// identifierSyntax are the net/ packages that only check and escape the
// syntax of identifiers (e-mail addresses, URL path segments in object
// keys): no network, no I/O.
var identifierSyntax = map[string]bool{"net/mail": true, "net/url": true}

// TestDomainImportsOnlyTheStandardLibraryAndPorts enforces ARCHITECTURE.md's
// dependency rule on every non-test file under domain/: the standard
// library minus I/O and codecs, this module's domain packages and its
// ports (the interfaces and the message contract); and the domain root,
// the innermost circle, not even ports.
func TestDomainImportsOnlyTheStandardLibraryAndPorts(t *testing.T) {
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		root := filepath.Dir(path) == "."
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if why := refuse(p, root); why != "" {
				t.Errorf("domain/%s imports %q: %s", path, p, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("only %d files checked: is the test running in domain/?", files)
	}
}

// refuse says why the domain may not import p ("" if it may).
func refuse(p string, root bool) string {
	inModule := strings.HasPrefix(p, module)
	switch {
	case root && inModule:
		return "the domain root is the innermost circle and imports nothing of this module"
	case inModule && !isDomainOrPorts(strings.TrimPrefix(p, module)):
		return "the domain sees adapters and apps only through ports"
	case !inModule && strings.Contains(strings.Split(p, "/")[0], "."):
		return "the domain uses the standard library only"
	}
	for _, f := range forbidden {
		if p == f || (strings.HasPrefix(p, f+"/") && !identifierSyntax[p]) {
			return "I/O, network, HTML and codecs belong in adapters"
		}
	}
	return ""
}

func isDomainOrPorts(rel string) bool {
	return rel == "domain" || strings.HasPrefix(rel, "domain/") || rel == "ports" || rel == "ports/message"
}

func TestRefuseNamesEachBreach(t *testing.T) {
	for _, c := range []struct {
		path string
		root bool
		ok   bool
	}{
		{"fmt", true, true}, {"os", false, false}, {"net/http/httptest", false, false}, {"html/template", false, false},
		{module + "ports", false, true}, {module + "ports", true, false}, {module + "adapters/memory", false, false},
		{module + "ports/mocks", false, false}, {"github.com/google/wire", false, false}, {"encoding/json", false, false}, {"net/url", false, true},
	} {
		if got := refuse(c.path, c.root) == ""; got != c.ok {
			t.Errorf("refuse(%q, root=%v) allowed=%v, want %v", c.path, c.root, got, c.ok)
		}
	}
}
