package subhttp

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// $validate modes (R4 resource-validation-mode).
const (
	modeCreate = "create"
	modeUpdate = "update"
	modeDelete = "delete"
)

// validateOp is $validate on a type (POST [type]/$validate) or an instance
// (POST [type]/[id]/$validate). The body is the resource, or a Parameters
// with resource and mode. It answers 200 with an OperationOutcome listing
// every issue (or one informational issue when there is none), as R4 asks:
// a 4xx means the validation could not be run, not that the resource is
// invalid.
func (a *api) validateOp(w http.ResponseWriter, r *http.Request) error {
	oo, err := a.validate(w, r)
	if err != nil {
		return err
	}
	writeOutcome(w, r, http.StatusOK, oo)
	return nil
}

func (a *api) validate(w http.ResponseWriter, r *http.Request) (*fhir.OperationOutcome, error) {
	typ, err := pathType(r)
	if err != nil {
		return nil, err
	}
	id := chi.URLParam(r, "id")
	if id != "" {
		if err := checkID(typ, id); err != nil {
			return nil, err
		}
	}
	body, err := readJSONBody(w, r)
	if err != nil {
		return nil, err
	}
	mode := ""
	res, err := fhir.ParseResource(body)
	if err == nil && res.Type == "Parameters" && typ != "Parameters" {
		res, mode, err = validateParams(res)
	}
	if err == nil && res == nil && mode != modeDelete {
		err = &fhir.ValidationError{Path: "Parameters.parameter", Code: fhir.IssueRequired, Msg: "a resource parameter is required unless mode is delete"}
	}
	var paths *subscription.R5Paths
	if err == nil && res != nil && res.Type == "Subscription" && versionOf(r.Context()) == fhir.R5 {
		var stored []byte
		if stored, paths, err = subscription.SubscriptionFromR5(res.Obj.Bytes()); err == nil {
			res, err = fhir.ParseResource(stored)
		}
	}
	if err != nil {
		return outcomeOf(err)
	}
	switch mode {
	case "", modeCreate:
	case modeUpdate:
		if id == "" {
			return nil, fhir.Invalid("mode", "mode update needs an instance: POST [type]/[id]/$validate")
		}
		if res.ID != id {
			return outcomeOf(fhir.Invalid(typ+".id", fmt.Sprintf("an update of %s/%s needs id %q, the resource has %q", typ, id, id, res.ID)))
		}
	case modeDelete:
		if id == "" {
			return nil, fhir.Invalid("mode", "mode delete needs an instance: POST [type]/[id]/$validate")
		}
		if _, err := a.svc.Read(r.Context(), typ, id); err != nil {
			return nil, identify(err, typ, id)
		}
		return fhir.NewOutcome("informational", fmt.Sprintf("%s/%s exists and may be deleted", typ, id)), nil
	default:
		return nil, &fhir.ValidationError{Path: "mode", Code: fhir.IssueCodeInvalid, Msg: fmt.Sprintf("mode %q is not create, update or delete", mode)}
	}
	if res.Type != typ {
		return outcomeOf(fhir.Invalid("resourceType", fmt.Sprintf("resource type %q does not match the type %q in the URL", res.Type, typ)))
	}
	return outcomeOf(paths.Error(a.svc.Check(res)))
}

// outcomeOf turns a client error into the issues $validate reports; nil is
// "no issues", and an error that is not the client's stays an error.
func outcomeOf(err error) (*fhir.OperationOutcome, error) {
	if err == nil {
		return fhir.NewOutcome("informational", "no issues detected"), nil
	}
	es, ok := fhir.AsValidation(err)
	if !ok {
		return nil, err
	}
	return fhir.OutcomeForAll(es), nil
}

// validateParams reads the resource and mode parameters of a $validate
// Parameters body.
func validateParams(p *fhir.Resource) (res *fhir.Resource, mode string, err error) {
	var params struct {
		Parameter []struct {
			Name      string          `json:"name"`
			ValueCode string          `json:"valueCode"`
			Resource  json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(p.Obj.Bytes(), &params); err != nil {
		return nil, "", fhir.Invalid("Parameters.parameter", "not a list of parameters")
	}
	for i, par := range params.Parameter {
		switch par.Name {
		case "resource":
			if res, err = fhir.ParseResource(par.Resource); err != nil {
				return nil, "", err
			}
		case "mode":
			mode = par.ValueCode
		case "profile":
			return nil, "", &fhir.ValidationError{Path: fmt.Sprintf("Parameters.parameter[%d]", i), Code: fhir.IssueNotSupported,
				Msg: "validation against a profile is not supported; resources are validated against R4"}
		default:
			return nil, "", fhir.Invalid(fmt.Sprintf("Parameters.parameter[%d].name", i), fmt.Sprintf("unknown $validate parameter %q", par.Name))
		}
	}
	return res, mode, nil
}
