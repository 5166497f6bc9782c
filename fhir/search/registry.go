package search

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"github.com/fhirbell/fhirbell/fhir"
	"maps"
	"slices"
	"sync"

	"github.com/gofhir/fhirpath"
)

// searchParamsJSON is the search-parameter table generated from the
// official R4 SearchParameter Bundle by internal/gensearch (see the
// generate directive in search.go, and that command's doc for how the
// expressions are trimmed per resource type). It maps a resource type, or
// "Resource" for the parameters every type has, to its parameters.
//
//go:embed searchparams.json
var searchParamsJSON []byte

// tableParam is one row of searchparams.json. Keep in sync with
// internal/gensearch.param.
type tableParam struct {
	Code        string   `json:"code"`
	Type        string   `json:"type"`
	Expression  string   `json:"expression"`
	Targets     []string `json:"targets"`
	Description string   `json:"description"`
	Unsupported string   `json:"unsupported"`
}

// paramDef is a search parameter of one resource type with its compiled
// expression. paramDefs are shared by every Query and never modified after
// the registry is built, except for the lazily compiled expression, which
// sync.OnceValues guards.
type paramDef struct {
	tableParam
	// compile returns the compiled expression; compiling on first use keeps
	// start-up cheap (there are ~1600 expressions, most never used).
	compile func() (*fhirpath.Expression, error)
	// roots are the top-level elements the expression selects from, when
	// it is a union of paths (exprRoots); pathOnly says it is.
	roots    []string
	pathOnly bool
	// chains are its member chains, when walk can evaluate it (exprChains).
	chains [][]string
}

// registry holds the parameters of every resource type, the common ones
// included, keyed by type then code.
type registry struct {
	byType map[string]map[string]*paramDef
	sorted map[string][]*paramDef // the supported parameters of each type, by code
}

// searchRegistry parses the embedded table once, on first use.
var searchRegistry = sync.OnceValue(func() *registry {
	var table map[string][]tableParam
	if err := json.Unmarshal(searchParamsJSON, &table); err != nil {
		panic("fhir: embedded searchparams.json is invalid: " + err.Error()) // a build defect, caught by tests
	}
	// Expressions are shared between types through the common parameters,
	// so compile each distinct expression once.
	compilers := map[string]func() (*fhirpath.Expression, error){}
	mk := func(tp tableParam) *paramDef {
		p := &paramDef{tableParam: tp}
		if tp.Expression != "" {
			c, ok := compilers[tp.Expression]
			if !ok {
				expr := tp.Expression
				c = sync.OnceValues(func() (*fhirpath.Expression, error) {
					x, err := fhirpath.Compile(expr)
					if err != nil {
						return nil, fmt.Errorf("compile %q: %w", expr, err)
					}
					return x, nil
				})
				compilers[expr] = c
			}
			p.compile = c
			p.roots, p.pathOnly = exprRoots(tp.Expression)
			p.chains = exprChains(tp.Expression)
		}
		return p
	}
	common := map[string]*paramDef{}
	for _, tp := range table["Resource"] {
		common[tp.Code] = mk(tp)
	}
	r := &registry{byType: map[string]map[string]*paramDef{}, sorted: map[string][]*paramDef{}}
	for _, rt := range fhir.ResourceTypes() {
		m := maps.Clone(common)
		for _, tp := range table[rt] {
			m[tp.Code] = mk(tp)
		}
		r.byType[rt] = m
		for _, code := range slices.Sorted(maps.Keys(m)) {
			if p := m[code]; p.Unsupported == "" && p.compile != nil {
				r.sorted[rt] = append(r.sorted[rt], p)
			}
		}
	}
	return r
})

// lookup returns the parameter code of resourceType, or nil.
func (r *registry) lookup(resourceType, code string) *paramDef {
	return r.byType[resourceType][code]
}

// SearchParams returns the search parameters of resourceType that fhirbell
// supports, sorted by code, including the ones every resource has (_id,
// _lastUpdated, _tag, _profile, _security, _source). Composite and special
// parameters, and those without a usable FHIRPath expression, are left
// out: ParseQuery rejects them as not supported. It returns nil for an
// unknown type. The caller may modify the result.
func SearchParams(resourceType string) []SearchParam {
	m := searchRegistry().byType[resourceType]
	if m == nil {
		return nil
	}
	var out []SearchParam
	for _, code := range slices.Sorted(maps.Keys(m)) {
		p := m[code]
		if p.Unsupported != "" {
			continue
		}
		out = append(out, SearchParam{
			Code:        p.Code,
			Type:        p.Type,
			Expression:  p.Expression,
			Description: p.Description,
			Targets:     slices.Clone(p.Targets),
		})
	}
	return out
}
