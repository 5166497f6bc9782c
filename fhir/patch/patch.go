package patch

import (
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/fhirbell/fhirbell/fhir"
)

// Error is a patch that is well formed but cannot be applied to this
// resource (HTTP 422).
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// JSONPatch applies an RFC 6902 patch document to doc.
func JSONPatch(doc, patch []byte) ([]byte, error) {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, fhir.Invalid("", "not a JSON Patch document: "+err.Error())
	}
	for i, op := range p {
		kind := op.Kind()
		switch kind {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, fhir.Invalid(fmt.Sprintf("[%d].op", i), fmt.Sprintf("unknown JSON Patch op %q", kind))
		}
	}
	out, err := p.ApplyWithOptions(doc, &jsonpatch.ApplyOptions{})
	if err != nil {
		return nil, &Error{Msg: "the JSON Patch cannot be applied: " + err.Error()}
	}
	return compact(out), nil
}

// compact re-encodes b without insignificant space and without escaping
// <, > and & (which the library's encoder does), members in order.
func compact(b []byte) []byte {
	v, err := decode(b)
	if err != nil {
		return b
	}
	return encode(v)
}
