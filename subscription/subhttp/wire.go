package subhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// bundle is the R4 Bundle, reduced to what the handlers emit.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *bundleMeta   `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type entryResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// statusLine is a Bundle response.status: the code and its reason phrase.
func statusLine(code int) string { return strconv.Itoa(code) + " " + http.StatusText(code) }

// etag is the weak ETag of a version.
func etag(vid int64) string { return `W/"` + strconv.FormatInt(vid, 10) + `"` }

// parseETag reads an If-Match value, W/"n" or "n", into the version n.
func parseETag(v string) (int64, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "W/")
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return 0, fmt.Errorf(`%q is not an ETag (expected W/"<version>")`, v)
	}
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q does not name a version (a positive integer)", v)
	}
	return n, nil
}

// ifMatch returns the version an If-Match header requires; 0 when absent.
func ifMatch(r *http.Request) (int64, error) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return 0, nil
	}
	n, err := parseETag(v)
	if err != nil {
		return 0, &statusError{Status: http.StatusBadRequest, Code: fhir.IssueInvalid, Msg: "If-Match: " + err.Error()}
	}
	return n, nil
}

// Return preferences (RFC 7240 "Prefer: return=…").
const (
	returnRepresentation = "representation"
	returnMinimal        = "minimal"
	returnOutcome        = "OperationOutcome"
)

// preferReturn reads Prefer: return=…; def when absent or unknown.
func preferReturn(r *http.Request, def string) string {
	for _, h := range r.Header.Values("Prefer") {
		for part := range strings.FieldsFuncSeq(h, func(c rune) bool { return c == ',' || c == ';' }) {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "return") {
				continue
			}
			switch v = strings.Trim(strings.TrimSpace(v), `"`); v {
			case returnRepresentation, returnMinimal, returnOutcome:
				return v
			}
		}
	}
	return def
}

// location is the version-specific URL of a stored version, relative to the
// FHIR base.
func location(res subscription.Resource) string {
	return res.Type + "/" + res.ID + "/_history/" + strconv.FormatInt(res.VersionID, 10)
}

func lastModified(res subscription.Resource) string {
	return res.LastUpdated.UTC().Format(http.TimeFormat)
}
