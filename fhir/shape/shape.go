package shape

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
)

// Summary modes, the values of _summary.
const (
	SummaryTrue  = "true"  // the elements marked isSummary (and the mandatory ones)
	SummaryText  = "text"  // text, id, meta and the mandatory top-level elements
	SummaryData  = "data"  // everything but text
	SummaryCount = "count" // a search's total only: no resources (the search owns it)
	SummaryFalse = "false" // everything
)

// The SUBSETTED tag marks a resource that is not whole, so that a client
// does not take it for the stored version and write it back.
const (
	SubsettedSystem  = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
	SubsettedCode    = "SUBSETTED"
	subsettedDisplay = "Resource encoded in summary mode"
)

// Shape is how a request wants each resource it gets: the zero value is
// the whole resource.
type Shape struct {
	// Summary is one of the Summary* modes, or "" (none asked).
	Summary string
	// Elements are the top-level element names of _elements; nil when
	// _elements is absent.
	Elements []string
}

// IsZero reports whether s leaves resources whole.
func (s Shape) IsZero() bool {
	return (s.Summary == "" || s.Summary == SummaryFalse || s.Summary == SummaryCount) && s.Elements == nil
}

// FromQuery reads _summary and _elements from query parameters. A value
// that is not a mode, an element name that is not a name, repeated
// parameters and _summary (true, text, data) together with _elements are
// *fhir.ValidationErrors naming the parameter.
func FromQuery(params url.Values) (Shape, error) {
	var s Shape
	switch vs := params["_summary"]; {
	case len(vs) > 1:
		return Shape{}, fhir.Invalid("_summary", "give _summary once")
	case len(vs) == 1:
		switch v := vs[0]; v {
		case SummaryTrue, SummaryText, SummaryData, SummaryCount, SummaryFalse:
			s.Summary = v
		case "":
		default:
			return Shape{}, fhir.Invalid("_summary", fmt.Sprintf("_summary takes true, text, data, count or false, not %q", v))
		}
	}
	if vs, ok := params["_elements"]; ok {
		s.Elements = []string{}
		for _, v := range vs {
			for name := range strings.SplitSeq(v, ",") {
				name = strings.TrimSpace(name)
				if name == "" {
					continue
				}
				// R5 and some clients write Type.element; the type is
				// the one searched or read, so only the element counts.
				if typ, el, ok := strings.Cut(name, "."); ok && fhir.IsResourceType(typ) {
					name = el
				}
				if !validName(name) {
					return Shape{}, fhir.Invalid("_elements", fmt.Sprintf("%q is not an element name", name))
				}
				if !slices.Contains(s.Elements, name) {
					s.Elements = append(s.Elements, name)
				}
			}
		}
	}
	switch s.Summary {
	case SummaryTrue, SummaryText, SummaryData:
		if s.Elements != nil {
			return Shape{}, fhir.Invalid("_elements", fmt.Sprintf("_elements cannot be combined with _summary=%s; send one of them", s.Summary))
		}
	}
	return s, nil
}

// validName reports whether name is an element name: a letter, then
// letters and digits (R4 element names; "[x]" stems are names too).
func validName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// always are the members no shaping removes.
var always = []string{"resourceType", "id", "meta"}

// Apply returns the stored resource body b shaped by s, in the wire layout
// (fhir.WireResource). A resource from which shaping may have removed
// something is tagged SUBSETTED in meta.tag. A resource type with no R4
// definition (SubscriptionTopic) is kept whole by _summary=true, its
// elements being unknown. b must be a stored body; anything that is not a
// JSON object is returned as it is.
func (s Shape) Apply(b []byte) []byte {
	if s.IsZero() {
		return fhir.WireResource(b)
	}
	o, err := fhir.ParseStoredObject(b)
	if err != nil {
		return b
	}
	typ, _ := o.String("resourceType")
	t := tables()[typ]
	switch {
	case s.Elements != nil:
		keepElements(o, t, s.Elements)
	case s.Summary == SummaryData:
		o.Delete("text")
		o.Delete("_text")
	case s.Summary == SummaryText:
		keepText(o, t)
	case s.Summary == SummaryTrue:
		if t == nil {
			return fhir.WireResource(b)
		}
		keepSummary(o, t, "")
	}
	tagSubsetted(o)
	return fhir.WireResource(o.Bytes())
}

// keepElements keeps the named top-level elements and the mandatory ones.
func keepElements(o *fhir.Object, t *typeTable, names []string) {
	for _, k := range slices.Clone(o.Keys()) {
		if slices.Contains(always, k) {
			continue
		}
		name := strings.TrimPrefix(k, "_")
		keep := slices.Contains(names, name)
		if !keep && t != nil {
			if el, ok := t.lookup("", k); ok && el.required {
				keep = true
			}
			for _, n := range names {
				keep = keep || t.isChoiceOf(k, n)
			}
		}
		if !keep {
			o.Delete(k)
		}
	}
}

// keepText keeps text and the mandatory top-level elements.
func keepText(o *fhir.Object, t *typeTable) {
	for _, k := range slices.Clone(o.Keys()) {
		if slices.Contains(always, k) || k == "text" {
			continue
		}
		if t != nil {
			if el, ok := t.lookup("", k); ok && el.required {
				continue
			}
		}
		o.Delete(k)
	}
}

// keepSummary keeps the summary and mandatory members of o, an element at
// path parent of t, walking into backbone elements.
func keepSummary(o *fhir.Object, t *typeTable, parent string) {
	for _, k := range slices.Clone(o.Keys()) {
		if parent == "" && slices.Contains(always, k) {
			continue
		}
		el, ok := t.lookup(parent, k)
		if !ok || !el.summary && !el.required {
			o.Delete(k)
			continue
		}
		if el.children == "" || strings.HasPrefix(k, "_") {
			continue
		}
		v, _ := o.Get(k)
		o.SetRaw(k, summarizeValue(v, t, el.children))
	}
}

// summarizeValue applies keepSummary to a backbone value: an object or an
// array of objects.
func summarizeValue(v json.RawMessage, t *typeTable, path string) json.RawMessage {
	one := func(item json.RawMessage) json.RawMessage {
		obj, err := fhir.ParseStoredObject(item)
		if err != nil {
			return item
		}
		keepSummary(obj, t, path)
		return obj.Bytes()
	}
	if len(v) == 0 || v[0] != '[' {
		return one(v)
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return v
	}
	for i := range items {
		items[i] = one(items[i])
	}
	out, err := fhir.Marshal(items)
	if err != nil {
		return v
	}
	return out
}

// tagSubsetted adds the SUBSETTED tag to meta.tag unless it is there.
func tagSubsetted(o *fhir.Object) {
	meta := &fhir.Object{}
	if raw, ok := o.Get("meta"); ok {
		if m, err := fhir.ParseStoredObject(raw); err == nil {
			meta = m
		}
	}
	var tags []json.RawMessage
	if raw, ok := meta.Get("tag"); ok {
		if json.Unmarshal(raw, &tags) != nil {
			tags = nil
		}
	}
	for _, raw := range tags {
		var c struct{ System, Code string }
		if json.Unmarshal(raw, &c) == nil && c.System == SubsettedSystem && c.Code == SubsettedCode {
			return
		}
	}
	tag := mustMarshal(struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	}{SubsettedSystem, SubsettedCode, subsettedDisplay})
	meta.SetRaw("tag", mustMarshal(append(tags, tag)))
	o.SetRaw("meta", meta.Bytes())
}

func mustMarshal(v any) json.RawMessage {
	b, err := fhir.Marshal(v)
	if err != nil {
		panic("shape: " + err.Error()) // raw JSON values and strings only
	}
	return b
}
