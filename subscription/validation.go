package subscription

import (
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
		_, err := ParseSubscription(r.Obj.Bytes(), s.topics, s.now())
		return err
	case "SubscriptionTopic":
		_, err := ParseTopic(r.Obj.Bytes())
		return err
	}
	return nil
}
