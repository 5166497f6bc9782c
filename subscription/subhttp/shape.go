package subhttp

import (
	"net/url"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/shape"
)

// resourceShape reads _summary and _elements for an interaction that
// answers resources, not a search result (read, vread, history):
// _summary=count, a search's total, has no meaning there.
func resourceShape(params url.Values) (shape.Shape, error) {
	sh, err := shape.FromQuery(params)
	if err != nil {
		return shape.Shape{}, err
	}
	if sh.Summary == shape.SummaryCount {
		return shape.Shape{}, &fhir.ValidationError{Path: "_summary", Code: fhir.IssueNotSupported,
			Msg: "_summary=count gives a search's total; read, vread and history answer resources (use true, text, data or false)"}
	}
	return sh, nil
}

// shapeParams returns the shaping parameters of params, for paging links
// that must shape every page alike.
func shapeParams(params url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"_summary", "_elements"} {
		if vs, ok := params[k]; ok {
			out[k] = vs
		}
	}
	return out
}
