package fhir

import (
	"errors"
	"net/url"
)

// SearchParam describes one search parameter a resource type supports, as
// defined by the official R4 SearchParameter resources.
type SearchParam struct {
	Code        string   // the name used in queries, e.g. "subject"
	Type        string   // token | reference | string | date | uri | number | quantity | composite | special
	Expression  string   // the FHIRPath expression, restricted to this resource type
	Description string
	Targets     []string // for reference parameters: the resource types it may point to
}

// SortKey is one _sort key.
type SortKey struct {
	Param      string // "_lastUpdated"
	Descending bool
}

// Query is a parsed FHIR search for one resource type: the filter terms and
// the result controls (_count, _offset, _sort).
type Query struct {
	Type   string
	Count  int // 0 means the server default
	Offset int
	Sort   []SortKey
	// filter terms are unexported; Match evaluates them.
}

// SearchParams returns the search parameters of resourceType, sorted by
// code, including the ones every resource has (_id, _lastUpdated, …).
func SearchParams(resourceType string) []SearchParam {
	return nil // filled by the search-parameter registry
}

// ParseQuery parses the query parameters of a search on resourceType. An
// unknown parameter, an unsupported modifier or a malformed value is a
// *ValidationError naming the parameter.
func ParseQuery(resourceType string, params url.Values) (*Query, error) {
	return nil, errors.New("fhir: search not implemented")
}

// ParseCriteria parses a search URL relative to the base, such as
// "Observation?code=http://loinc.org|8867-4&subject=Patient/123" or a bare
// "Observation".
func ParseCriteria(criteria string) (*Query, error) {
	return nil, errors.New("fhir: search not implemented")
}

// Match reports whether the resource (JSON of q.Type) satisfies every filter
// term of q. It is a pure function of q and resource.
func (q *Query) Match(resource []byte) (bool, error) {
	return false, errors.New("fhir: search not implemented")
}
