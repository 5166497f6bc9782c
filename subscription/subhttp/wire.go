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

// encode is fhir.Marshal(b), members in the same order, without the second
// pass encoding/json makes over every json.RawMessage it writes (a full
// validation and compaction, most of the cost of a 1,000-entry page). The
// resources are spliced in as they are: they are bodies a store kept in the
// compact wire layout, or documents this package encoded.
func (b *bundle) encode() ([]byte, error) {
	head := *b
	head.Entry = nil
	out, err := fhir.Marshal(&head)
	if err != nil || len(b.Entry) == 0 {
		return out, err
	}
	n := len(out) + len(`,"entry":[]`)
	for _, e := range b.Entry {
		n += len(e.FullURL) + len(e.Resource) + 64
	}
	buf := make([]byte, 0, n)
	buf = append(buf, out[:len(out)-1]...) // all but the closing brace
	buf = append(buf, `,"entry":[`...)
	for i := range b.Entry {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = b.Entry[i].appendJSON(buf); err != nil {
			return nil, err
		}
	}
	return append(buf, "]}"...), nil
}

// appendJSON appends the entry as fhir.Marshal would encode it.
func (e *bundleEntry) appendJSON(buf []byte) ([]byte, error) {
	buf = append(buf, '{')
	first := true
	sep := func() { // before each member but the first
		if !first {
			buf = append(buf, ',')
		}
		first = false
	}
	if e.FullURL != "" {
		sep()
		buf = appendJSONString(append(buf, `"fullUrl":`...), e.FullURL)
	}
	if len(e.Resource) > 0 {
		sep()
		buf = append(append(buf, `"resource":`...), e.Resource...)
	}
	switch {
	case e.Request == nil && e.Response == nil && e.Search != nil:
		// A search entry, the one kind a page holds by the thousand.
		sep()
		buf = appendJSONString(append(buf, `"search":{"mode":`...), e.Search.Mode)
		buf = append(buf, '}')
	case e.Search != nil || e.Request != nil || e.Response != nil:
		tail, err := fhir.Marshal(&bundleEntry{Search: e.Search, Request: e.Request, Response: e.Response})
		if err != nil {
			return nil, err
		}
		sep()
		buf = append(buf, tail[1:len(tail)-1]...) // its members, without the braces
	}
	return append(buf, '}'), nil
}

// appendJSONString appends s as a JSON string the way fhir.Marshal writes
// it: printable ASCII other than quote and backslash as it is (the URLs and
// codes of an entry), anything else through the encoder.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := fhir.Marshal(s) // a string always encodes
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
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
