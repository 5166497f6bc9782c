package search

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/types"
)

// Most search parameter expressions are unions of paths into the resource
// (Observation.valueQuantity | Observation.component.valueQuantity). Such
// an expression selects nothing from a resource that has none of the
// top-level elements its paths start from, and finding that out through
// the engine costs a scan of the JSON per absent element. A write extracts
// every parameter of its type (some 40 for an Observation) and most
// elements are absent, so that was most of the extraction. The engine is
// asked only about the parameters whose first elements the resource has.

// pathBranch is one branch of a union that selects values by navigation
// alone: the type, its first element, then elements, indexers, where(…)
// (emptied by stripWhere), the type filters as/ofType and resolve().
var pathBranch = regexp.MustCompile(`^\(?[A-Z][A-Za-z]*\.([a-z][A-Za-z0-9]*)` +
	`(\[[0-9]+\]|\.[a-z][A-Za-z0-9]*|\.where\(\)|\.(as|ofType)\([A-Za-z]+\)|\.resolve\(\)| as [A-Za-z]+\)?)*$`)

// exprRoots returns the top-level elements expression starts its paths
// from, when every branch of it is a path (pathBranch); ok is false for
// any other expression, which must always be evaluated:
// Patient.deceased.exists() and … is false, not empty, on a resource
// without deceased.
func exprRoots(expression string) (roots []string, ok bool) {
	s, ok := stripWhere(expression)
	if !ok {
		return nil, false
	}
	for branch := range strings.SplitSeq(s, "|") {
		m := pathBranch.FindStringSubmatch(strings.TrimSpace(branch))
		if m == nil {
			return nil, false
		}
		if !slices.Contains(roots, m[1]) {
			roots = append(roots, m[1])
		}
	}
	return roots, true
}

// stripWhere empties the argument of every where(…): a where() filters the
// collection it is given, so it cannot select from an empty one whatever
// it tests. ok is false if the expression has quotes or parentheses this
// does not follow.
func stripWhere(x string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(x, ".where(")
		if i < 0 {
			break
		}
		b.WriteString(x[:i])
		b.WriteString(".where()")
		depth, quoted := 0, false
		j := i + len(".where")
	scan:
		for ; j < len(x); j++ {
			switch c := x[j]; {
			case c == '\'':
				quoted = !quoted
			case quoted && c == '\\':
				j++
			case quoted:
			case c == '(':
				depth++
			case c == ')':
				if depth--; depth == 0 {
					break scan
				}
			}
		}
		if j >= len(x) {
			return "", false
		}
		x = x[j+1:]
	}
	b.WriteString(x)
	s := b.String()
	return s, !strings.ContainsAny(s, `'"`)
}

// hasAnyRoot reports whether the resource has a top-level element that one
// of roots names: the element itself, a choice element it starts
// (value → valueQuantity), or a primitive's extension (_birthDate).
func (mr *matchResource) hasAnyRoot(roots []string) bool {
	for _, k := range mr.keys {
		k = strings.TrimPrefix(k, "_")
		for _, r := range roots {
			if strings.HasPrefix(k, r) && (len(k) == len(r) || 'A' <= k[len(r)] && k[len(r)] <= 'Z') {
				return true
			}
		}
	}
	return false
}

// Most of what is left after the skipping are member chains such as
// Observation.code or Resource.meta.tag. The engine spends most of its time
// on those in its visitor and in inferring each object's type (several
// scans of the object) only to learn that no member is a choice element.
// walk answers them directly, in the engine's terms (the same member reads,
// the same union), where no step can be a choice element.

// memberChain is a branch that is the type and lower-case member names.
var memberChain = regexp.MustCompile(`^[A-Z][A-Za-z]*(\.[a-z][A-Za-z0-9]*)+$`)

// exprChains splits expression into its branches' steps (["Observation",
// "component", "code"]) when every branch is a member chain whose members
// after the first are no choice element of any type; nil otherwise. The
// first member is checked against the resource's own type by walk.
func exprChains(expression string) [][]string {
	var chains [][]string
	for branch := range strings.SplitSeq(expression, "|") {
		branch = strings.TrimSpace(branch)
		if !memberChain.MatchString(branch) {
			return nil
		}
		steps := strings.Split(branch, ".")
		for _, name := range steps[2:] {
			if choiceNames[name] || resourceChoiceNames()[name] {
				return nil
			}
		}
		chains = append(chains, steps)
	}
	return chains
}

// resourceChoiceNames are the element names of resourceChoices.
var resourceChoiceNames = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for path := range resourceChoices {
		_, name, _ := strings.Cut(path, ".")
		m[name] = true
	}
	return m
})

// walk evaluates chains (exprChains) on the resource as the engine would
// with choiceModel; ok is false where it cannot say (the type test of the
// first step fails, or the first member is a choice element of this type),
// and the engine is asked instead. It relies on no nested object naming a
// type of its own (newMatchResource leaves those resources to the engine).
func (mr *matchResource) walk(chains [][]string) (col types.Collection, ok bool) {
	for i, steps := range chains {
		if !eval.IsSubtypeOfWithModel(mr.typ, steps[0], choiceModel{}) {
			return nil, false
		}
		if _, choice := resourceChoices[mr.typ+"."+steps[1]]; choice {
			return nil, false
		}
		c := mr.rootMember(steps[1])
		for _, name := range steps[2:] {
			c = members(c, name)
		}
		if i == 0 {
			col = c
		} else {
			col = col.Union(c)
		}
	}
	return col, true
}

// rootMember is members of the resource, read once per name: many
// parameters start from the same member (code, subject, meta).
func (mr *matchResource) rootMember(name string) types.Collection {
	c, ok := mr.rootMembers[name]
	if !ok {
		c = members(mr.ctx.Root(), name)
		if mr.rootMembers == nil {
			mr.rootMembers = map[string]types.Collection{}
		}
		mr.rootMembers[name] = c
	}
	return c
}

// members is the engine's navigation to name for an element that is not a
// choice: the member of each object. (The engine then also looks up the
// impossible variant choiceModel gives, name + NUL, which only a document
// with an escaped NUL can have; those are left to the engine: evalAll.)
func members(in types.Collection, name string) types.Collection {
	var out types.Collection
	for _, v := range in {
		o, ok := v.(*types.ObjectValue)
		if !ok {
			continue
		}
		out = append(out, o.GetCollection(name)...)
	}
	return out
}
