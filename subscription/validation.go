package subscription

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/validate"
)

// Validate checks a resource body against R4 (fhir/validate: structure,
// types, cardinality, primitive formats, required bindings) and returns a
// fhir.ValidationErrors naming every issue. Types without an R4 schema
// (SubscriptionTopic, served in its R4B/R5 shape) are left to the engine's
// own checks (ParseTopic). Every write goes through it (Writer.prepare),
// and $validate calls it, so a resource is judged the same whichever way
// it arrives.
func Validate(typ string, body []byte) error {
	if !validate.Covered(typ) {
		return nil
	}
	return validate.Resource(body)
}

// validateWrite is Validate for a write about to be stored. It is a
// variable only so that the write-path benchmark can measure a write
// without it (export_test.go); nothing else assigns it.
var validateWrite = func(r *fhir.Resource) error { return Validate(r.Type, r.Obj.Bytes()) }

// Check is what $validate runs: Validate, then the engine's own rules for
// the types it owns (a Subscription's criteria and channel, a topic's
// triggers). It stores nothing.
func (s *Service) Check(r *fhir.Resource) error {
	if err := Validate(r.Type, r.Obj.Bytes()); err != nil {
		return err
	}
	switch r.Type {
	case "Subscription":
		if err := rejectCrossVersion(r.Obj.Bytes()); err != nil {
			return err
		}
		_, err := ParseSubscription(r.Obj.Bytes(), s.topics, s.now())
		return err
	case "SubscriptionTopic":
		_, err := ParseTopic(r.Obj.Bytes())
		return err
	}
	return nil
}

// crossVersionPrefix matches the canonical URLs of FHIR's cross-version
// extensions and of other packages' version-specific copies
// (http://hl7.org/fhir/5.0/StructureDefinition/extension-Subscription.topic,
// http://hl7.org/fhir/5.0/subscriptions-backport/…).
var crossVersionPrefix = regexp.MustCompile(`^http://hl7\.org/fhir/[0-9]+\.[0-9]+/`)

// rejectCrossVersion refuses a Subscription written with a cross-version
// extension anywhere in it. The Backport IG: cross-version extensions
// SHOULD NOT be used on R4 Subscriptions to describe any element, since
// their R5 meaning is not guaranteed to be the IG's; a server that kept one
// would silently ignore what the client meant by it (a filter, a channel
// setting). Only writes are checked: a body already stored stays readable.
func rejectCrossVersion(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil // ParseSubscription reports malformed JSON
	}
	return crossVersionIn(v, "Subscription")
}

func crossVersionIn(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		if u, ok := x["url"].(string); ok && crossVersionPrefix.MatchString(u) {
			return &fhir.ValidationError{Path: path, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("cross-version extension %s is not supported on an R4 Subscription (the Subscriptions Backport IG: use the IG's own extensions, such as backport-filter-criteria; R5 clients: use %s)", u, "/fhir/R5")}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := crossVersionIn(x[k], path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := crossVersionIn(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
