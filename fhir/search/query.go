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

// SortKey is one _sort key.
type SortKey struct {
	Param      string // "_lastUpdated" or "_id"
	Descending bool
}

// MaxCount is the largest _count a search honours; a larger _count is
// lowered to it (the spec lets a server return fewer than asked).
const MaxCount = 1000

// Query is a parsed FHIR search for one resource type: the filter terms and
// the result controls (_count, _offset, _sort). A Query is immutable once
// parsed and safe for concurrent use.
type Query struct {
	Type   string
	Count  int // 0 means the server default
	Offset int
	Sort   []SortKey
	// terms are the filter terms, all of which must match (AND); each
	// term matches when any of its values does (OR).
	terms []*term
}

// term is one filter parameter of a query, e.g. "code:not=a,b".
type term struct {
	key      string // the query key as the client wrote it, e.g. "code:not"; used in errors
	param    *paramDef
	modifier string // "" or one of missing, exact, contains, not, text, below, above, type
	refType  string // modifier "type": the resource type of subject:Patient
	missing  bool   // modifier "missing": true for :missing=true
	values   []*searchValue
}

// ParseQuery parses the query parameters of a search on resourceType. An
// unknown parameter, an unsupported modifier or a malformed value is a
// *ValidationError naming the parameter in Path (code not-supported for
// what fhirbell does not implement, invalid for a malformed value).
//
// Repeated parameters are ANDed; comma-separated values are ORed ("\,"
// escapes a comma). A parameter with an empty value is ignored. The result
// controls _count (capped at MaxCount), _offset, _sort (_lastUpdated, _id,
// optionally descending with "-"), _format (JSON only) are read into the
// Query; _total and _pretty are ignored; _summary, _elements, _include,
// _revinclude, _contained, chained parameters and _has are rejected as not
// supported.
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
	slices.SortStableFunc(q.terms, func(a, b *term) int { return termRank(a) - termRank(b) })
	return q, nil
}

func termRank(t *term) int {
	switch t.param.Type {
	case "token", "reference":
		return 0
	}
	return 1
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
		if strings.TrimSpace(raw) == "" {
			return nil
		}
		q.Sort = q.Sort[:0]
		for f := range strings.SplitSeq(raw, ",") {
			f = strings.TrimSpace(f)
			k := SortKey{Param: strings.TrimPrefix(f, "-"), Descending: strings.HasPrefix(f, "-")}
			if k.Param != "_lastUpdated" && k.Param != "_id" {
				return notSupported(key, "sorting by %q is not supported (only _lastUpdated and _id)", f)
			}
			q.Sort = append(q.Sort, k)
		}
		return nil
	case "_format":
		switch strings.TrimSpace(raw) {
		// "+" arrives as a space when the client did not escape it.
		case "json", "application/json", "application/fhir+json", "application/fhir json", "fhir+json", "":
			return nil
		}
		return notSupported(key, "format %q is not supported (JSON only)", raw)
	case "_total", "_pretty":
		return nil // hints a server may ignore
	case "_summary", "_elements", "_include", "_revinclude", "_contained", "_containedType", "_filter", "_list", "_type":
		return notSupported(key, "%s is not supported", key)
	}
	if strings.HasPrefix(key, "_has:") || key == "_has" {
		return notSupported(key, "reverse chaining (_has) is not supported")
	}
	name, mod, _ := strings.Cut(key, ":")
	if strings.Contains(name, ".") {
		return notSupported(key, "chained search parameters are not supported")
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
	t := &term{key: key, param: p}
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
func (t *term) setModifier(mod string) error {
	typ := t.param.Type
	ok := false
	switch mod {
	case "":
		ok = true
	case "missing":
		ok = true
	case "exact", "contains":
		ok = typ == "string"
	case "not", "text":
		ok = typ == "token"
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
