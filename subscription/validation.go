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

// validateWrite is Validate for a write about to be stored.
func validateWrite(r *fhir.Resource) error { return Validate(r.Type, r.Obj.Bytes()) }
