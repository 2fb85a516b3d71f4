package sqlite

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryStatementUsesAnIndex reads every SQL statement written in this
// package's source and asks SQLite for its query plan: none may scan a
// whole table, so the cost of each store call stays flat as the database
// grows (10,000 jobs for one user, a long-lived outbox). A new statement is
// checked the moment it is written.
func TestEveryStatementUsesAnIndex(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "gas.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := sourceSQL(t)
	if len(stmts) < 30 {
		t.Fatalf("found only %d statements in the source: the scan of the source is broken", len(stmts))
	}
	for _, q := range stmts {
		rows, err := db.w.Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Errorf("plan of %q: %v", q, err)
			continue
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(detail, "SCAN ") && !strings.Contains(detail, " USING ") {
				t.Errorf("%q scans a whole table: %s", q, detail)
			}
		}
		rows.Close()
	}
}

// sourceSQL collects the statements in this package's Go files: string
// literals (and constant concatenations of them) that start with an SQL
// verb. Statements built at run time from variables are not seen.
func sourceSQL(t *testing.T) []string {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	consts := map[string]string{}
	var exprs []ast.Expr
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ValueSpec:
				for i, name := range x.Names {
					if i < len(x.Values) {
						if s, ok := literal(x.Values[i], nil); ok {
							consts[name.Name] = s
						}
					}
				}
			case *ast.BinaryExpr, *ast.BasicLit:
				exprs = append(exprs, x.(ast.Expr))
				return false
			}
			return true
		})
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range exprs {
		s, ok := literal(e, consts)
		if !ok {
			continue
		}
		s = strings.Join(strings.Fields(s), " ")
		verb, _, _ := strings.Cut(s, " ")
		switch verb {
		case "SELECT", "UPDATE", "DELETE", "INSERT":
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// literal evaluates a string literal, or a + of literals and known
// constants.
func literal(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		l, ok1 := literal(x.X, consts)
		r, ok2 := literal(x.Y, consts)
		return l + r, ok1 && ok2
	}
	return "", false
}
