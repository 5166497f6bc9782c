package fhirtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/validate"
)

// ValidateR4 validates b, one resource in R4 JSON, against the R4 JSON
// schema definition of its resourceType, and rejects duplicate properties.
// Nested resources (Bundle entries, contained, parameter.resource) are
// validated against the definition of their own resourceType.
func ValidateR4(b []byte) error {
	if err := validate.Resource(b); err != nil {
		return fmt.Errorf("r4: %w", err)
	}
	return nil
}

// parse decodes b as one JSON value, numbers kept as json.Number, after
// ValidateR4 checked it.
func parse(b []byte) (any, error) {
	if err := ValidateR4(b); err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// ValidateBackportNotification validates b as an R4 Subscriptions Backport
// IG notification Bundle whatever its content level: ValidateR4, then the
// rules of the backport-subscription-notification-r4 and
// backport-subscription-status-r4 profiles, the history Bundle invariants
// and the notification-type rules. A schema violation is reported alone;
// otherwise every violation found is reported, joined.
//
// Checked: Bundle.type history; entry[0].resource a Parameters; every entry
// has request and response (bdl-3, bdl-4); no fullUrl is version specific
// (bdl-8); the status entry's request is GET …/$status; the status
// parameters' cardinalities and value types (subscription 1..1
// valueReference, topic 0..1 valueCanonical, status 1..1 and type 1..1
// valueCode from their value sets, events-since-subscription-start 0..1
// decimal valueString, notification-event parts event-number 1..1,
// timestamp 0..1 valueInstant, focus 0..1 and additional-context 0..*
// valueReference, error valueCodeableConcept); event-notification and
// query-event need a notification-event; event-notification and
// query-status need events-since-subscription-start; no event number
// exceeds it; either every event has a focus (id-only, full-resource) or
// none has, and then (empty) there is no additional-context and no entry
// after the first.
func ValidateBackportNotification(b []byte) error {
	_, err := validateNotification(b)
	return err
}

// ValidateBackportContent is ValidateBackportNotification plus the rules of
// the given content level: empty has no focus, no additional-context and no
// entry after the status; id-only and full-resource have a focus on every
// event and a fullUrl on every entry; id-only entries have no resource;
// full-resource has an entry for every focus on the server.
func ValidateBackportContent(b []byte, content string) error {
	n, err := validateNotification(b)
	if err != nil {
		return err
	}
	return checkContent(n, content)
}

// checkContent checks a valid notification of any version against the
// rules of its content level.
func checkContent(n *notification, content string) error {
	if !fhir.ValidContent(content) {
		return fmt.Errorf("backport: unknown content level %q", content)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("backport "+content+": "+format, args...))
	}
	entries := n.entries
	switch content {
	case fhir.ContentEmpty:
		if n.focusCount > 0 {
			bad("notification-event has a focus")
		}
		if len(entries) > 1 {
			bad("Bundle has %d entries after the status entry, want none", len(entries)-1)
		}
	default:
		if n.focusCount != len(n.events) {
			bad("%d of %d notification-events lack a focus", len(n.events)-n.focusCount, len(n.events))
		}
		fullUrls := map[string]bool{}
		for i, e := range entries[1:] {
			full, _ := e["fullUrl"].(string)
			if full == "" {
				bad("Bundle.entry[%d] has no fullUrl", i+1)
			}
			fullUrls[full] = true
			if _, has := e["resource"]; has && content == fhir.ContentIDOnly {
				bad("Bundle.entry[%d] has a resource", i+1)
			}
		}
		if content == fhir.ContentFullResource {
			base := n.base()
			for _, f := range n.focuses {
				if i := strings.Index(f, "/_history/"); i >= 0 {
					f = f[:i] // fullUrl is never version specific (bdl-8)
				}
				if base != "" && strings.HasPrefix(f, base+"/") && !fullUrls[f] {
					bad("no entry for focus %s", f)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateStatusBundle validates b as the result of $status: ValidateR4, a
// searchset Bundle whose entries each hold a status Parameters (checked as
// in ValidateBackportNotification) of type query-status, with search.mode
// match and neither request nor response (bdl-3, bdl-4).
func ValidateStatusBundle(b []byte) error {
	v, err := parse(b)
	if err != nil {
		return fmt.Errorf("status bundle: %w", err)
	}
	bundle := v.(map[string]any)
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("status bundle: "+format, args...)) }
	if rt := bundle["resourceType"]; rt != "Bundle" {
		return fmt.Errorf("status bundle: resourceType is %v, want Bundle", rt)
	}
	if t := bundle["type"]; t != "searchset" {
		bad("Bundle.type is %v, want searchset", t)
	}
	entries := objects(bundle["entry"])
	if total, ok := bundle["total"].(json.Number); ok && total.String() != strconv.Itoa(len(entries)) {
		bad("Bundle.total is %s but there are %d entries", total, len(entries))
	}
	for i, e := range entries {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if _, has := e["request"]; has {
			bad("%s.request present in a searchset (bdl-3)", at)
		}
		if _, has := e["response"]; has {
			bad("%s.response present in a searchset (bdl-4)", at)
		}
		if mode := path(e, "search", "mode"); mode != "match" {
			bad("%s.search.mode is %v, want match", at, mode)
		}
		res, _ := e["resource"].(map[string]any)
		if res["resourceType"] != "Parameters" {
			bad("%s.resource is not a Parameters", at)
			continue
		}
		st, perrs := checkStatusParams(res, at+".resource")
		errs = append(errs, perrs...)
		if st.typ != "" && st.typ != fhir.NotifyQueryStatus {
			bad("%s: type is %s, want query-status", at, st.typ)
		}
	}
	return errors.Join(errs...)
}

// MustValidNotification fails tb unless b is a valid Backport notification
// Bundle (ValidateBackportNotification).
func MustValidNotification(tb testing.TB, b []byte) {
	tb.Helper()
	if err := ValidateBackportNotification(b); err != nil {
		tb.Fatalf("invalid backport notification: %v\n%s", err, b)
	}
}

// MustValidContent fails tb unless b is a valid Backport notification
// Bundle at the given content level (ValidateBackportContent).
func MustValidContent(tb testing.TB, b []byte, content string) {
	tb.Helper()
	if err := ValidateBackportContent(b, content); err != nil {
		tb.Fatalf("invalid %s backport notification: %v\n%s", content, err, b)
	}
}

// MustValidR4 fails tb unless b is a valid R4 resource (ValidateR4).
func MustValidR4(tb testing.TB, b []byte) {
	tb.Helper()
	if err := ValidateR4(b); err != nil {
		tb.Fatalf("invalid R4 resource: %v\n%s", err, b)
	}
}

// notification is what validateNotification learned of a valid
// notification, for the content-level checks.
type notification struct {
	entries      []map[string]any
	events       []map[string]any
	focusCount   int
	focuses      []string
	subscription string
}

// base guesses the server base from the subscription URL
// (<base>/Subscription/<id>).
func (n *notification) base() string {
	if i := strings.LastIndex(n.subscription, "/Subscription/"); i > 0 {
		return n.subscription[:i]
	}
	return ""
}

func validateNotification(b []byte) (*notification, error) {
	v, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("backport: %w", err)
	}
	bundle := v.(map[string]any)
	if rt := bundle["resourceType"]; rt != "Bundle" {
		return nil, fmt.Errorf("backport: resourceType is %v, want Bundle", rt)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("backport: "+format, args...)) }
	if t := bundle["type"]; t != "history" {
		bad("Bundle.type is %v, want history", t)
	}
	entries := objects(bundle["entry"])
	if len(entries) == 0 {
		bad("Bundle has no entry; the first must be the status Parameters")
		return nil, errors.Join(errs...)
	}
	for i, e := range entries {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if _, has := e["request"]; !has {
			bad("%s.request missing (bdl-3: every history entry needs one)", at)
		}
		if _, has := e["response"]; !has {
			bad("%s.response missing (bdl-4: every history entry needs one)", at)
		}
		// The schema cannot require primitives (they may sit in _method
		// and the like), so the 1..1 request and response members are
		// checked here.
		if req, ok := e["request"].(map[string]any); ok && (req["method"] == nil || req["url"] == nil) {
			bad("%s.request needs method and url", at)
		}
		if resp, ok := e["response"].(map[string]any); ok && resp["status"] == nil {
			bad("%s.response needs status", at)
		}
		if full, _ := e["fullUrl"].(string); strings.Contains(full, "/_history/") {
			bad("%s.fullUrl %q is version specific (bdl-8)", at, full)
		}
	}
	first := entries[0]
	res, _ := first["resource"].(map[string]any)
	if res == nil || res["resourceType"] != "Parameters" {
		bad("Bundle.entry[0].resource is not a Parameters (backport-notification-bundle-r4-1)")
		return nil, errors.Join(errs...)
	}
	if m := path(first, "request", "method"); m != nil && m != "GET" {
		bad("Bundle.entry[0].request.method is %v, want GET (a $status call)", m)
	}
	if u, _ := path(first, "request", "url").(string); u != "" && !strings.HasSuffix(u, "/$status") {
		bad("Bundle.entry[0].request.url %q is not a $status call", u)
	}
	st, perrs := checkStatusParams(res, "Bundle.entry[0].resource")
	errs = append(errs, perrs...)
	n := &notification{entries: entries, events: st.events, subscription: st.subscription}
	switch st.typ {
	case fhir.NotifyEvent, fhir.NotifyQueryEvent:
		if len(st.events) == 0 {
			bad("type %s needs a notification-event", st.typ)
		}
	}
	switch st.typ {
	case fhir.NotifyEvent, fhir.NotifyQueryStatus:
		if !st.hasSince {
			bad("type %s needs events-since-subscription-start", st.typ)
		}
	}
	for _, ev := range st.events {
		if f, ok := path(partNamed(ev, "focus"), "valueReference", "reference").(string); ok {
			n.focusCount++
			n.focuses = append(n.focuses, f)
		}
	}
	if n.focusCount > 0 && n.focusCount < len(st.events) {
		bad("%d of %d notification-events have a focus; a content level gives all or none one", n.focusCount, len(st.events))
	}
	if n.focusCount == 0 {
		// Without focus this can only be empty content.
		for _, ev := range st.events {
			if len(partsNamed(ev, "additional-context")) > 0 {
				bad("notification-event has additional-context but no focus (empty content allows neither)")
				break
			}
		}
		if len(st.events) > 0 && len(entries) > 1 {
			bad("events without focus (empty content) but %d entries after the status entry", len(entries)-1)
		}
	}
	return n, errors.Join(errs...)
}

// statusInfo is what checkStatusParams learned.
type statusInfo struct {
	typ          string
	subscription string
	hasSince     bool
	events       []map[string]any
}

var (
	subscriptionStatuses = []string{"requested", "active", "error", "off"}
	notificationTypes    = []string{"handshake", "heartbeat", "event-notification", "query-status", "query-event"}
)

// checkStatusParams checks a Parameters against the
// backport-subscription-status-r4 profile. The R4 schema has already
// checked each value's type, so a missing value[x] is the only type problem
// left to find.
func checkStatusParams(p map[string]any, at string) (statusInfo, []error) {
	var st statusInfo
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("backport: %s: "+format, append([]any{at}, args...)...))
	}
	params := objects(p["parameter"])
	for i, q := range params {
		if _, ok := q["name"].(string); !ok {
			bad("parameter[%d] has no name", i)
		}
		for j, part := range objects(q["part"]) {
			if _, ok := part["name"].(string); !ok {
				bad("parameter[%d].part[%d] has no name", i, j)
			}
		}
	}
	count := func(name string) int {
		n := 0
		for _, q := range params {
			if q["name"] == name {
				n++
			}
		}
		return n
	}
	// The status profile slices parameter by name with these cardinalities.
	for _, c := range []struct {
		name     string
		min, max int
		value    string
	}{
		{"subscription", 1, 1, "valueReference"},
		{"topic", 0, 1, "valueCanonical"},
		{"status", 1, 1, "valueCode"},
		{"type", 1, 1, "valueCode"},
		{"events-since-subscription-start", 0, 1, "valueString"},
		{"notification-event", 0, -1, ""},
		{"error", 0, -1, "valueCodeableConcept"},
	} {
		n := count(c.name)
		if n < c.min || (c.max >= 0 && n > c.max) {
			want := fmt.Sprintf("%d..%d", c.min, c.max)
			if c.max < 0 {
				want = fmt.Sprintf("%d..*", c.min)
			}
			bad("parameter %q occurs %d times, want %s", c.name, n, want)
		}
		for _, q := range params {
			if q["name"] != c.name {
				continue
			}
			if c.value != "" {
				if _, ok := q[c.value]; !ok {
					bad("parameter %q has no %s", c.name, c.value)
				}
			} else if _, ok := q["part"]; !ok {
				bad("parameter %q has no part", c.name)
			}
		}
	}
	for _, q := range params {
		switch q["name"] {
		case "subscription":
			st.subscription, _ = path(q, "valueReference", "reference").(string)
			if st.subscription == "" {
				bad("parameter \"subscription\" has no valueReference.reference")
			}
		case "status":
			if s, _ := q["valueCode"].(string); !slices.Contains(subscriptionStatuses, s) {
				bad("status %q is not an R4 subscription-status code", s)
			}
		case "type":
			st.typ, _ = q["valueCode"].(string)
			if !slices.Contains(notificationTypes, st.typ) {
				bad("type %q is not a subscription-notification-type code", st.typ)
			}
		case "events-since-subscription-start":
			st.hasSince = true
		case "notification-event":
			st.events = append(st.events, q)
		}
	}
	since := int64(-1)
	for _, q := range params {
		if q["name"] == "events-since-subscription-start" {
			s, _ := q["valueString"].(string)
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
				bad("events-since-subscription-start %q is not a non-negative decimal", s)
			} else {
				since = n
			}
		}
	}
	for i, ev := range st.events {
		evAt := fmt.Sprintf("notification-event[%d]", i)
		for _, c := range []struct {
			name     string
			min, max int
			value    string
		}{
			{"event-number", 1, 1, "valueString"},
			{"timestamp", 0, 1, "valueInstant"},
			{"focus", 0, 1, "valueReference"},
			{"additional-context", 0, -1, "valueReference"},
		} {
			parts := partsNamed(ev, c.name)
			if len(parts) < c.min || (c.max >= 0 && len(parts) > c.max) {
				bad("%s part %q occurs %d times", evAt, c.name, len(parts))
			}
			for _, part := range parts {
				if _, ok := part[c.value]; !ok {
					bad("%s part %q has no %s", evAt, c.name, c.value)
				}
			}
		}
		if num := partNamed(ev, "event-number"); num != nil {
			s, _ := num["valueString"].(string)
			n, err := strconv.ParseInt(s, 10, 64)
			switch {
			case err != nil || n < 1 || strconv.FormatInt(n, 10) != s:
				bad("%s event-number %q is not a positive decimal", evAt, s)
			case since >= 0 && n > since:
				bad("%s event-number %d exceeds events-since-subscription-start %d", evAt, n, since)
			}
		}
	}
	return st, errs
}

// objects returns v's elements that are JSON objects, v being a JSON array.
func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// path walks nested objects by key; nil when any step is missing.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func partsNamed(param map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, p := range objects(param["part"]) {
		if p["name"] == name {
			out = append(out, p)
		}
	}
	return out
}

func partNamed(param map[string]any, name string) map[string]any {
	if ps := partsNamed(param, name); len(ps) > 0 {
		return ps[0]
	}
	return nil
}
