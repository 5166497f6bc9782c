package search

import (
	"math/big"
	"slices"
	"time"
)

// This file is the view of a parsed Query that stores plan from. The
// semantics of each term are the matcher's (match.go); a store translates
// them to its indexes, and the differential tests check that it agrees with
// the matcher on a corpus.

// Terms returns the filter terms of q, all of which must match.
func (q *Query) Terms() []*Term { return q.terms }

// Param returns the parameter's code, type and, for a reference parameter,
// the types it may refer to (empty: any).
func (t *Term) Param() (code, typ string, targets []string) {
	return t.param.Code, t.param.Type, t.param.Targets
}

// Key returns the query key as the client wrote it, for error messages.
func (t *Term) Key() string { return t.key }

// Modifier returns "" or one of missing, exact, contains, not, text, below,
// above, type (the :Type modifier of a reference; see RefType).
func (t *Term) Modifier() string { return t.modifier }

// RefType returns the type of a :Type modifier.
func (t *Term) RefType() string { return t.refType }

// Missing returns the value of :missing (true for :missing=true).
func (t *Term) Missing() bool { return t.missing }

// Values returns the ORed values of the term.
func (t *Term) Values() []*Value { return t.values }

// Chain returns, for a chained term, one query per type the reference may
// point to: the term matches when the reference points to a resource that
// matches one of them. nil for other terms.
func (t *Term) Chain() []*Query { return t.chain }

// Has returns the reverse chain of a _has term, or nil.
func (t *Term) Has() *Has { return t.has }

// Raw returns the value as written, unescaped.
func (v *Value) Raw() string { return v.raw }

// Prefix returns the comparison prefix of a date, number or quantity value
// (eq when none was given).
func (v *Value) Prefix() string { return v.prefix }

// Token returns a token value: hasSystem is true when a "|" was given
// (system "" then means "no system"); code "" with a system means any code
// of the system.
func (v *Value) Token() (system, code string, hasSystem bool) { return v.system, v.code, v.hasSystem }

// Folded returns the folded text of a string value (and of token :text).
func (v *Value) Folded() string { return v.folded }

// Dates returns the half-open range [lo, hi) of a date value.
func (v *Value) Dates() (lo, hi time.Time) { return v.lo, v.hi }

// ApproxDates returns the range a date ap value accepts overlap with.
func (v *Value) ApproxDates() (lo, hi time.Time) {
	w := max(v.hi.Sub(v.lo)/10, 24*time.Hour)
	return v.lo.Add(-w), v.hi.Add(w)
}

// Number returns a number or quantity value and the half-open range
// [lo, hi) of its implicit precision.
func (v *Value) Number() (n, lo, hi *big.Rat) { return v.num, v.numLo, v.numHi }

// ApproxNumbers returns the closed range [lo, hi] an ap number accepts, or
// ok false when the value is 0 and ap means eq.
func (v *Value) ApproxNumbers() (lo, hi *big.Rat, ok bool) {
	tol := new(big.Rat).Mul(new(big.Rat).Abs(v.num), big.NewRat(1, 10))
	if tol.Sign() == 0 {
		return nil, nil, false
	}
	return new(big.Rat).Sub(v.num, tol), new(big.Rat).Add(v.num, tol), true
}

// Unit returns a quantity value's system and code; with system "" the code
// matches a quantity's code or unit, and code "" matches any unit.
func (v *Value) Unit() (system, code string) { return v.system, v.code }

// Ref returns a reference value's target: typ/id when it names a type and
// an id, id alone for a plain id (typ "": any target type the parameter
// allows); both "" for a canonical or other URL, compared as Raw.
func (v *Value) Ref() (typ, id string) { return v.refType, v.refID }

// Prefixes returns every prefix of s at a character boundary, s included
// and "" excluded: the stored uris that uri:above=s matches are exactly
// these.
func Prefixes(s string) []string {
	var out []string
	for i := range s {
		if i > 0 {
			out = append(out, s[:i])
		}
	}
	return append(out, s)
}

// SortParam returns the type of sort key k's parameter on typ ("" for _id
// and _lastUpdated, which stores keep in columns).
func SortParam(typ string, k SortKey) string {
	if k.Param == "_id" || k.Param == "_lastUpdated" {
		return ""
	}
	if p := searchRegistry().lookup(typ, k.Param); p != nil {
		return p.Type
	}
	return ""
}

// ParamType returns the type of search parameter code on typ, or "".
func ParamType(typ, code string) string {
	if p := searchRegistry().lookup(typ, code); p != nil && p.Unsupported == "" {
		return p.Type
	}
	return ""
}

// ParamTargets returns the types reference parameter code of typ may point
// to (empty: any).
func ParamTargets(typ, code string) []string {
	if p := searchRegistry().lookup(typ, code); p != nil {
		return slices.Clone(p.Targets)
	}
	return nil
}

// Refs is what a store found for the chained and _has terms of a query:
// for a chained term, the "Type/id" of every live resource its chain
// matches; for a _has term, the "Type/id" of every resource of the query's
// type that a matching resource refers to.
type Refs map[*Term]map[string]bool

// MatchValues is Match on a resource's extracted values (Extract), with the
// chained and _has terms decided by refs. A term whose parameter the
// resource yields nothing for sees no values, as in Match.
func (q *Query) MatchValues(vals *Values, refs Refs) bool {
	if vals.Type != q.Type {
		return false
	}
	for _, t := range q.terms {
		if !t.matchValues(vals, refs) {
			return false
		}
	}
	return true
}

func (t *Term) matchValues(vals *Values, refs Refs) bool {
	switch {
	case t.has != nil:
		return refs[t][vals.Type+"/"+vals.ID]
	case t.chain != nil:
		if pv := vals.Param(t.param.Code); pv != nil {
			for _, r := range pv.Refs {
				if typ, id, ok := splitTypeID(r); ok && refs[t][typ+"/"+id] {
					return true
				}
			}
		}
		return false
	case t.param.Code == "_id":
		return t.match(&ParamValues{Code: "_id", Type: "token", Tokens: []Token{{Code: vals.ID}}})
	}
	pv := vals.Param(t.param.Code)
	if pv == nil {
		pv = &ParamValues{Code: t.param.Code, Type: t.param.Type}
	}
	return t.match(pv)
}

// Lookups returns, for each term a resource can only match through one of
// a few index keys (a token or reference term without modifier other than
// :Type), the keys (in the form of ParamValues.Keys) of which a matching
// resource has at least one. A store that intersects the resources having
// them gets a superset of the matches, to be checked with MatchValues.
func (q *Query) Lookups() [][]Pin {
	var out [][]Pin
	for _, t := range q.terms {
		if t.needsStore() || len(t.values) == 0 || (t.modifier != "" && t.modifier != "type") || t.param.Code == "_id" {
			continue
		}
		var pins []Pin
		for _, v := range t.values {
			p, ok := t.pin(v)
			if !ok {
				pins = nil
				break
			}
			pins = append(pins, p)
		}
		if pins != nil {
			out = append(out, pins)
		}
	}
	return out
}

// Keys returns the index keys of a token or reference parameter's values,
// in the forms of Pins (see IndexKeys).
func (pv *ParamValues) Keys() []string {
	switch pv.Type {
	case "token":
		return tokenKeys(pv.Tokens)
	case "reference":
		return refKeys(pv.Refs)
	}
	return nil
}
