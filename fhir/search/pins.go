package search

import (
	"fmt"
	"strings"

	"github.com/gofhir/fhirpath/types"
)

// Pin is an equality a query requires of every resource it matches: the
// resource's index keys for search parameter Param (see IndexKeys) must
// include Value. An index of subscriptions by pin lets a write look up only
// the subscriptions that can match it.
type Pin struct{ Param, Value string }

// Pins returns the pins of q: one for each term that is a single value,
// without modifier, of a token or reference parameter. The canonical
// values are:
//
//	token      code=C      "C"
//	           code=S|C    "S|C"
//	           code=|C     "|C"       (the value has no system)
//	           code=S|     "S|"       (any code of system S)
//	reference  subject=Patient/1, subject:Patient=1, subject=http://h/fhir/Patient/1
//	                       "Patient/1"
//	           subject=1   "1"        (a plain id: any target type)
//	           other (canonical URLs)  the value as given
//
// A query without such a term has no pins and must be tried on every write
// of its type.
func (q *Query) Pins() []Pin {
	var out []Pin
	for _, t := range q.terms {
		if len(t.values) != 1 || (t.modifier != "" && t.modifier != "type") {
			continue
		}
		if p, ok := t.pin(t.values[0]); ok {
			out = append(out, p)
		}
	}
	return out
}

// pin returns the canonical key of one value of a token or reference term.
func (t *Term) pin(v *Value) (Pin, bool) {
	switch t.param.Type {
	case "token":
		if t.modifier != "" {
			return Pin{}, false
		}
		if !v.hasSystem {
			return Pin{t.param.Code, v.code}, true
		}
		return Pin{t.param.Code, v.system + "|" + v.code}, true
	case "reference":
		switch {
		case v.refID != "" && v.refType != "":
			return Pin{t.param.Code, v.refType + "/" + v.refID}, true
		case v.refID != "":
			return Pin{t.param.Code, v.refID}, true
		}
		return Pin{t.param.Code, v.raw}, true
	}
	return Pin{}, false
}

// IndexKeys returns the canonical keys resource (JSON of resourceType)
// produces for search parameter param, a token or reference parameter, in
// the forms Pins uses. The invariant, which the tests check on many
// queries and resources, is:
//
//	if q.Match(resource) and Pin{param, value} is in q.Pins(),
//	then value is in IndexKeys(q.Type, param, resource).
//
// For each token S|C (C with system S) the keys are "S|C", "C" and "S|";
// for a token C without system, "|C" and "C". For each reference ending in
// Type/id (relative or absolute, /_history ignored) the keys are
// "Type/id" and "id"; every reference also gives itself, and a versioned
// canonical "url|v" gives "url". Keys may repeat.
func IndexKeys(resourceType, param string, resource []byte) ([]string, error) {
	return NewTarget(resource).IndexKeys(resourceType, param)
}

// IndexKeys is the package function IndexKeys on a prepared resource, so
// that the keys of several parameters and the matching that follows share
// one parse and one evaluation per parameter.
func (t *Target) IndexKeys(resourceType, param string) ([]string, error) {
	p := searchRegistry().lookup(resourceType, param)
	if p == nil || p.Unsupported != "" {
		return nil, notSupported(param, "unknown search parameter %q for %s", param, resourceType)
	}
	if p.Type != "token" && p.Type != "reference" {
		return nil, notSupported(param, "%s parameters have no index keys", p.Type)
	}
	mr, err := t.resource()
	if err != nil {
		return nil, err
	}
	if mr.typ != resourceType {
		return nil, nil
	}
	col, err := mr.evaluate(p)
	if err != nil {
		return nil, err
	}
	return indexKeys(p, col), nil
}

func indexKeys(p *paramDef, col types.Collection) []string {
	if p.Type == "token" {
		return tokenKeys(tokens(col))
	}
	return refKeys(references(col))
}

func tokenKeys(toks []Token) []string {
	var keys []string
	for _, tk := range toks {
		if tk.System == "" {
			keys = append(keys, "|"+tk.Code, tk.Code)
		} else {
			keys = append(keys, tk.System+"|"+tk.Code, tk.Code, tk.System+"|")
		}
	}
	return keys
}

func refKeys(refs []string) []string {
	var keys []string
	for _, ref := range refs {
		keys = append(keys, ref)
		if typ, id, ok := splitTypeID(ref); ok {
			keys = append(keys, typ+"/"+id, id)
		}
		if base, _, ok := strings.Cut(ref, "|"); ok {
			keys = append(keys, base) // matchReference ignores the version
		}
	}
	return keys
}

// String returns the pin as param=value, for logs and test messages.
func (p Pin) String() string { return fmt.Sprintf("%s=%s", p.Param, p.Value) }
