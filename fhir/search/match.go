package search

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/fhirbell/fhirbell/fhir"
	"math/big"
	"strings"
	"time"

	"github.com/buger/jsonparser"
	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/types"
)

// Match reports whether the resource (JSON of q.Type) satisfies every filter
// term of q. A resource of another type does not match. It is a pure
// function of q and resource: references are never resolved against a
// store (see stubResolver), and no clock is read.
//
// The resource is parsed once per call and every term's compiled FHIRPath
// expression is evaluated against that parse. An error means the resource
// is not a JSON object or an expression failed on it.
func (q *Query) Match(resource []byte) (bool, error) {
	return q.MatchTarget(NewTarget(resource))
}

// Target is a resource prepared for matching against many queries, as a
// write is matched against every candidate subscription: it is parsed once,
// on first use, and each search parameter's expression is evaluated at most
// once, whatever the number of queries that use it. A Target belongs to one
// goroutine.
type Target struct {
	raw    []byte
	mr     *matchResource
	err    error
	parsed bool
}

// NewTarget prepares resource for matching; nothing is parsed yet.
func NewTarget(resource []byte) *Target { return &Target{raw: resource} }

// Bytes returns the resource JSON.
func (t *Target) Bytes() []byte { return t.raw }

func (t *Target) resource() (*matchResource, error) {
	if !t.parsed {
		t.mr, t.err = newMatchResource(t.raw)
		t.parsed = true
	}
	return t.mr, t.err
}

// MatchTarget is Match on a prepared resource.
func (q *Query) MatchTarget(t *Target) (bool, error) {
	mr, err := t.resource()
	if err != nil {
		return false, err
	}
	return q.match(mr)
}

// matchResource is a resource parsed for evaluation. The library's parsed
// objects cache their fields without locking, so a matchResource belongs to
// one goroutine.
type matchResource struct {
	typ  string
	keys []string // the top-level member names
	// evalAll has the engine evaluate every expression, without skipping
	// paths the resource cannot have (hasAnyRoot) or walking member chains
	// (walk): keys is unknown, or a test proves both change nothing.
	evalAll bool
	ctx     *eval.Context
	// rootMembers caches walk's reads of the resource's members.
	rootMembers map[string]types.Collection
	cols        map[*paramDef]types.Collection // each parameter's values, evaluated once
	vals        map[*paramDef]*ParamValues     // and their search values, extracted once
}

var errNotObject = errors.New("resource is not a JSON object")

func newMatchResource(resource []byte) (*matchResource, error) {
	// NewContext parses only the top-level object; members are parsed
	// lazily as expressions reach them, and cached.
	ctx := eval.NewContext(resource)
	root := ctx.Root()
	if len(root) != 1 {
		return nil, errNotObject
	}
	obj, ok := root[0].(*types.ObjectValue)
	if !ok {
		return nil, errNotObject
	}
	// The member names, for hasAnyRoot. Stored resources are valid JSON
	// (parsed when written); on JSON the scan cannot read to the end,
	// every expression is evaluated by the engine instead.
	var keys []string
	err := jsonparser.ObjectEach(resource, func(k, _ []byte, _ jsonparser.ValueType, _ int) error {
		keys = append(keys, string(k))
		return nil
	})
	// hasAnyRoot and walk read member names as written and assume that no
	// nested object names a type of its own, as the engine would then
	// resolve choice elements in it differently. Left to the engine: a
	// name with an escape (\u0000 can even match the impossible variant
	// choiceModel hands the engine), and a resource that mentions
	// resourceType twice (a contained resource, or a body no schema
	// checked, such as a SubscriptionTopic's).
	evalAll := err != nil || bytes.Contains(resource, []byte(`\u`)) || bytes.Count(resource, []byte(`"resourceType"`)) > 1
	mr := &matchResource{ctx: ctx, keys: keys, evalAll: evalAll}
	if v, ok := obj.Get("resourceType"); ok {
		if s, ok := v.(types.String); ok {
			mr.typ = s.Value()
		}
	}
	ctx.SetResolver(stubResolver{})
	ctx.SetModel(choiceModel{})
	return mr, nil
}

// choiceModel is the engine's Model reduced to what speeds it up: knowing
// which elements are choice elements. Without a Model the engine looks up
// a missing element "x" by trying some 50 typed variants (xBoolean,
// xQuantity, …), each a scan of the JSON, so every absent element cost
// ~30µs. ChoiceTypes answers precisely for the choice elements of resource
// types (search_choices_gen.go, generated from the R4 JSON schema) and
// with an impossible variant for every other element of a resource, so a
// missing element costs one scan. Elements of data types and backbone
// elements, whose type the engine only guesses from their members, keep
// the brute-force lookup when their name is a choice name anywhere in R4.
// The other methods reproduce the engine's own heuristics, so types and
// "is"/"as" behave as without a Model.
type choiceModel struct{}

// noChoice is a type suffix no element has: "x" + "\x00".
var noChoice = []string{"\x00"}

func (choiceModel) ChoiceTypes(path string) []string {
	if c, ok := resourceChoices[path]; ok {
		return c
	}
	typ, name, ok := strings.Cut(path, ".")
	if !ok || strings.Contains(name, ".") {
		return nil
	}
	if fhir.IsResourceType(typ) || !choiceNames[name] {
		return noChoice
	}
	return nil
}

func (choiceModel) TypeOf(string) string             { return "" }
func (choiceModel) ReferenceTargets(string) []string { return nil }
func (choiceModel) ParentType(string) string         { return "" }
func (choiceModel) ResolvePath(path string) string   { return path }
func (choiceModel) IsSubtype(child, parent string) bool {
	return eval.TypeMatches(child, parent)
}

func (choiceModel) IsResource(typeName string) bool {
	return fhir.IsResourceType(typeName) || typeName == "Resource" || typeName == "DomainResource"
}

// evaluate returns the values the parameter's expression selects,
// evaluating it only the first time.
func (mr *matchResource) evaluate(p *paramDef) (types.Collection, error) {
	if col, ok := mr.cols[p]; ok {
		return col, nil
	}
	col, err := mr.evaluateOnce(p)
	if err != nil {
		return nil, err
	}
	if mr.cols == nil {
		mr.cols = map[*paramDef]types.Collection{}
	}
	mr.cols[p] = col
	return col, nil
}

func (mr *matchResource) evaluateOnce(p *paramDef) (col types.Collection, err error) {
	if p.pathOnly && !mr.evalAll && !mr.hasAnyRoot(p.roots) {
		return nil, nil
	}
	if p.chains != nil && !mr.evalAll {
		if col, ok := mr.walk(p.chains); ok {
			return col, nil
		}
	}
	x, err := p.compile()
	if err != nil {
		return nil, err
	}
	// The engine is not hardened against every input; a panic on a strange
	// resource must not take the writer down with it.
	defer func() {
		if r := recover(); r != nil {
			col, err = nil, fmt.Errorf("evaluate %s: panic: %v", p.Code, r)
		}
	}()
	col, err = x.EvaluateWithContext(mr.ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", p.Code, err)
	}
	return col, nil
}

// stubResolver answers resolve() without a store: a reference to Type/id
// resolves to {"resourceType":"Type","id":"id"}. That is all the R4
// expressions need, since they use resolve() only for a type test such as
// Observation.subject.where(resolve() is Patient). References that name no
// type (contained "#x", urn:uuid:) resolve to nothing.
type stubResolver struct{}

func (stubResolver) Resolve(_ context.Context, ref string) ([]byte, error) {
	typ, id, ok := splitTypeID(ref)
	if !ok {
		return nil, errors.New("reference names no resource type")
	}
	return []byte(`{"resourceType":"` + typ + `","id":"` + id + `"}`), nil
}

func (q *Query) match(mr *matchResource) (bool, error) {
	if mr.typ != q.Type {
		return false, nil
	}
	for _, t := range q.terms {
		if t.needsStore() {
			return false, ErrNeedsStore
		}
		pv, err := mr.values(t.param)
		if err != nil {
			return false, err
		}
		if !t.match(pv) {
			return false, nil
		}
	}
	return true, nil
}

// values returns the parameter's search values, extracting them the first
// time: a resource matched against many queries extracts each parameter
// once.
func (mr *matchResource) values(p *paramDef) (*ParamValues, error) {
	if pv, ok := mr.vals[p]; ok {
		return pv, nil
	}
	col, err := mr.evaluate(p)
	if err != nil {
		return nil, err
	}
	pv := extractValues(p, col)
	if mr.vals == nil {
		mr.vals = map[*paramDef]*ParamValues{}
	}
	mr.vals[p] = pv
	return pv, nil
}

// match reports whether the values an expression selected satisfy the term.
func (t *Term) match(pv *ParamValues) bool {
	switch t.modifier {
	case "missing":
		return pv.Empty() == t.missing
	case "not":
		// :not matches resources with no value equal to any of the
		// given ones, including resources without a value at all.
		return !t.anyValue(pv)
	}
	return t.anyValue(pv)
}

func (t *Term) anyValue(pv *ParamValues) bool {
	switch t.param.Type {
	case "token":
		if t.modifier == "text" {
			return t.anyString(pv.Texts)
		}
		toks := pv.Tokens
		for _, v := range t.values {
			for _, tk := range toks {
				if v.matchToken(tk) {
					return true
				}
			}
		}
	case "string":
		return t.anyString(pv.Strings)
	case "uri":
		for _, s := range pv.URIs {
			for _, v := range t.values {
				switch {
				case t.modifier == "below" && strings.HasPrefix(s, v.raw),
					t.modifier == "above" && strings.HasPrefix(v.raw, s) && s != "",
					s == v.raw:
					return true
				}
			}
		}
	case "reference":
		for _, r := range pv.Refs {
			for _, v := range t.values {
				if t.matchReference(v, r) {
					return true
				}
			}
		}
	case "date":
		for _, r := range pv.Dates {
			for _, v := range t.values {
				if v.matchDate(r) {
					return true
				}
			}
		}
	case "number":
		for _, n := range pv.Numbers {
			for _, v := range t.values {
				if v.matchNumber(n) {
					return true
				}
			}
		}
	case "quantity":
		for _, qv := range pv.Quantities {
			for _, v := range t.values {
				if v.matchQuantity(qv) {
					return true
				}
			}
		}
	}
	return false
}

// anyString applies the string rules: case- and accent-insensitive
// "starts with" by default, :contains anywhere, :exact exact equality.
func (t *Term) anyString(texts []string) bool {
	for _, s := range texts {
		var folded string
		if t.modifier != "exact" {
			folded = foldText(s)
		}
		for _, v := range t.values {
			switch t.modifier {
			case "exact":
				if s == v.raw {
					return true
				}
			case "contains":
				if strings.Contains(folded, v.folded) {
					return true
				}
			default:
				if strings.HasPrefix(folded, v.folded) {
					return true
				}
			}
		}
	}
	return false
}

// primitive returns the text of a primitive value. The engine turns
// strings that look like dates into Date/DateTime values; their String
// form is the original text (up to millisecond precision).
func primitive(v types.Value) (string, bool) {
	switch x := v.(type) {
	case types.String:
		return capText(x.Value()), true
	case *types.ObjectValue:
		return "", false
	case nil:
		return "", false
	default:
		return capText(x.String()), true
	}
}

func primitives(col types.Collection) []string {
	out := make([]string, 0, len(col))
	for _, v := range col {
		if s, ok := primitive(v); ok {
			out = append(out, s)
		}
	}
	return out
}

// field returns the string member name of obj, or "". It reads the raw
// JSON with jsonparser (the engine's own parser) instead of obj.Get, which
// would convert the member to a FHIRPath value (unescaping through
// encoding/json and guessing dates) only for us to turn it back to text.
func field(obj *types.ObjectValue, name string) string {
	return rawString(obj.Data(), name)
}

func rawString(data []byte, keys ...string) string {
	s, err := jsonparser.GetString(data, keys...)
	if err != nil {
		return ""
	}
	return capText(s)
}

// eachObject calls fn with the raw JSON of each object in array member name.
func eachObject(data []byte, name string, fn func([]byte)) {
	_, _ = jsonparser.ArrayEach(data, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
		if t == jsonparser.Object {
			fn(v)
		}
	}, name)
}

// eachString calls fn with member name if it is a string, or with each
// string of it if it is an array.
func eachString(data []byte, name string, fn func(string)) {
	v, t, _, err := jsonparser.Get(data, name)
	if err != nil {
		return
	}
	switch t {
	case jsonparser.String:
		if s, err := jsonparser.ParseString(v); err == nil {
			fn(capText(s))
		}
	case jsonparser.Array:
		_, _ = jsonparser.ArrayEach(v, func(v []byte, t jsonparser.ValueType, _ int, _ error) {
			if t == jsonparser.String {
				if s, err := jsonparser.ParseString(v); err == nil {
					fn(capText(s))
				}
			}
		})
	}
}

// tokens extracts the system|code pairs of Coding, CodeableConcept
// (its codings), Identifier and ContactPoint (system|value), and of
// primitive code, string, id, uri and boolean values (no system).
func tokens(col types.Collection) []Token {
	var out []Token
	for _, v := range col {
		obj, ok := v.(*types.ObjectValue)
		if !ok {
			if s, ok := primitive(v); ok {
				out = append(out, Token{Code: s})
			}
			continue
		}
		data := obj.Data()
		if _, t, _, err := jsonparser.Get(data, "coding"); err == nil && t == jsonparser.Array {
			eachObject(data, "coding", func(c []byte) {
				out = append(out, Token{rawString(c, "system"), rawString(c, "code")})
			})
			continue
		}
		if code := rawString(data, "code"); code != "" {
			out = append(out, Token{rawString(data, "system"), code})
			continue
		}
		if val := rawString(data, "value"); val != "" {
			out = append(out, Token{rawString(data, "system"), val})
			continue
		}
		if sys := rawString(data, "system"); sys != "" {
			out = append(out, Token{System: sys})
		}
	}
	return out
}

// matchToken applies code, system|code, |code and system| to one token.
// Codes and systems compare case-sensitively.
func (v *Value) matchToken(tk Token) bool {
	if !v.hasSystem {
		return tk.Code == v.code
	}
	if v.system != tk.System {
		return false
	}
	return v.code == "" || v.code == tk.Code
}

// tokenTexts returns the texts :text searches: CodeableConcept.text,
// Coding.display, Identifier.type.text, and primitive values.
func tokenTexts(col types.Collection) []string {
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	for _, v := range col {
		obj, ok := v.(*types.ObjectValue)
		if !ok {
			if s, ok := primitive(v); ok {
				out = append(out, s)
			}
			continue
		}
		data := obj.Data()
		add(rawString(data, "text"))
		add(rawString(data, "display"))
		add(rawString(data, "type", "text"))
		eachObject(data, "coding", func(c []byte) { add(rawString(c, "display")) })
	}
	return out
}

// stringFields are the members whose text a string search looks at when
// the expression selects a complex value: the parts of HumanName and
// Address, and the text of other types.
var stringFields = []string{
	"family", "given", "prefix", "suffix", "text",
	"line", "city", "district", "state", "postalCode", "country",
	"value", "display",
}

func stringParts(col types.Collection) []string {
	var out []string
	for _, v := range col {
		obj, ok := v.(*types.ObjectValue)
		if !ok {
			if s, ok := primitive(v); ok {
				out = append(out, s)
			}
			continue
		}
		for _, f := range stringFields {
			eachString(obj.Data(), f, func(s string) { out = append(out, s) })
		}
	}
	return out
}

// references returns Reference.reference of Reference values and the text
// of canonical or uri values.
func references(col types.Collection) []string {
	var out []string
	for _, v := range col {
		if obj, ok := v.(*types.ObjectValue); ok {
			if s := field(obj, "reference"); s != "" {
				out = append(out, s)
			}
			continue
		}
		if s, ok := primitive(v); ok {
			out = append(out, s)
		}
	}
	return out
}

// matchReference compares a search value with one reference. Type/id
// matches a relative or absolute reference ending in Type/id (the matcher
// does not know the server's base URL, so an absolute reference to
// another server with the same Type/id matches too); a plain id matches
// any reference ending in {type}/id where type is the :Type modifier or
// one of the parameter's targets; anything else (a canonical URL) must be
// equal, ignoring a "|version" on the reference.
func (t *Term) matchReference(v *Value, ref string) bool {
	if v.refID != "" {
		typ, id, ok := splitTypeID(ref)
		if !ok || id != v.refID {
			return false
		}
		if v.refType != "" {
			return typ == v.refType
		}
		return len(t.param.Targets) == 0 || containsString(t.param.Targets, typ)
	}
	if ref == v.raw {
		return true
	}
	base, _, hasVersion := strings.Cut(ref, "|")
	return hasVersion && base == v.raw
}

// dateRanges returns the ranges of date, dateTime and instant values, of
// Periods (start, end; a missing bound is open) and of Timing.event.
func dateRanges(col types.Collection) []DateRange {
	var out []DateRange
	for _, v := range col {
		obj, ok := v.(*types.ObjectValue)
		if !ok {
			if s, ok := primitive(v); ok {
				if lo, hi, ok := parseDateRange(s); ok {
					out = append(out, DateRange{Lo: lo, Hi: hi})
				}
			}
			continue
		}
		start, end := field(obj, "start"), field(obj, "end")
		if start != "" || end != "" {
			r := DateRange{OpenLo: start == "", OpenHi: end == ""}
			var ok1, ok2 = true, true
			if start != "" {
				r.Lo, _, ok1 = parseDateRange(start)
			}
			if end != "" {
				_, r.Hi, ok2 = parseDateRange(end)
			}
			if ok1 && ok2 {
				out = append(out, r)
			}
			continue
		}
		eachString(obj.Data(), "event", func(s string) {
			if lo, hi, ok := parseDateRange(s); ok {
				out = append(out, DateRange{Lo: lo, Hi: hi})
			}
		})
	}
	return out
}

// matchDate applies a prefix to the search range [ps, pe) and the target
// range [ts, te), per the R4 search spec:
//
//	eq  the target lies within the search range
//	ne  it does not
//	gt  the target extends after the search range (te > pe)
//	lt  the target extends before it (ts < ps)
//	ge  gt or eq; le  lt or eq
//	sa  the target starts after the search range ends (ts >= pe)
//	eb  the target ends before the search range starts (te <= ps)
//	ap  the ranges overlap once the search range is widened by 10% of its
//	    width, at least a day, on each side (the spec's "10% of the gap
//	    to now" would need a clock, and Match is pure)
func (v *Value) matchDate(r DateRange) bool {
	ps, pe := v.lo, v.hi
	after := func(a, b time.Time) bool { return a.After(b) }
	within := (!r.OpenLo && !r.Lo.Before(ps)) && (!r.OpenHi && !r.Hi.After(pe))
	gt := r.OpenHi || after(r.Hi, pe)
	lt := r.OpenLo || r.Lo.Before(ps)
	switch v.prefix {
	case "eq":
		return within
	case "ne":
		return !within
	case "gt":
		return gt
	case "lt":
		return lt
	case "ge":
		return gt || within
	case "le":
		return lt || within
	case "sa":
		return !r.OpenLo && !r.Lo.Before(pe)
	case "eb":
		return !r.OpenHi && !r.Hi.After(ps)
	case "ap":
		ps, pe = v.ApproxDates()
		return (r.OpenLo || r.Lo.Before(pe)) && (r.OpenHi || r.Hi.After(ps))
	}
	return false
}

// toRat converts a numeric value (or its text) to a big.Rat.
func toRat(v types.Value) (*big.Rat, bool) {
	switch x := v.(type) {
	case types.Integer:
		return new(big.Rat).SetInt64(x.Value()), true
	case types.Decimal:
		return ratOf(x.Value().String())
	case types.String:
		if numberPattern.MatchString(x.Value()) {
			return ratOf(x.Value())
		}
	}
	return nil, false
}

// ratOf parses a decimal, refusing magnitudes the index does not hold.
func ratOf(s string) (*big.Rat, bool) {
	n, ok := new(big.Rat).SetString(s)
	if !ok || !saneNumber(n) {
		return nil, false
	}
	return n, true
}

func numbers(col types.Collection) []*big.Rat {
	var out []*big.Rat
	for _, v := range col {
		if n, ok := toRat(v); ok {
			out = append(out, n)
		}
	}
	return out
}

// matchNumber applies a prefix: eq and ne use the implicit precision of
// the search value, the others compare exactly (sa and eb as gt and lt),
// and ap accepts values within 10% of the search value.
func (v *Value) matchNumber(n *big.Rat) bool {
	switch v.prefix {
	case "eq":
		return n.Cmp(v.numLo) >= 0 && n.Cmp(v.numHi) < 0
	case "ne":
		return n.Cmp(v.numLo) < 0 || n.Cmp(v.numHi) >= 0
	case "gt", "sa":
		return n.Cmp(v.num) > 0
	case "lt", "eb":
		return n.Cmp(v.num) < 0
	case "ge":
		return n.Cmp(v.num) >= 0
	case "le":
		return n.Cmp(v.num) <= 0
	case "ap":
		lo, hi, ok := v.ApproxNumbers()
		if !ok {
			return n.Cmp(v.numLo) >= 0 && n.Cmp(v.numHi) < 0
		}
		return n.Cmp(lo) >= 0 && n.Cmp(hi) <= 0
	}
	return false
}

func quantities(col types.Collection) []Quantity {
	var out []Quantity
	for _, v := range col {
		obj, ok := v.(*types.ObjectValue)
		if !ok {
			if n, ok := toRat(v); ok {
				out = append(out, Quantity{Value: n})
			}
			continue
		}
		data := obj.Data()
		raw, t, _, err := jsonparser.Get(data, "value")
		if err != nil || t != jsonparser.Number {
			continue
		}
		n, ok := ratOf(string(raw))
		if !ok {
			continue
		}
		out = append(out, Quantity{Value: n, System: rawString(data, "system"), Code: rawString(data, "code"), Unit: rawString(data, "unit")})
	}
	return out
}

// matchQuantity compares the number as matchNumber does and, when the
// search value names them, the units: number|system|code needs the same
// system and code; number||code needs the same code or unit. Units are not
// converted (UCUM canonicalisation is not done).
func (v *Value) matchQuantity(q Quantity) bool {
	if v.system != "" && (q.System != v.system || q.Code != v.code) {
		return false
	}
	if v.system == "" && v.code != "" && q.Code != v.code && q.Unit != v.code {
		return false
	}
	return v.matchNumber(q.Value)
}
