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
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fhirbell/fhirbell/fhir"
)

// ValidateNotification validates b as a notification Bundle of version v:
// ValidateBackportNotification for R4; for R4B and R5, which no R4 schema
// describes, the shape of the Backport IG's R4B notification profile
// (backport-subscription-notification) or of the R5 core
// subscription-notification Bundle, checked by hand:
//
//   - Bundle: resourceType, an id, an instant timestamp, type history (R4B)
//     or subscription-notification (R5); R4B entries each have request
//     {method, url} and response {status} (bdl-3, bdl-4 of a history
//     Bundle); R5 entries have no response (R5 bdl-4); no fullUrl is
//     version specific; the first entry is a SubscriptionStatus
//     (backport-notification-bundle-1, R5 bdl-13) and, in R4B, its request
//     is GET …/$status.
//   - SubscriptionStatus: only its own elements; status from
//     subscription-status; type 1..1 from subscription-notification-type;
//     eventsSinceSubscriptionStart a non-negative decimal string;
//     notificationEvent eventNumber 1..1 a positive decimal string not
//     above eventsSinceSubscriptionStart, timestamp an instant, focus and
//     additionalContext References; subscription 1..1 with a reference;
//     topic a string; error CodeableConcepts. event-notification and
//     query-event need a notificationEvent (R5 sst-1), query-status a status
//     (sst-2), event-notification an eventsSinceSubscriptionStart; either
//     every event has a focus or none has (then: no additionalContext and
//     no entry after the status).
//   - Every other entry's resource is valid R4 (the server's resources are
//     R4; only the notification envelope changes with the version).
func ValidateNotification(v fhir.Version, b []byte) error {
	if v == fhir.R4 {
		return ValidateBackportNotification(b)
	}
	_, err := validateStatusNotification(v, b)
	return err
}

// ValidateContent is ValidateNotification plus the rules of the content
// level (as ValidateBackportContent).
func ValidateContent(v fhir.Version, b []byte, content string) error {
	if v == fhir.R4 {
		return ValidateBackportContent(b, content)
	}
	n, err := validateStatusNotification(v, b)
	if err != nil {
		return err
	}
	return checkContent(n, content)
}

// MustValidVersionContent fails tb unless b is a valid notification of
// version v at the content level (ValidateContent).
func MustValidVersionContent(tb testing.TB, v fhir.Version, b []byte, content string) {
	tb.Helper()
	if err := ValidateContent(v, b, content); err != nil {
		tb.Fatalf("invalid %s %s notification: %v\n%s", content, v, err, b)
	}
}

// ValidateVersionStatusBundle validates b as the result of $status in
// version v: ValidateStatusBundle for R4; otherwise a searchset Bundle
// whose entries each hold a SubscriptionStatus (checked as in
// ValidateNotification) of type query-status, with search.mode match and
// neither request nor response.
func ValidateVersionStatusBundle(v fhir.Version, b []byte) error {
	if v == fhir.R4 {
		return ValidateStatusBundle(b)
	}
	doc, err := jsonObject(b)
	if err != nil {
		return err
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("status bundle: "+format, args...)) }
	if doc["resourceType"] != "Bundle" || doc["type"] != "searchset" {
		bad("want a searchset Bundle, got %v %v", doc["resourceType"], doc["type"])
	}
	for i, e := range objects(doc["entry"]) {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if path(e, "search", "mode") != "match" {
			bad("%s.search.mode is not match", at)
		}
		if e["request"] != nil || e["response"] != nil {
			bad("%s has request or response (searchset: bdl-3, bdl-4)", at)
		}
		res, _ := e["resource"].(map[string]any)
		st, serrs := checkSubscriptionStatus(v, res, at+".resource")
		errs = append(errs, serrs...)
		if st.typ != fhir.NotifyQueryStatus {
			bad("%s: type is %q, want query-status", at, st.typ)
		}
	}
	return errors.Join(errs...)
}

func jsonObject(b []byte) (map[string]any, error) {
	v, err := parseJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func validateStatusNotification(v fhir.Version, b []byte) (*notification, error) {
	doc, err := jsonObject(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", v, err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{v}, args...)...))
	}
	if doc["resourceType"] != "Bundle" {
		return nil, fmt.Errorf("%s: resourceType is %v, want Bundle", v, doc["resourceType"])
	}
	if id, _ := doc["id"].(string); !fhir.ValidID(id) {
		bad("Bundle.id %v is not an id", doc["id"])
	}
	if ts, _ := doc["timestamp"].(string); !isInstant(ts) {
		bad("Bundle.timestamp %v is not an instant", doc["timestamp"])
	}
	wantType := "history"
	if v == fhir.R5 {
		wantType = "subscription-notification"
	}
	if doc["type"] != wantType {
		bad("Bundle.type is %v, want %s", doc["type"], wantType)
	}
	entries := objects(doc["entry"])
	if len(entries) == 0 {
		bad("Bundle has no entry; the first must be the SubscriptionStatus")
		return nil, errors.Join(errs...)
	}
	for i, e := range entries {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if v == fhir.R4B {
			if req, ok := e["request"].(map[string]any); !ok || req["method"] == nil || req["url"] == nil {
				bad("%s.request {method, url} missing (bdl-3: every history entry needs one)", at)
			}
			if resp, ok := e["response"].(map[string]any); !ok || resp["status"] == nil {
				bad("%s.response {status} missing (bdl-4: every history entry needs one)", at)
			}
		} else if _, has := e["response"]; has {
			bad("%s.response present (R5 bdl-4: only history and response Bundles have one)", at)
		}
		if full, _ := e["fullUrl"].(string); strings.Contains(full, "/_history/") {
			bad("%s.fullUrl %q is version specific (bdl-8)", at, full)
		}
		if i > 0 {
			if res, ok := e["resource"].(map[string]any); ok {
				if err := ValidateR4(mustMarshal(res)); err != nil {
					bad("%s.resource: %v", at, err)
				}
			}
		}
	}
	if v == fhir.R4B {
		if m := path(entries[0], "request", "method"); m != "GET" {
			bad("Bundle.entry[0].request.method is %v, want GET (a $status call)", m)
		}
		if u, _ := path(entries[0], "request", "url").(string); !strings.HasSuffix(u, "/$status") {
			bad("Bundle.entry[0].request.url %q is not a $status call", u)
		}
	}
	res, _ := entries[0]["resource"].(map[string]any)
	if res == nil || res["resourceType"] != "SubscriptionStatus" {
		bad("Bundle.entry[0].resource is not a SubscriptionStatus")
		return nil, errors.Join(errs...)
	}
	st, serrs := checkSubscriptionStatus(v, res, "Bundle.entry[0].resource")
	errs = append(errs, serrs...)
	if st.typ == fhir.NotifyEvent && !st.hasSince {
		bad("type event-notification needs eventsSinceSubscriptionStart")
	}
	n := &notification{entries: entries, subscription: st.subscription}
	for _, ev := range st.events {
		if f, ok := path(ev, "focus", "reference").(string); ok {
			n.focusCount++
			n.focuses = append(n.focuses, f)
		}
	}
	// checkContent counts events only.
	n.events = st.events
	if n.focusCount > 0 && n.focusCount < len(st.events) {
		bad("%d of %d notificationEvents have a focus; a content level gives all or none one", n.focusCount, len(st.events))
	}
	if n.focusCount == 0 {
		for _, ev := range st.events {
			if ev["additionalContext"] != nil {
				bad("notificationEvent has additionalContext but no focus (empty content allows neither)")
				break
			}
		}
		if len(st.events) > 0 && len(entries) > 1 {
			bad("events without focus (empty content) but %d entries after the status entry", len(entries)-1)
		}
	}
	return n, errors.Join(errs...)
}

// subscriptionStatusElements are the elements of an R4B or R5
// SubscriptionStatus (DomainResource elements included).
var subscriptionStatusElements = []string{
	"resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
	"status", "type", "eventsSinceSubscriptionStart", "notificationEvent", "subscription", "topic", "error",
}

var statusCodesR5 = []string{"requested", "active", "error", "off", "entered-in-error"}

// checkSubscriptionStatus checks an R4B or R5 SubscriptionStatus.
func checkSubscriptionStatus(v fhir.Version, res map[string]any, at string) (statusInfo, []error) {
	var st statusInfo
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: "+format, append([]any{v, at}, args...)...))
	}
	if res == nil || res["resourceType"] != "SubscriptionStatus" {
		bad("not a SubscriptionStatus")
		return st, errs
	}
	for k := range res {
		if !slices.Contains(subscriptionStatusElements, k) {
			bad("unknown element %q", k)
		}
	}
	if s, has := res["status"]; has {
		if c, _ := s.(string); !slices.Contains(statusCodesR5, c) {
			bad("status %v is not a subscription-status code", s)
		}
	} else if res["type"] == fhir.NotifyQueryStatus {
		bad("query-status without status (sst-2)")
	}
	st.typ, _ = res["type"].(string)
	if !slices.Contains(notificationTypes, st.typ) {
		bad("type %v is not a subscription-notification-type code", res["type"])
	}
	since := int64(-1)
	if s, has := res["eventsSinceSubscriptionStart"]; has {
		st.hasSince = true
		str, _ := s.(string)
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != str {
			bad("eventsSinceSubscriptionStart %v is not a non-negative decimal string", s)
		} else {
			since = n
		}
	}
	st.subscription, _ = path(res, "subscription", "reference").(string)
	if st.subscription == "" {
		bad("subscription.reference missing (subscription is 1..1)")
	}
	if t, has := res["topic"]; has {
		if _, ok := t.(string); !ok {
			bad("topic %v is not a canonical", t)
		}
	}
	for i, e := range objects(res["error"]) {
		if e["coding"] == nil && e["text"] == nil {
			bad("error[%d] is an empty CodeableConcept", i)
		}
	}
	rawEvents, _ := res["notificationEvent"].([]any)
	st.events = objects(res["notificationEvent"])
	if len(st.events) != len(rawEvents) {
		bad("notificationEvent holds a non-object")
	}
	if (st.typ == fhir.NotifyEvent || st.typ == fhir.NotifyQueryEvent) && len(st.events) == 0 {
		bad("type %s needs a notificationEvent (sst-1)", st.typ)
	}
	for i, ev := range st.events {
		evAt := fmt.Sprintf("notificationEvent[%d]", i)
		for k := range ev {
			switch k {
			case "id", "extension", "modifierExtension", "eventNumber", "timestamp", "focus", "additionalContext":
			default:
				bad("%s: unknown element %q", evAt, k)
			}
		}
		s, _ := ev["eventNumber"].(string)
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil || n < 1 || strconv.FormatInt(n, 10) != s:
			bad("%s.eventNumber %v is not a positive decimal string", evAt, ev["eventNumber"])
		case since >= 0 && n > since:
			bad("%s.eventNumber %d exceeds eventsSinceSubscriptionStart %d", evAt, n, since)
		}
		if ts, has := ev["timestamp"]; has {
			if s, _ := ts.(string); !isInstant(s) {
				bad("%s.timestamp %v is not an instant", evAt, ts)
			}
		}
		if f, has := ev["focus"]; has {
			if r, _ := path(f, "reference").(string); r == "" {
				bad("%s.focus has no reference", evAt)
			}
		}
		for j, c := range objects(ev["additionalContext"]) {
			if r, _ := c["reference"].(string); r == "" {
				bad("%s.additionalContext[%d] has no reference", evAt, j)
			}
		}
	}
	return st, errs
}

func isInstant(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && strings.Contains(s, "T")
}

// parseJSON decodes b as one JSON value, numbers kept as json.Number.
func parseJSON(b []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
