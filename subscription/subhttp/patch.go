package subhttp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/patch"
	"github.com/fhirbell/fhirbell/fhir/shape"
	"github.com/fhirbell/fhirbell/subscription"
)

// jsonPatchType is the media type of RFC 6902 JSON Patch; a FHIRPath
// Patch is a Parameters resource in any of jsonTypes.
const jsonPatchType = "application/json-patch+json"

var patchTypes = append([]string{jsonPatchType}, jsonTypes...)

// patcher returns the function that applies body, a JSON Patch when
// mediaType is jsonPatchType and a FHIRPath Patch otherwise, to a
// resource of type typ.
func patcher(typ, mediaType string, body []byte) func([]byte) ([]byte, error) {
	if mediaType == jsonPatchType {
		return func(doc []byte) ([]byte, error) { return patch.JSONPatch(doc, body) }
	}
	return func(doc []byte) ([]byte, error) { return patch.FHIRPathPatch(typ, doc, body) }
}

// patchMediaType is the media type of the request body (JSON when absent,
// as everywhere in fhirbell).
func patchMediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return jsonTypes[0]
	}
	return mt
}

// patch answers PATCH [type]/[id] and PATCH [type]?criteria with a JSON
// Patch or a FHIRPath Patch body: 200 with the patched resource (Prefer
// applies), validated like any update. A patch that cannot be applied is
// 422; one that changes resourceType or id is 400.
func (a *api) patch(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, info(r).maxBodyBytes, patchTypes)
	if err != nil {
		return err
	}
	if typ == "Subscription" && versionOf(r.Context()) == fhir.R5 {
		return &statusError{Status: http.StatusBadRequest, Code: fhir.IssueNotSupported,
			Msg: "a patch of a Subscription is not translated at the R5 endpoint; PUT the R5 Subscription, or PATCH its stored (R4) form at " + endpoint.FHIRPath}
	}
	apply := patcher(typ, patchMediaType(r), body)
	var stored subscription.Resource
	if chi.URLParam(r, "id") != "" {
		_, id, err := pathTypeID(r)
		if err != nil {
			return err
		}
		stored, err = a.svc.Patch(r.Context(), typ, id, apply, want)
		if errors.Is(err, subscription.ErrPreconditionFailed) {
			err = preconditionError(r.Context(), a.svc.Read, typ, id, want)
		}
		if err != nil {
			return identify(err, typ, id)
		}
	} else {
		crit, err := queryCriteria(r, typ)
		if err != nil {
			return err
		}
		if stored, err = a.svc.ConditionalPatch(r.Context(), crit, apply, want); err != nil {
			return err
		}
	}
	a.writeResource(w, r, http.StatusOK, stored, answerWrite, shape.Shape{})
	return nil
}

// patchEntryBody reads the patch of a transaction or batch PATCH entry:
// a Binary whose data is a JSON Patch (contentType
// application/json-patch+json), or a Parameters (FHIRPath Patch).
func patchEntryBody(e *entry) (mediaType string, body []byte, err error) {
	switch e.res.Type {
	case "Parameters":
		return jsonTypes[0], e.res.Obj.Bytes(), nil
	case "Binary":
		ct, _ := e.res.Obj.String("contentType")
		data, _ := e.res.Obj.String("data")
		if mt, _, _ := mime.ParseMediaType(ct); mt != jsonPatchType {
			return "", nil, fhir.Invalid("resource.contentType", fmt.Sprintf("a Binary patch must have contentType %s, not %q", jsonPatchType, ct))
		}
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil || !json.Valid(b) {
			return "", nil, fhir.Invalid("resource.data", "must be the base64 of a JSON Patch document")
		}
		return jsonPatchType, b, nil
	}
	return "", nil, fhir.Invalid("resource.resourceType", fmt.Sprintf("a PATCH entry carries a Parameters (FHIRPath Patch) or a Binary (JSON Patch), not a %s", e.res.Type))
}

// patchOutcome maps a patch that cannot be applied to 422.
func patchOutcome(err error) (int, *fhir.OperationOutcome, bool) {
	pe, ok := errors.AsType[*patch.Error](err)
	if !ok {
		return 0, nil, false
	}
	return http.StatusUnprocessableEntity, fhir.NewOutcome(fhir.IssueProcessing, pe.Msg), true
}
