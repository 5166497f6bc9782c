package search

// The search-parameter table (searchparams.json) and the choice-element
// table (search_choices_gen.go) are generated from the official HL7 R4
// definitions in testdata/fhir-r4 at the repository root
// (search-parameters.json and fhir.schema.json) and committed, so neither
// build nor run reads them. Regenerate with `go generate ./fhir/search`; internal/gensearch
// documents what it trims and rewrites.
//
// Search semantics (FHIR R4 search, https://hl7.org/fhir/R4/search.html),
// and where fhirbell decides:
//   - string: case- and accent-insensitive "starts with"; :contains
//     anywhere; :exact exact. A HumanName or Address matches through any of
//     its parts (family, given, text, line, city, postalCode, …).
//   - token: code, system|code, |code (value without system), system| (any
//     code of the system); :not matches resources with no matching value,
//     including those without a value; :text searches CodeableConcept.text,
//     Coding.display and Identifier.type.text as a string. Codes and
//     systems compare case-sensitively, string-typed tokens included, so
//     that index keys (IndexKeys) can be exact.
//   - reference: Type/id, plain id (any target type, or the :Type
//     modifier's), absolute URLs (compared by their trailing Type/id, since
//     the matcher does not know the base URL); canonical values compare as
//     strings, a "|version" on the stored value ignored.
//   - date: every value is a half-open range at its precision ("2024-03"
//     is the month); Periods with a missing bound are open. Values without
//     a time zone are taken as UTC. Prefixes per the spec (see matchDate).
//   - number, quantity: eq and ne use the implicit precision of the search
//     value ("100" is [99.5, 100.5)); ap is within 10%; quantity units
//     compare as given (system|code, or ||code-or-unit), not converted.
//   - uri: exact; :below and :above by string prefix.
//   - :missing=true matches when the expression selects nothing.

//go:generate go run ./internal/gensearch -in ../../testdata/fhir-r4/search-parameters.json -out searchparams.json

import (
	"fmt"
	"github.com/fhirbell/fhirbell/fhir"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SearchParam describes one search parameter a resource type supports, as
// defined by the official R4 SearchParameter resources.
type SearchParam struct {
	Code        string // the name used in queries, e.g. "subject"
	Type        string // token | reference | string | date | uri | number | quantity | composite | special
	Expression  string // the FHIRPath expression, restricted to this resource type
	Description string
	Targets     []string // for reference parameters: the resource types it may point to (empty: any)
}

// SortKey is one _sort key: a search parameter of the query's type, or
// _id, or _lastUpdated.
type SortKey struct {
	Param      string
	Descending bool
}

// MaxCount is the largest _count a search honours; a larger _count is
// lowered to it (the spec lets a server return fewer than asked).
const MaxCount = 1000

// Total modes (_total).
const (
	TotalDefault  = ""         // the server's choice: see the stores
	TotalNone     = "none"     // no total
	TotalEstimate = "estimate" // fhirbell counts exactly, as for accurate
	TotalAccurate = "accurate"
)

// Include is one _include or _revinclude value: resources of Type refer,
// through reference parameter Param, to resources of TargetType ("" for
// any). _include adds the resources the matches refer to; _revinclude the
// resources that refer to the matches. Iterate (":iterate") applies it to
// the included resources too.
type Include struct {
	Reverse    bool
	Type       string
	Param      string
	TargetType string
	Iterate    bool
}

// String returns the include as written, e.g. "Observation:subject:Patient".
func (in Include) String() string {
	s := in.Type + ":" + in.Param
	if in.TargetType != "" {
		s += ":" + in.TargetType
	}
	return s
}

// Query is a parsed FHIR search for one resource type: the filter terms and
// the result controls. A Query is immutable once parsed and safe for
// concurrent use.
type Query struct {
	Type    string
	Count   int // 0 means the server default
	Offset  int
	Sort    []SortKey
	Total   string // one of the Total constants
	Summary string // "" or "count" (_summary=count: the total only)
	Cursor  string // _cursor: the opaque keyset position a store's page link carries
	Include []Include
	// terms are the filter terms, all of which must match (AND); each
	// term matches when any of its values does (OR).
	terms []*Term
}

// Term is one filter parameter of a query, e.g. "code:not=a,b".
type Term struct {
	key      string // the query key as the client wrote it, e.g. "code:not"; used in errors
	param    *paramDef
	modifier string // "" or one of missing, exact, contains, not, text, below, above, type
	refType  string // modifier "type": the resource type of subject:Patient
	missing  bool   // modifier "missing": true for :missing=true
	values   []*Value
	// chain (subject.name=x): for each target type, the query the referenced
	// resource must match; param is the reference parameter.
	chain []*Query
	// has (_has:Observation:subject:code=x): resources of has.Type that
	// refer to the match through has.param and match has.Query.
	has *Has
}

// Has is a reverse chain: the match is referred to, through reference
// parameter Param of Query.Type, by a resource that matches Query.
type Has struct {
	Param string
	Query *Query
}

// hasParam stands for the parameter of a _has term.
var hasParam = &paramDef{tableParam: tableParam{Code: "_has", Type: "special"}}

// ParseQuery parses the query parameters of a search on resourceType. An
// unknown parameter, an unsupported modifier or a malformed value is a
// *ValidationError naming the parameter in Path (code not-supported for
// what fhirbell does not implement, invalid for a malformed value).
//
// Repeated parameters are ANDed; comma-separated values are ORed ("\,"
// escapes a comma). A parameter with an empty value is ignored. Chained
// parameters (subject.name, subject:Patient.identifier, several levels)
// and reverse chains (_has:Observation:subject:code) are terms that a
// store evaluates (Match returns ErrNeedsStore for them). The result
// controls _count (capped at MaxCount), _offset, _sort (any supported
// parameter, _id or _lastUpdated, "-" for descending, several keys),
// _total, _summary=count, _include, _revinclude (with :iterate), _cursor
// and _format (JSON only) are read into the Query; _pretty, the other
// _summary modes and _elements, which shape each resource rather than
// select them (package fhir/shape, applied by the caller), are left to
// the caller; _contained and the rest are rejected as not supported.
func ParseQuery(resourceType string, params url.Values) (*Query, error) {
	if !fhir.IsResourceType(resourceType) {
		return nil, &fhir.ValidationError{Msg: fmt.Sprintf("unknown resource type %q", resourceType), Code: fhir.IssueNotSupported}
	}
	q := &Query{Type: resourceType}
	reg := searchRegistry()
	// Sorted keys make the reported error deterministic.
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range params {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, raw := range params[key] {
			if err := q.parseParam(reg, key, raw); err != nil {
				return nil, err
			}
		}
	}
	// Token and reference terms first: they are the cheapest to evaluate
	// and the most selective, so a non-matching resource fails fast.
	slices.SortStableFunc(q.terms, func(a, b *Term) int { return termRank(a) - termRank(b) })
	return q, nil
}

func termRank(t *Term) int {
	switch {
	case t.chain != nil || t.has != nil:
		return 2
	case t.param.Type == "token" || t.param.Type == "reference":
		return 0
	}
	return 1
}

// parseSort reads _sort: comma-separated keys, each a parameter of the
// type (not composite or special), _id or _lastUpdated, "-" for
// descending. A later _sort replaces an earlier one.
func (q *Query) parseSort(reg *registry, raw string) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	q.Sort = q.Sort[:0]
	for f := range strings.SplitSeq(raw, ",") {
		f = strings.TrimSpace(f)
		k := SortKey{Param: strings.TrimPrefix(f, "-"), Descending: strings.HasPrefix(f, "-")}
		if k.Param != "_id" && k.Param != "_lastUpdated" {
			p := reg.lookup(q.Type, k.Param)
			if p == nil || p.Unsupported != "" {
				return notSupported("_sort", "cannot sort by %q: it is not a supported search parameter of %s", f, q.Type)
			}
		}
		if slices.ContainsFunc(q.Sort, func(o SortKey) bool { return o.Param == k.Param }) {
			return fhir.Invalid("_sort", fmt.Sprintf("%q is given twice", k.Param))
		}
		q.Sort = append(q.Sort, k)
	}
	return nil
}

// parseInclude reads Type:param[:TargetType].
func (q *Query) parseInclude(reg *registry, key, raw string) error {
	if raw == "" {
		return nil
	}
	in := Include{Reverse: strings.HasPrefix(key, "_revinclude"), Iterate: strings.HasSuffix(key, ":iterate")}
	parts := strings.Split(raw, ":")
	if raw == "*" || len(parts) < 2 || len(parts) > 3 {
		return notSupported(key, "%q is not supported: give Type:parameter or Type:parameter:TargetType", raw)
	}
	in.Type, in.Param = parts[0], parts[1]
	if len(parts) == 3 {
		in.TargetType = parts[2]
		if !fhir.IsResourceType(in.TargetType) {
			return fhir.Invalid(key, fmt.Sprintf("%q is not a resource type", in.TargetType))
		}
	}
	if !fhir.IsResourceType(in.Type) {
		return fhir.Invalid(key, fmt.Sprintf("%q is not a resource type", in.Type))
	}
	p := reg.lookup(in.Type, in.Param)
	if p == nil || p.Unsupported != "" || p.Type != "reference" {
		return fhir.Invalid(key, fmt.Sprintf("%q is not a reference search parameter of %s", in.Param, in.Type))
	}
	if in.TargetType != "" && len(p.Targets) > 0 && !slices.Contains(p.Targets, in.TargetType) {
		return fhir.Invalid(key, fmt.Sprintf("%s:%s cannot refer to %s", in.Type, in.Param, in.TargetType))
	}
	if !in.Iterate {
		if !in.Reverse && in.Type != q.Type {
			return fhir.Invalid(key, fmt.Sprintf("_include %q must start with %s (or use _include:iterate)", raw, q.Type))
		}
		if in.Reverse && in.TargetType != "" && in.TargetType != q.Type {
			return fhir.Invalid(key, fmt.Sprintf("_revinclude %q must refer to %s (or use _revinclude:iterate)", raw, q.Type))
		}
	}
	if !slices.Contains(q.Include, in) {
		q.Include = append(q.Include, in)
	}
	return nil
}

// maxChainDepth bounds chains and reverse chains, which cost a join per
// level.
const maxChainDepth = 3

func (q *Query) depth() int {
	d := 0
	for _, t := range q.terms {
		for _, c := range t.chain {
			d = max(d, 1+c.depth())
		}
		if t.has != nil {
			d = max(d, 1+t.has.Query.depth())
		}
	}
	return d
}

// parseChain reads a chained parameter: head is the reference parameter
// (with an optional :Type), rest the parameter of the referenced type.
func (q *Query) parseChain(reg *registry, key, head, rest, raw string) error {
	name, mod, _ := strings.Cut(head, ":")
	p := reg.lookup(q.Type, name)
	if p == nil || p.Unsupported != "" || p.Type != "reference" {
		return fhir.Invalid(key, fmt.Sprintf("%q is not a reference search parameter of %s, so it cannot be chained", name, q.Type))
	}
	targets := p.Targets
	if mod != "" {
		if !fhir.IsResourceType(mod) || (len(p.Targets) > 0 && !slices.Contains(p.Targets, mod)) {
			return fhir.Invalid(key, fmt.Sprintf("%s cannot refer to %q", name, mod))
		}
		targets = []string{mod}
	}
	inner, _, _ := strings.Cut(rest, ":")
	inner, _, _ = strings.Cut(inner, ".")
	var t *Term
	for _, typ := range targets {
		if mod == "" && reg.lookup(typ, inner) == nil {
			continue // this target type has no such parameter
		}
		sub := &Query{Type: typ}
		if err := sub.parseParam(reg, rest, raw); err != nil {
			return err
		}
		if len(sub.terms) == 0 {
			return nil // an empty value: ignored
		}
		if t == nil {
			t = &Term{key: key, param: p}
		}
		t.chain = append(t.chain, sub)
	}
	if t == nil {
		if len(targets) == 0 {
			return fhir.Invalid(key, fmt.Sprintf("%s may refer to any type: name it, as in %s:Patient.%s", name, name, rest))
		}
		return fhir.Invalid(key, fmt.Sprintf("no type %s refers to (%s) has a search parameter %q", name, strings.Join(targets, ", "), inner))
	}
	if 1+t.chain[0].depth() > maxChainDepth {
		return notSupported(key, "chains deeper than %d are not supported", maxChainDepth)
	}
	q.terms = append(q.terms, t)
	return nil
}

// parseHas reads _has:Type:param:rest, where param is a reference
// parameter of Type that can refer to q.Type and rest a parameter of Type.
func (q *Query) parseHas(reg *registry, key, raw string) error {
	parts := strings.SplitN(key, ":", 4)
	if len(parts) != 4 || parts[3] == "" {
		return fhir.Invalid(key, "reverse chaining is _has:Type:reference-parameter:parameter=value")
	}
	typ, name, rest := parts[1], parts[2], parts[3]
	if !fhir.IsResourceType(typ) {
		return fhir.Invalid(key, fmt.Sprintf("%q is not a resource type", typ))
	}
	p := reg.lookup(typ, name)
	if p == nil || p.Unsupported != "" || p.Type != "reference" {
		return fhir.Invalid(key, fmt.Sprintf("%q is not a reference search parameter of %s", name, typ))
	}
	if len(p.Targets) > 0 && !slices.Contains(p.Targets, q.Type) {
		return fhir.Invalid(key, fmt.Sprintf("%s.%s cannot refer to %s", typ, name, q.Type))
	}
	sub := &Query{Type: typ}
	if err := sub.parseParam(reg, rest, raw); err != nil {
		return err
	}
	if len(sub.terms) == 0 {
		return nil
	}
	if 1+sub.depth() > maxChainDepth {
		return notSupported(key, "chains deeper than %d are not supported", maxChainDepth)
	}
	q.terms = append(q.terms, &Term{key: key, param: hasParam, has: &Has{Param: name, Query: sub}})
	return nil
}

func (t *Term) needsStore() bool { return t.chain != nil || t.has != nil }

// NeedsStore reports whether q has chained or reverse-chained terms, which
// Match cannot evaluate (a subscription's criteria cannot use them).
func (q *Query) NeedsStore() bool {
	return slices.ContainsFunc(q.terms, (*Term).needsStore)
}

func notSupported(path, format string, args ...any) *fhir.ValidationError {
	return &fhir.ValidationError{Path: path, Msg: fmt.Sprintf(format, args...), Code: fhir.IssueNotSupported}
}

func (q *Query) parseParam(reg *registry, key, raw string) error {
	switch key {
	case "_count", "_offset":
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || n < 0 {
			return fhir.Invalid(key, fmt.Sprintf("must be a non-negative integer, not %q", raw))
		}
		if key == "_offset" {
			q.Offset = n
		} else {
			q.Count = min(n, MaxCount)
		}
		return nil
	case "_sort":
		return q.parseSort(reg, raw)
	case "_format":
		switch strings.TrimSpace(raw) {
		// "+" arrives as a space when the client did not escape it.
		case "json", "application/json", "application/fhir+json", "application/fhir json", "fhir+json", "":
			return nil
		}
		return notSupported(key, "format %q is not supported (JSON only)", raw)
	case "_pretty":
		return nil // a hint a server may ignore
	case "_total":
		switch raw {
		case TotalNone, TotalEstimate, TotalAccurate:
			q.Total = raw
		case "":
		default:
			return fhir.Invalid(key, fmt.Sprintf("_total takes none, estimate or accurate, not %q", raw))
		}
		return nil
	case "_summary":
		switch raw {
		case "count":
			q.Summary = raw
		case "true", "text", "data", "false", "":
			// They shape each resource, not the result: the caller
			// applies them (fhir/shape).
		default:
			return fhir.Invalid(key, fmt.Sprintf("_summary takes true, text, data, count or false, not %q", raw))
		}
		return nil
	case "_elements":
		return nil // shapes each resource, not the result (fhir/shape)
	case "_cursor":
		q.Cursor = raw
		return nil
	case "_include", "_include:iterate", "_revinclude", "_revinclude:iterate":
		return q.parseInclude(reg, key, raw)
	case "_contained", "_containedType", "_filter", "_list", "_type":
		return notSupported(key, "%s is not supported", key)
	}
	if strings.HasPrefix(key, "_has:") || key == "_has" {
		return q.parseHas(reg, key, raw)
	}
	name, mod, _ := strings.Cut(key, ":")
	if head, rest, ok := strings.Cut(key, "."); ok {
		return q.parseChain(reg, key, head, rest, raw)
	}
	p := reg.lookup(q.Type, name)
	if p == nil {
		return notSupported(key, "unknown search parameter %q for %s", name, q.Type)
	}
	if p.Unsupported != "" {
		return notSupported(key, "search parameter %q of %s is not supported: %s", name, q.Type, p.Unsupported)
	}
	if strings.TrimSpace(raw) == "" {
		return nil // an empty parameter is ignored
	}
	t := &Term{key: key, param: p}
	if err := t.setModifier(mod); err != nil {
		return err
	}
	if t.modifier == "missing" {
		switch raw {
		case "true":
			t.missing = true
		case "false":
		default:
			return fhir.Invalid(key, fmt.Sprintf(":missing takes true or false, not %q", raw))
		}
		q.terms = append(q.terms, t)
		return nil
	}
	for _, part := range splitEscaped(raw, ',') {
		if part == "" {
			continue
		}
		v, err := t.parseValue(part)
		if err != nil {
			return err
		}
		t.values = append(t.values, v)
	}
	if len(t.values) > 0 {
		q.terms = append(q.terms, t)
	}
	return nil
}

// setModifier checks that modifier mod applies to the term's parameter type.
func (t *Term) setModifier(mod string) error {
	typ := t.param.Type
	ok := false
	switch mod {
	case "":
		ok = true
	case "missing":
		ok = true
	case "exact", "contains":
		ok = typ == "string"
	case "not":
		ok = typ == "token"
	case "text":
		// Stores keep _id in a column, not as a token with texts.
		ok = typ == "token" && t.param.Code != "_id"
	case "below", "above":
		ok = typ == "uri"
	default:
		if typ == "reference" && fhir.IsResourceType(mod) {
			if len(t.param.Targets) > 0 && !slices.Contains(t.param.Targets, mod) {
				return fhir.Invalid(t.key, fmt.Sprintf("%s cannot refer to %s (targets: %s)", t.param.Code, mod, strings.Join(t.param.Targets, ", ")))
			}
			t.modifier, t.refType = "type", mod
			return nil
		}
	}
	if !ok {
		return notSupported(t.key, "modifier :%s is not supported on %s parameter %q", mod, typ, t.param.Code)
	}
	t.modifier = mod
	return nil
}

// ParseCriteria parses a search URL relative to the base, such as
// "Observation?code=http://loinc.org|8867-4&subject=Patient/123" or a bare
// "Observation", as ParseQuery does. A leading "/" is tolerated; an
// absolute URL is not.
func ParseCriteria(criteria string) (*Query, error) {
	c := strings.TrimPrefix(strings.TrimSpace(criteria), "/")
	typ, rawQuery, _ := strings.Cut(c, "?")
	if typ == "" {
		return nil, fhir.Invalid("", "criteria has no resource type")
	}
	if !fhir.IsResourceType(typ) {
		return nil, &fhir.ValidationError{Msg: fmt.Sprintf("unknown resource type %q in criteria", typ), Code: fhir.IssueNotSupported}
	}
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fhir.Invalid("", fmt.Sprintf("criteria query is malformed: %v", err))
	}
	return ParseQuery(typ, params)
}

// splitEscaped splits s at each sep not preceded by a backslash, leaving
// the escapes in place for the later unescape.
func splitEscaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescape removes the search escapes \, \| \$ and \\.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
