package search

import (
	"regexp"
	"slices"
	"strings"
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
