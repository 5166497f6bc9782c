package shape

import (
	_ "embed"
	"encoding/json"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:generate go run ./internal/gensummary -in ../../testdata/fhir-r4/profiles-resources.json.gz -out elements.json

// elementsJSON is the R4 element table: per resource type, the elements
// that are summary, mandatory or backbone (internal/gensummary).
//
//go:embed elements.json
var elementsJSON []byte

// tableElement is one row of elements.json. Keep in sync with
// internal/gensummary.element.
type tableElement struct {
	Path     string `json:"p"`
	Summary  bool   `json:"s"`
	Required bool   `json:"m"`
	Backbone bool   `json:"b"`
	Ref      string `json:"r"`
}

// element is what shaping needs to know of one element definition.
type element struct {
	summary  bool   // isSummary in the base definition
	required bool   // min ≥ 1
	children string // the path whose children its members are; "" when it has none to walk
}

// typeTable is one resource type's elements by path relative to the type
// ("name", "contact.name", "value[x]"), and the choice elements by the
// path of their stem ("value" for "value[x]").
type typeTable struct {
	byPath  map[string]element
	choices map[string]element
}

var tables = sync.OnceValue(func() map[string]*typeTable {
	var raw map[string][]tableElement
	if err := json.Unmarshal(elementsJSON, &raw); err != nil {
		panic("shape: embedded elements.json: " + err.Error()) // a build defect, caught by every test
	}
	out := make(map[string]*typeTable, len(raw))
	for typ, rows := range raw {
		t := &typeTable{byPath: map[string]element{}, choices: map[string]element{}}
		for _, r := range rows {
			el := element{summary: r.Summary, required: r.Required}
			switch {
			case r.Ref != "":
				el.children = r.Ref // a contentReference reuses the children of Ref
			case r.Backbone:
				el.children = r.Path
			}
			if stem, ok := strings.CutSuffix(r.Path, "[x]"); ok {
				t.choices[stem] = el
			} else {
				t.byPath[r.Path] = el
			}
		}
		out[typ] = t
	}
	return out
})

// lookup finds member name of the element at parent ("" for the resource
// itself) of type t. A primitive's companion "_name" is looked up as
// name; "valueQuantity" finds "value[x]".
func (t *typeTable) lookup(parent, name string) (element, bool) {
	name = strings.TrimPrefix(name, "_")
	path := name
	if parent != "" {
		path = parent + "." + name
	}
	if el, ok := t.byPath[path]; ok {
		return el, true
	}
	// A choice member is the stem followed by a type name, which starts
	// with a letter: valueQuantity, valueString, deceasedBoolean.
	for i := 1; i < len(name); i++ {
		r, _ := utf8.DecodeRuneInString(name[i:])
		if !unicode.IsUpper(r) {
			continue
		}
		stem := name[:i]
		if parent != "" {
			stem = parent + "." + stem
		}
		if el, ok := t.choices[stem]; ok {
			return el, true
		}
	}
	return element{}, false
}

// isChoiceOf reports whether member is a choice element of stem at the top
// of t ("valueQuantity" of "value"), for _elements=value.
func (t *typeTable) isChoiceOf(member, stem string) bool {
	if _, ok := t.choices[stem]; !ok {
		return false
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(member, "_"), stem)
	if !ok || rest == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return unicode.IsUpper(r)
}
