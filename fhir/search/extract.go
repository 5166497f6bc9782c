package search

import (
	"errors"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/gofhir/fhirpath/types"
)

// ParamValues are the search values one parameter yields from one resource:
// what the stores index and what the matcher compares, so that a search
// answered from an index and a write matched against a subscription agree.
// Only the fields of the parameter's type are set.
type ParamValues struct {
	Code string // the parameter
	Type string // its type: token, string, uri, reference, date, number, quantity

	Tokens []Token  // token: system|code pairs
	Texts  []string // token: the texts :text searches (display, CodeableConcept.text), as written
	// string: every part of the value (a HumanName's family, given, …), as
	// written; searches compare them folded (see Fold).
	Strings    []string
	URIs       []string // uri
	Refs       []string // reference: Reference.reference, or a canonical/uri, as written
	Dates      []DateRange
	Numbers    []*big.Rat
	Quantities []Quantity
}

// Token is one system|code a resource holds for a token parameter; System
// is "" for a code without system.
type Token struct{ System, Code string }

// DateRange is the half-open range [Lo, Hi) a date value covers at its
// precision ("2024-03" is the month). An open bound (a Period without start
// or end) has OpenLo or OpenHi set and a zero time.
type DateRange struct {
	Lo, Hi         time.Time
	OpenLo, OpenHi bool
}

// Quantity is a Quantity value: its number, system, code and unit.
type Quantity struct {
	Value              *big.Rat
	System, Code, Unit string
}

// Empty reports whether the parameter yields no value: :missing=true
// matches exactly such resources. A value the parameter's type cannot read
// (a Reference with only a display, a date that does not parse) counts as
// no value.
func (pv *ParamValues) Empty() bool {
	return len(pv.Tokens) == 0 && len(pv.Texts) == 0 && len(pv.Strings) == 0 && len(pv.URIs) == 0 &&
		len(pv.Refs) == 0 && len(pv.Dates) == 0 && len(pv.Numbers) == 0 && len(pv.Quantities) == 0
}

// extractValues reads the values of the parameter's type from what its
// expression selected.
func extractValues(p *paramDef, col types.Collection) *ParamValues {
	pv := &ParamValues{Code: p.Code, Type: p.Type}
	if len(col) == 0 {
		return pv
	}
	switch p.Type {
	case "token":
		pv.Tokens = tokens(col)
		pv.Texts = tokenTexts(col)
	case "string":
		pv.Strings = stringParts(col)
	case "uri":
		pv.URIs = primitives(col)
	case "reference":
		pv.Refs = references(col)
	case "date":
		pv.Dates = dateRanges(col)
	case "number":
		pv.Numbers = numbers(col)
	case "quantity":
		pv.Quantities = quantities(col)
	}
	return pv
}

// MaxTextBytes bounds every text a resource yields for search (codes,
// systems, strings, references, uris): longer ones are cut at a character
// boundary. Index rows stay well inside what a database index entry can
// hold, and the matcher sees the same cut text, so the two never disagree.
const MaxTextBytes = 1000

func capText(s string) string {
	if len(s) <= MaxTextBytes {
		return s
	}
	i := MaxTextBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// maxExponent bounds the magnitude of numbers a resource yields for search
// (|exponent| of the decimal form): a database numeric holds them exactly,
// and absurd ones ("1e999999") are not values anyone searches.
const maxExponent = 300

// saneNumber reports whether n is within the bounds the index holds.
func saneNumber(n *big.Rat) bool {
	if n.Sign() == 0 {
		return true
	}
	num, den := new(big.Int).Abs(n.Num()), n.Denom()
	return num.BitLen() <= maxExponent*10/3 && den.BitLen() <= maxExponent*10/3
}

// ErrNeedsStore is returned by Match for a query with chained parameters or
// _has: they refer to other resources, which only a store can look up.
var ErrNeedsStore = errors.New("chained parameters and _has need a store to evaluate")

// Values are the search values of one resource for every search parameter
// of its type that yields something, sorted by parameter code. _id is left
// out: stores keep the id in a column of their own.
type Values struct {
	Type, ID string
	Params   []*ParamValues
}

// Param returns the values of parameter code, or nil when it yields none.
func (v *Values) Param(code string) *ParamValues {
	i, ok := slices.BinarySearchFunc(v.Params, code, func(p *ParamValues, c string) int { return strings.Compare(p.Code, c) })
	if !ok {
		return nil
	}
	return v.Params[i]
}

// Extract returns the search values of the resource for every supported
// parameter of its type. It evaluates each expression once; the Target
// keeps the results, so matching it against queries afterwards evaluates
// nothing again. An expression that fails on the resource is skipped (the
// parameter yields nothing) rather than failing the write: the matcher
// reports the same error for queries that use it.
func (t *Target) Extract() (*Values, error) {
	mr, err := t.resource()
	if err != nil {
		return nil, err
	}
	if !fhir.IsResourceType(mr.typ) {
		return nil, errNotResource
	}
	params := searchRegistry().sorted[mr.typ]
	out := &Values{Type: mr.typ, ID: rawString(t.raw, "id"), Params: make([]*ParamValues, 0, 16)}
	for _, p := range params {
		if p.Code == "_id" {
			continue
		}
		pv, err := mr.values(p)
		if err != nil || pv.Empty() {
			continue
		}
		out.Params = append(out.Params, pv)
	}
	return out, nil
}

var errNotResource = errors.New("resource has no known resourceType")

// SortIndex returns which of the parameter's values a resource sorts by:
// asc is the index of its smallest value (ascending sorts), desc of its
// largest (descending sorts), in the slice of the parameter's type (Dates,
// Numbers, Quantities, Tokens, Strings, URIs, Refs); -1 when it has none.
// Dates compare by Lo ascending and by Hi descending (an open bound is the
// extreme); strings by their folded form; tokens by code, then system;
// references and uris as written.
func (pv *ParamValues) SortIndex() (asc, desc int) {
	n := 0
	var cmp func(i, j int) int
	switch pv.Type {
	case "date":
		asc, desc = -1, -1
		for i, d := range pv.Dates {
			if asc < 0 || loLess(d, pv.Dates[asc]) {
				asc = i
			}
			if desc < 0 || hiLess(pv.Dates[desc], d) {
				desc = i
			}
		}
		return asc, desc
	case "number":
		n = len(pv.Numbers)
		cmp = func(i, j int) int { return pv.Numbers[i].Cmp(pv.Numbers[j]) }
	case "quantity":
		n = len(pv.Quantities)
		cmp = func(i, j int) int { return pv.Quantities[i].Value.Cmp(pv.Quantities[j].Value) }
	case "token":
		n = len(pv.Tokens)
		cmp = func(i, j int) int {
			a, b := pv.Tokens[i], pv.Tokens[j]
			if c := strings.Compare(a.Code, b.Code); c != 0 {
				return c
			}
			return strings.Compare(a.System, b.System)
		}
	case "string":
		n = len(pv.Strings)
		cmp = func(i, j int) int { return strings.Compare(Fold(pv.Strings[i]), Fold(pv.Strings[j])) }
	case "uri":
		n = len(pv.URIs)
		cmp = func(i, j int) int { return strings.Compare(pv.URIs[i], pv.URIs[j]) }
	case "reference":
		n = len(pv.Refs)
		cmp = func(i, j int) int { return strings.Compare(pv.Refs[i], pv.Refs[j]) }
	}
	asc, desc = -1, -1
	for i := range n {
		if asc < 0 || cmp(i, asc) < 0 {
			asc = i
		}
		if desc < 0 || cmp(i, desc) > 0 {
			desc = i
		}
	}
	return asc, desc
}

func loLess(a, b DateRange) bool {
	if a.OpenLo || b.OpenLo {
		return a.OpenLo && !b.OpenLo
	}
	return a.Lo.Before(b.Lo)
}

func hiLess(a, b DateRange) bool {
	if a.OpenHi || b.OpenHi {
		return b.OpenHi && !a.OpenHi
	}
	return a.Hi.Before(b.Hi)
}

// Fold returns s as string search compares it: lower-cased, Latin accents
// removed (see foldText).
func Fold(s string) string { return foldText(s) }

// SplitReference returns the Type/id a reference names (relative or
// absolute, a /_history/n or |version suffix ignored); ok is false when it
// names none (a canonical URL, a contained "#x", a urn:uuid:).
func SplitReference(ref string) (typ, id string, ok bool) { return splitTypeID(ref) }

// Canonical returns the unversioned form of a versioned canonical
// ("url|1.0" gives "url", true); ok is false when ref has no version. A
// reference search for "url" matches "url|1.0".
func Canonical(ref string) (string, bool) {
	base, _, ok := strings.Cut(ref, "|")
	return base, ok
}
