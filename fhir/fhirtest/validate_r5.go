package fhirtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ValidateR5Subscription validates b as an R5 (5.0.0) Subscription, by the
// element table of the R5 StructureDefinition, which no R4 schema
// describes:
//
//   - only R5 Subscription elements (resource, domain resource, identifier,
//     name, status, topic, contact, end, managingEntity, reason, filterBy,
//     channelType, endpoint, parameter, heartbeatPeriod, timeout,
//     contentType, content, maxCount) and their _element twins; none of R4's
//     (criteria, channel, error);
//   - status 1..1 from subscription-status (requested | active | error |
//     off | entered-in-error); topic 1..1 a canonical; channelType 1..1 a
//     Coding with a code; end an instant; endpoint a url; heartbeatPeriod
//     and timeout unsignedInt; maxCount positiveInt; content from
//     subscription-payload-content; contentType a MIME type;
//   - filterBy: filterParameter 1..1 and value 1..1 strings, resourceType a
//     uri, comparator from search-comparator, modifier a code, not both
//     comparator and modifier (scr-1); parameter: name 1..1 and value 1..1
//     strings.
func ValidateR5Subscription(b []byte) error {
	v, err := parseJSON(b)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("R5 Subscription: not a JSON object")
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("R5 Subscription: "+format, args...))
	}
	if m["resourceType"] != "Subscription" {
		bad("resourceType is %v", m["resourceType"])
	}
	for k := range m {
		if !slices.Contains(r5SubscriptionElements, strings.TrimPrefix(k, "_")) {
			bad("%s is not an R5 Subscription element", k)
		}
	}
	checkElements(m, "Subscription", r5SubscriptionTypes, bad)
	if _, ok := m["status"]; !ok {
		bad("status is required (1..1)")
	}
	if _, ok := m["topic"]; !ok {
		bad("topic is required (1..1)")
	}
	if ct, ok := m["channelType"].(map[string]any); !ok {
		bad("channelType is required (1..1 Coding)")
	} else if c, _ := ct["code"].(string); c == "" {
		bad("channelType has no code")
	}
	for i, f := range objects(m["filterBy"]) {
		at := fmt.Sprintf("Subscription.filterBy[%d]", i)
		for k := range f {
			if !slices.Contains([]string{"id", "extension", "modifierExtension", "resourceType", "filterParameter", "comparator", "modifier", "value"}, k) {
				bad("%s.%s is not an element of filterBy", at, k)
			}
		}
		checkElements(f, at, r5FilterByTypes, bad)
		for _, req := range []string{"filterParameter", "value"} {
			if s, _ := f[req].(string); s == "" {
				bad("%s.%s is required (1..1)", at, req)
			}
		}
		if f["comparator"] != nil && f["modifier"] != nil {
			bad("%s has both comparator and modifier (scr-1)", at)
		}
	}
	for i, p := range objects(m["parameter"]) {
		at := fmt.Sprintf("Subscription.parameter[%d]", i)
		for k := range p {
			if !slices.Contains([]string{"id", "extension", "modifierExtension", "name", "value"}, k) {
				bad("%s.%s is not an element of parameter", at, k)
			}
		}
		for _, req := range []string{"name", "value"} {
			if _, ok := p[req].(string); !ok {
				bad("%s.%s is required (1..1 string)", at, req)
			}
		}
	}
	return errors.Join(errs...)
}

var r5SubscriptionElements = []string{
	"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
	"identifier", "name", "status", "topic", "contact", "end", "managingEntity", "reason", "filterBy",
	"channelType", "endpoint", "parameter", "heartbeatPeriod", "timeout", "contentType", "content", "maxCount",
}

// elementType is the JSON check of one element's FHIR type; array says the
// element is 0..*.
type elementType struct {
	kind  string
	array bool
	codes []string // for kind "code": the required binding, when there is one
}

var r5SubscriptionTypes = map[string]elementType{
	"id": {kind: "id"}, "meta": {kind: "object"}, "implicitRules": {kind: "uri"}, "language": {kind: "code"},
	"text": {kind: "object"}, "contained": {kind: "object", array: true},
	"extension": {kind: "extension", array: true}, "modifierExtension": {kind: "extension", array: true},
	"identifier": {kind: "object", array: true}, "name": {kind: "string"},
	"status":  {kind: "code", codes: []string{"requested", "active", "error", "off", "entered-in-error"}},
	"topic":   {kind: "canonical"},
	"contact": {kind: "object", array: true}, "end": {kind: "instant"}, "managingEntity": {kind: "reference"},
	"reason": {kind: "string"}, "filterBy": {kind: "object", array: true}, "channelType": {kind: "coding"},
	"endpoint": {kind: "url"}, "parameter": {kind: "object", array: true},
	"heartbeatPeriod": {kind: "unsignedInt"}, "timeout": {kind: "unsignedInt"}, "contentType": {kind: "mime"},
	"content":  {kind: "code", codes: []string{"empty", "id-only", "full-resource"}},
	"maxCount": {kind: "positiveInt"},
}

var r5FilterByTypes = map[string]elementType{
	"resourceType": {kind: "uri"}, "filterParameter": {kind: "string"},
	"comparator": {kind: "code", codes: []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}},
	"modifier":   {kind: "code"}, "value": {kind: "string"},
}

var (
	r5IDPattern   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	r5CodePattern = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)
	r5MIMEPattern = regexp.MustCompile(`^[a-z]+/[a-z0-9.+\-]+(\s*;\s*[A-Za-z]+=[^;]+)*$`)
)

// checkElements checks the JSON type of every element of m named in types.
func checkElements(m map[string]any, at string, types map[string]elementType, bad func(string, ...any)) {
	for k, t := range types {
		v, ok := m[k]
		if !ok {
			continue
		}
		vals := []any{v}
		if t.array {
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				bad("%s.%s must be a non-empty array", at, k)
				continue
			}
			vals = a
		} else if _, isArr := v.([]any); isArr {
			bad("%s.%s is 0..1, not an array", at, k)
			continue
		}
		for _, v := range vals {
			if msg := checkType(t, v); msg != "" {
				bad("%s.%s: %s", at, k, msg)
			}
		}
	}
}

func checkType(t elementType, v any) string {
	s, isStr := v.(string)
	switch t.kind {
	case "object", "reference", "coding", "extension":
		o, ok := v.(map[string]any)
		if !ok {
			return "must be an object"
		}
		if t.kind == "extension" {
			if u, _ := o["url"].(string); u == "" {
				return "an extension needs a url"
			}
		}
		return ""
	case "unsignedInt", "positiveInt":
		n, ok := v.(json.Number)
		if !ok {
			return "must be a JSON integer"
		}
		i, err := n.Int64()
		if err != nil || i < 0 || (t.kind == "positiveInt" && i < 1) {
			return fmt.Sprintf("%s is not a %s", n, t.kind)
		}
		return ""
	}
	if !isStr || s == "" || strings.TrimSpace(s) != s {
		return "must be a non-empty string without surrounding space"
	}
	switch t.kind {
	case "id":
		if !r5IDPattern.MatchString(s) {
			return fmt.Sprintf("%q is not an id", s)
		}
	case "code":
		if !r5CodePattern.MatchString(s) {
			return fmt.Sprintf("%q is not a code", s)
		}
		if len(t.codes) > 0 && !slices.Contains(t.codes, s) {
			return fmt.Sprintf("%q is not one of %s", s, strings.Join(t.codes, " | "))
		}
	case "instant":
		if !isInstant(s) {
			return fmt.Sprintf("%q is not an instant", s)
		}
	case "canonical", "uri", "url":
		if strings.ContainsAny(s, " \t\n") {
			return fmt.Sprintf("%q is not a %s", s, t.kind)
		}
	case "mime":
		if !r5MIMEPattern.MatchString(s) {
			return fmt.Sprintf("%q is not a MIME type", s)
		}
	}
	return ""
}
