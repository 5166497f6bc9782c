package subhttp

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
)

// Content negotiation. fhirbell serves JSON only, in whichever of its names
// the client asked for, as HAPI and Blaze do: the response Content-Type is
// the JSON type named by _format or the preferred acceptable Accept entry
// (application/fhir+json when the client named none, or only json or a
// wildcard), with charset=utf-8, and with the endpoint's fhirVersion (4.0,
// or 5.0 on the R5 endpoint) when the client named a FHIR version. XML,
// Turtle, HTML and other FHIR versions are 406 with an OperationOutcome. _format wins over Accept (R4 §3.1.0.1.7:
// it exists for clients that cannot set headers).

// fhirJSON is the FHIR JSON media type, the default of every response.
const fhirJSON = "application/fhir+json"

// contentType is the Content-Type of a response nobody negotiated.
const contentType = fhirJSON + "; charset=utf-8"

// formatAliases maps the _format values that mean FHIR JSON to the media
// type a response carries. "application/fhir json" is application/fhir+json
// from a client that did not escape the +.
var formatAliases = map[string]string{
	"json":                  fhirJSON,
	"fhir+json":             fhirJSON,
	"application/fhir+json": fhirJSON,
	"application/fhir json": fhirJSON,
	"application/json":      "application/json",
	"application/json+fhir": "application/json+fhir",
}

// notAcceptable is the 406 of a format the endpoint does not serve.
func notAcceptable(v fhir.Version, what, value string, expr ...string) error {
	return &statusError{Status: http.StatusNotAcceptable, Code: fhir.IssueNotSupported, Expression: expr,
		Msg: fmt.Sprintf("%s %q names no format this endpoint serves; it serves FHIR JSON only (application/fhir+json or application/json, fhirVersion %s)", what, value, v)}
}

// negotiate returns the Content-Type of the response to r, or a 406
// *statusError.
func negotiate(r *http.Request) (string, error) {
	v := info(r).version
	if f := r.URL.Query().Get("_format"); f != "" {
		ct, ok := formatType(f, v)
		if !ok {
			return "", notAcceptable(v, "_format", f, "_format")
		}
		return ct, nil
	}
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return contentType, nil
	}
	ct, ok := acceptType(accept, v)
	if !ok {
		return "", notAcceptable(v, "Accept", accept)
	}
	return ct, nil
}

// formatType reads a _format value for an endpoint of version v.
func formatType(f string, v fhir.Version) (string, bool) {
	base, params, _ := strings.Cut(f, ";")
	mt, ok := formatAliases[strings.ToLower(strings.TrimSpace(base))]
	if !ok {
		return "", false
	}
	version := ""
	if params != "" {
		_, ps, err := mime.ParseMediaType("x/y;" + params)
		if err != nil {
			return "", false
		}
		if version, ok = fhirVersionParam(ps, v); !ok {
			return "", false
		}
	}
	return responseType(mt, version), true
}

// acceptType picks the response type for an Accept header: the JSON type
// (or wildcard) with the highest q above 0, the first listed on a tie.
// An Accept that cannot be parsed at all is no reason to refuse: it counts
// as */*.
func acceptType(accept string, v fhir.Version) (string, bool) {
	best, bestQ, parsed := "", 0.0, false
	for part := range strings.SplitSeq(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, ps, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		parsed = true
		q := 1.0
		if v, ok := ps["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		if q <= bestQ {
			continue
		}
		var ct string
		switch mt {
		case "*/*", "application/*":
			ct = fhirJSON
		case fhirJSON, "application/json", "application/json+fhir":
			ct = mt
		default:
			continue
		}
		version, ok := fhirVersionParam(ps, v)
		if !ok {
			continue // another FHIR version: not this entry
		}
		best, bestQ = responseType(ct, version), q
	}
	if !parsed {
		return contentType, true
	}
	return best, best != ""
}

// fhirVersionParam reads a media type's fhirVersion parameter: "" when
// absent, the endpoint's version (4.0 for 4.0 or 4.0.x on the R4 endpoint,
// 5.0 on the R5 one) when it names it; ok is false for any other version.
func fhirVersionParam(ps map[string]string, endpoint fhir.Version) (string, bool) {
	s, present := ps["fhirversion"] // mime lower-cases parameter names
	if !present {
		return "", true
	}
	if v, ok := fhir.ParseVersion(s); ok && v == endpoint {
		return v.String(), true
	}
	return "", false
}

func responseType(mt, version string) string {
	ct := mt + "; charset=utf-8"
	if version != "" {
		ct += "; fhirVersion=" + version
	}
	return ct
}
