package main

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/fhirbell/fhirbell"

type goPackage struct {
	ImportPath string
	Dir        string
	Name       string
	Imports    []string
}

// listPackages runs `go list -json ./...` from the module root.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPackageDocs: every package has a doc.go whose comment starts
// "Package x" (or "Command x" for main), so its invariants have a home.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		path := filepath.Join(p.Dir, "doc.go")
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: no doc.go", p.ImportPath)
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command "
		}
		if f.Doc == nil || !strings.HasPrefix(f.Doc.Text(), want) {
			t.Errorf("%s: package comment must start %q", path, want)
		}
	}
}

// TestDependencyDirection enforces the layering drawn in the README
// (Layout) and docs/protocol.md: fhir, endpoint and migrations are leaves, subscription never imports its
// implementations or notify, and only cmd/fhirbell imports everything.
func TestDependencyDirection(t *testing.T) {
	forbidden := map[string][]string{
		"fhir":                  {"fhir/search", "fhir/validate", "fhir/patch", "fhir/shape", "subscription", "notify", "auth", "migrations", "cmd"},
		"fhir/shape":            {"subscription", "notify", "auth", "migrations", "cmd"},
		"fhir/search":           {"subscription", "notify", "auth", "migrations", "cmd"},
		"fhir/validate":         {"subscription", "notify", "auth", "migrations", "cmd"},
		"fhir/patch":            {"subscription", "notify", "auth", "migrations", "cmd"},
		"migrations":            {"fhir", "subscription", "notify", "auth", "cmd"},
		"endpoint":              {"fhir", "subscription", "notify", "auth", "migrations", "cmd"},
		"auth":                  {"subscription", "notify", "migrations", "cmd"},
		"subscription":          {"subscription/", "notify", "resthook", "cmd"},
		"subscription/memstore": {"subscription/postgres", "subscription/subhttp", "notify", "cmd"},
		"subscription/postgres": {"subscription/memstore", "subscription/subhttp", "notify", "cmd"},
		"subscription/subhttp":  {"subscription/memstore", "subscription/postgres", "cmd"},
		"notify":                {"subscription/postgres", "subscription/memstore", "subscription/subhttp", "resthook", "cmd"},
		"resthook":              {"subscription/postgres", "subscription/memstore", "subscription/subhttp", "notify", "cmd"},
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		rules, ok := forbidden[rel]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			for _, rule := range rules {
				if forbids(rule, dep) {
					t.Errorf("%s imports %s: forbidden by the layering", rel, dep)
				}
			}
		}
	}
}

// forbids reports whether rule excludes package dep: "x" excludes x and its
// sub-packages, "x/" only the sub-packages.
func forbids(rule, dep string) bool {
	if strings.HasSuffix(rule, "/") {
		return strings.HasPrefix(dep, rule)
	}
	return dep == rule || strings.HasPrefix(dep, rule+"/")
}

// TestNoPrintOutsideMain: library packages log through the *slog.Logger
// they are given, never to stdout (docs/protocol.md; NATS bans it with forbidigo).
func TestNoPrintOutsideMain(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.Name == "main" {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(p.Dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, banned := range []string{"fmt.Print(", "fmt.Println(", "fmt.Printf(", "log.Print", "slog.Default()"} {
				if strings.Contains(string(b), banned) {
					t.Errorf("%s uses %s", f, strings.TrimSuffix(banned, "("))
				}
			}
		}
	}
}

// TestBinaryLinksNoTesting: test helpers (such as pgtest) live in packages
// only tests import, so the server binary does not link package testing.
func TestBinaryLinksNoTesting(t *testing.T) {
	for _, cmd := range []string{"./cmd/fhirbell", "./cmd/fhirbell-bench"} {
		c := exec.Command("go", "list", "-deps", cmd)
		c.Dir = "../.."
		out, err := c.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", cmd, err)
		}
		for dep := range strings.FieldsSeq(string(out)) {
			if dep == "testing" {
				t.Errorf("%s links package testing", cmd)
			}
		}
	}
}
