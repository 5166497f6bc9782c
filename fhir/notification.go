package fhir

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Canonical URLs used in R4 Subscriptions Backport IG notifications.
const (
	// BackportNotificationProfile is the Backport IG profile of the R4
	// notification Bundle (a history Bundle whose first entry is the status
	// Parameters).
	BackportNotificationProfile = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4"
	// BackportStatusProfile is the Backport IG profile of the status
	// Parameters, the R4 stand-in for the R5 SubscriptionStatus.
	BackportStatusProfile = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4"
	// SubscriptionErrorSystem is the code system of Subscription error codes
	// (no-response, …) used in the status error parameter.
	SubscriptionErrorSystem = "http://terminology.hl7.org/CodeSystem/subscription-error"
	// AuthExpiresURL is fhirbell's extension, carried in the status
	// Parameters' meta.extension as a valueInstant, telling a socket client
	// when the authorization behind its binding expires.
	AuthExpiresURL = "https://fhirbell.dev/fhir/StructureDefinition/auth-expires"
	// AccessTokenURL is fhirbell's extension (valueString) in the
	// meta.extension of a Bundle a socket client sends to re-authenticate
	// in band.
	AccessTokenURL = "https://fhirbell.dev/fhir/StructureDefinition/access-token"
)

// Payload content levels (Backport IG backport-content-code-system).
const (
	// ContentEmpty notifications carry only the status entry, without focus
	// or additional context.
	ContentEmpty = "empty"
	// ContentIDOnly notifications name the focus and carry one entry per
	// event with fullUrl, request and response but no resource.
	ContentIDOnly = "id-only"
	// ContentFullResource notifications carry the focus resource itself.
	ContentFullResource = "full-resource"
)

// ValidContent reports whether s is a payload content level code.
func ValidContent(s string) bool {
	return s == ContentEmpty || s == ContentIDOnly || s == ContentFullResource
}

// Notification types (subscription-notification-type), the value of the
// status Parameters' type parameter.
const (
	// NotifyHandshake is sent when a channel (a socket binding) is set up.
	NotifyHandshake = "handshake"
	// NotifyHeartbeat is sent when a binding has been quiet for its
	// heartbeat period.
	NotifyHeartbeat = "heartbeat"
	// NotifyEvent carries one or more events (code "event-notification").
	NotifyEvent = "event-notification"
	// NotifyQueryStatus answers a status query ($status, in-band
	// re-authentication).
	NotifyQueryStatus = "query-status"
	// NotifyQueryEvent answers an event query ($events).
	NotifyQueryEvent = "query-event"
)

// ValidNotificationType reports whether s is a subscription-notification-type
// code.
func ValidNotificationType(s string) bool {
	switch s {
	case NotifyHandshake, NotifyHeartbeat, NotifyEvent, NotifyQueryStatus, NotifyQueryEvent:
		return true
	}
	return false
}

// validSubscriptionStatus reports whether s is an R4 subscription-status code.
// R4 has no entered-in-error.
func validSubscriptionStatus(s string) bool {
	switch s {
	case "requested", "active", "error", "off":
		return true
	}
	return false
}

// Reference is an R4 Reference reduced to what notifications use.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Coding is an R4 Coding reduced to system, code and display.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is an R4 CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Extension is an R4 Extension with one of the two value types fhirbell
// uses. Exactly one of ValueInstant and ValueString must be set.
type Extension struct {
	URL          string `json:"url"`
	ValueInstant string `json:"valueInstant,omitempty"`
	ValueString  string `json:"valueString,omitempty"`
}

// AuthExpires returns the auth-expires extension for the instant t.
func AuthExpires(t time.Time) Extension {
	return Extension{URL: AuthExpiresURL, ValueInstant: FormatInstant(t)}
}

// NotificationEvent is one event of a Subscription, as the notification-event
// parameter of the status Parameters and, for id-only and full-resource
// content, one Bundle entry.
type NotificationEvent struct {
	// Number is the event's number in its Subscription's sequence (from 1).
	Number int64
	// Timestamp is when the event happened; the zero time omits it.
	Timestamp time.Time
	// Focus is the changed resource: "Type/id" relative to the server base,
	// or an absolute URL. Nil is allowed only for empty content.
	Focus *Reference
	// AdditionalContext lists related resources, written as references only.
	AdditionalContext []Reference
	// Method is how the focus changed: POST (created), PUT or PATCH
	// (updated), DELETE (deleted); GET or "" when unknown. It becomes the
	// entry's request.method.
	Method string
	// Resource is the focus snapshot for full-resource content; it is
	// ignored for other content levels and for DELETE.
	Resource json.RawMessage
}

// Status is the status of one Subscription at notification time: the content
// of the status Parameters.
type Status struct {
	// Subscription is the Subscription's absolute URL (a "Subscription/id"
	// relative reference is resolved against the base).
	Subscription string
	// Topic is the SubscriptionTopic canonical, or "".
	Topic string
	// Status is the R4 subscription status: requested, active, error, off.
	Status string
	// Type is the notification type (NotifyHandshake, …).
	Type string
	// EventsSinceStart counts the Subscription's events so far, including
	// those in this notification.
	EventsSinceStart int64
	// Events are the notification-event parameters, in order.
	Events []NotificationEvent
	// Errors are the Subscription's current errors.
	Errors []CodeableConcept
	// Extensions go into the status Parameters' meta.extension (see
	// BackportNotification for why there).
	Extensions []Extension
	// Parameters are further entries of the status Parameters, after the
	// IG's, each one complete Parameters.parameter JSON object (the IG's
	// slicing is open). fhirbell's $status lists the cluster's bindings
	// this way. The R4B and R5 SubscriptionStatus have no place for
	// them and leave them out.
	Parameters []json.RawMessage
	// Relative keeps the SubscriptionStatus's references to resources on
	// this server relative ("Subscription/id", "Observation/id") in the R4B
	// and R5 shapes, as Medplum's server writes them: Medplum's
	// SubscriptionManager takes the id of subscription.reference as its
	// second path segment, which an absolute URL does not have. R4 ignores
	// it; fullUrl and request.url stay absolute.
	Relative bool
}

// BackportNotification returns the R4 Backport IG notification Bundle for st
// at the given payload content level: a history Bundle with id (a random
// UUID when empty) and timestamp now, whose first entry is the status
// Parameters. base is the server's absolute base URL; relative references
// are resolved against it.
//
// Shape, and why:
//   - The Bundle carries meta.profile backport-subscription-notification-r4
//     and the status Parameters backport-subscription-status-r4. The
//     Parameters' id is a UUID (version 5) derived from the Bundle id, and
//     its entry's fullUrl is urn:uuid:<that UUID>, so the output is a pure
//     function of the arguments.
//   - A history Bundle needs entry.request and entry.response on every entry
//     (bdl-3, bdl-4). The status entry's request is GET <subscription>/$status
//     with response 200, as the IG requires.
//   - Parameters is an R4 Resource, not a DomainResource: it has no
//     extension element, and the R4 JSON schema rejects one. Extensions
//     (auth-expires) therefore go in Parameters.meta.extension, which is
//     valid R4 (Meta is an Element) and leaves the IG's parameter slices
//     alone.
//   - Parameters are written in the IG order: subscription, topic, status,
//     type, events-since-subscription-start, notification-event*, error*.
//     Counters are decimal strings (valueString), as R4 lacks integer64.
//   - topic is omitted for empty content (the IG: SHOULD NOT, it may be PHI)
//     and included otherwise when st.Topic is set.
//   - empty: no focus, no additional-context, no entry after the status.
//   - id-only and full-resource: every event needs a focus, written as an
//     absolute URL. Each event whose focus is a resource on this server
//     (relative, or under base) gets one entry: fullUrl the absolute
//     unversioned URL, request {method, url} with url "Type" for POST and
//     "Type/id" otherwise, response status 201 for POST, 204 for DELETE and
//     200 otherwise. full-resource adds the snapshot as entry.resource,
//     except for DELETE or when the event has no snapshot (the IG allows
//     request/response alone when a resource cannot be included). Foreign
//     focus URLs are references only.
//   - Additional context is listed (additional-context, as references) for
//     id-only content only. A full-resource Bundle SHALL carry an entry for
//     each resource relevant to the notification, and the context
//     resources are not at hand when a notification is written (they are
//     not part of the event, and reading them would be a read per
//     notification under the subscriber's authorization); so full-resource
//     leaves them out rather than name resources it does not carry (the IG
//     lets additional context be omitted; Inferno's full-resource check
//     requires an entry for each one named).
//   - Two events on the same resource keep two entries: a history Bundle
//     records interactions, and bdl-7 (unique fullUrl) exempts history
//     Bundles.
//
// The error reports a caller bug: unknown content, type or status, an
// invalid id or base, a missing subscription or focus, event numbers out of
// range, or a snapshot that is not a JSON object.
func BackportNotification(st Status, content string, base string, id string, now time.Time) ([]byte, error) {
	return AppendBackportNotification(nil, st, content, base, id, now)
}

// AppendBackportNotification is BackportNotification appending to dst, so
// that a sender can reuse one buffer across notifications. On error it
// returns dst unchanged.
func AppendBackportNotification(dst []byte, st Status, content string, base string, id string, now time.Time) ([]byte, error) {
	return AppendNotification(dst, R4, st, content, base, id, now)
}

// AppendNotification appends the notification Bundle for st in version v's
// wire shape; for R4 it is AppendBackportNotification. The R4B and R5
// shapes differ from R4's only in these ways (the content rules, entries,
// ids and order are the same):
//   - the first entry holds a SubscriptionStatus resource (R4B: the Backport
//     IG's backport-subscription-notification profile; R5: core), with the
//     counters as JSON strings (R4B string, R5 integer64) and extensions in
//     SubscriptionStatus.extension (a DomainResource may carry them);
//   - R5 Bundles are of type subscription-notification, not history, and
//     carry no profile; R5 prohibits entry.response outside history and
//     response Bundles (bdl-4), so R5 entries have none, and the status
//     entry no request either (the R5 examples have none).
func AppendNotification(dst []byte, v Version, st Status, content string, base string, id string, now time.Time) ([]byte, error) {
	base, err := checkBase(base)
	if err != nil {
		return dst, err
	}
	if !ValidContent(content) {
		return dst, fmt.Errorf("backport notification: unknown content %q", content)
	}
	if err := checkStatus(&st, content); err != nil {
		return dst, err
	}
	if id == "" {
		id = uuid.NewString()
	} else if !ValidID(id) {
		return dst, fmt.Errorf("backport notification: invalid bundle id %q", id)
	}
	if now.IsZero() {
		return dst, errors.New("backport notification: zero timestamp")
	}

	start := len(dst)
	dst = slices.Grow(dst, sizeHint(&st, content))
	dst = append(dst, `{"resourceType":"Bundle","id":`...)
	dst = appendString(dst, id)
	switch v {
	case R4:
		dst = append(dst, `,"meta":{"profile":["`+BackportNotificationProfile+`"]},"type":"history","timestamp":"`...)
	case R4B:
		dst = append(dst, `,"meta":{"profile":["`+BackportNotificationProfileR4B+`"]},"type":"history","timestamp":"`...)
	default:
		dst = append(dst, `,"type":"subscription-notification","timestamp":"`...)
	}
	dst = appendInstant(dst, now)
	dst = append(dst, `","entry":[{"fullUrl":"urn:uuid:`...)
	var u [36]byte
	statusUUID(&u, id, -1)
	dst = append(dst, u[:]...)
	dst = append(dst, `","resource":`...)
	if v == R4 {
		dst = appendStatusParams(dst, &st, content, base, u[:])
	} else {
		dst = appendSubscriptionStatus(dst, &st, content, base, u[:])
	}
	if v != R5 {
		dst = append(dst, `,"request":{"method":"GET","url":"`...)
		dst = appendAbsoluteBody(dst, base, st.Subscription)
		dst = append(dst, `/$status"`...)
		dst = append(dst, `},"response":{"status":"200"}`...)
	}
	dst = append(dst, '}')

	if content != ContentEmpty {
		for i := range st.Events {
			ev := &st.Events[i]
			rel, ok := localRef(base, ev.Focus.Reference)
			if !ok {
				continue
			}
			method := ev.Method
			if method == "" {
				method = "GET"
			}
			dst = append(dst, `,{"fullUrl":"`...)
			dst = appendAbsoluteBody(dst, base, rel)
			dst = append(dst, '"')
			if content == ContentFullResource && method != "DELETE" && len(ev.Resource) > 0 {
				dst = append(dst, `,"resource":`...)
				n := len(dst)
				buf := bytes.NewBuffer(dst)
				// WireResource: an event logged before bodies kept their
				// layout (Postgres jsonb) goes out like every other resource.
				if err := json.Compact(buf, WireResource(ev.Resource)); err != nil {
					return dst[:start], fmt.Errorf("backport notification: event %d resource: %w", ev.Number, err)
				}
				dst = buf.Bytes()
				if dst[n] != '{' {
					return dst[:start], fmt.Errorf("backport notification: event %d resource is not a JSON object", ev.Number)
				}
			}
			dst = append(dst, `,"request":{"method":"`...)
			dst = append(dst, method...)
			dst = append(dst, `","url":`...)
			if method == "POST" {
				typ, _, _ := strings.Cut(rel, "/")
				dst = appendString(dst, typ)
			} else {
				dst = appendString(dst, rel)
			}
			if v == R5 {
				dst = append(dst, `}}`...)
				continue
			}
			dst = append(dst, `},"response":{"status":"`...)
			switch method {
			case "POST":
				dst = append(dst, "201"...)
			case "DELETE":
				dst = append(dst, "204"...)
			default:
				dst = append(dst, "200"...)
			}
			dst = append(dst, `"}}`...)
		}
	}
	dst = append(dst, "]}"...)
	return dst, nil
}

// StatusBundle returns the result of the $status operation: a searchset
// Bundle with id (a random UUID when empty), timestamp now and total, holding
// one status Parameters per Subscription, each in an entry with fullUrl
// urn:uuid:<UUID derived from id and position> and search.mode "match". The
// Backport IG defines $status's return as a searchset Bundle (R5 $status
// likewise), and a searchset forbids entry.request and entry.response
// (bdl-3, bdl-4), so entries have neither.
//
// Each status's Type must be NotifyQueryStatus or "" (meaning
// NotifyQueryStatus). topic is written when set. Events are written with
// their focus (as for id-only content); pass none to report the status
// alone. The error reports a caller bug, as for BackportNotification.
func StatusBundle(statuses []Status, base, id string, now time.Time) ([]byte, error) {
	return VersionStatusBundle(R4, statuses, base, id, now)
}

// VersionStatusBundle is StatusBundle in version v's wire shape: for R4B and
// R5 each entry holds a SubscriptionStatus (as in AppendNotification)
// instead of the status Parameters.
func VersionStatusBundle(v Version, statuses []Status, base, id string, now time.Time) ([]byte, error) {
	base, err := checkBase(base)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = uuid.NewString()
	} else if !ValidID(id) {
		return nil, fmt.Errorf("status bundle: invalid bundle id %q", id)
	}
	if now.IsZero() {
		return nil, errors.New("status bundle: zero timestamp")
	}
	size := 200
	for i := range statuses {
		size += sizeHint(&statuses[i], ContentIDOnly)
	}
	dst := make([]byte, 0, size)
	dst = append(dst, `{"resourceType":"Bundle","id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"type":"searchset","timestamp":"`...)
	dst = appendInstant(dst, now)
	dst = append(dst, `","total":`...)
	dst = strconv.AppendInt(dst, int64(len(statuses)), 10)
	if len(statuses) > 0 {
		dst = append(dst, `,"entry":[`...)
	}
	var u [36]byte
	for i, st := range statuses {
		if st.Type == "" {
			st.Type = NotifyQueryStatus
		}
		if st.Type != NotifyQueryStatus {
			return nil, fmt.Errorf("status bundle: status %d has type %q, want %q", i, st.Type, NotifyQueryStatus)
		}
		if err := checkStatus(&st, ContentIDOnly); err != nil {
			return nil, fmt.Errorf("status bundle: status %d: %w", i, err)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		statusUUID(&u, id, i)
		dst = append(dst, `{"fullUrl":"urn:uuid:`...)
		dst = append(dst, u[:]...)
		dst = append(dst, `","resource":`...)
		if v == R4 {
			dst = appendStatusParams(dst, &st, ContentIDOnly, base, u[:])
		} else {
			dst = appendSubscriptionStatus(dst, &st, ContentIDOnly, base, u[:])
		}
		dst = append(dst, `,"search":{"mode":"match"}}`...)
	}
	if len(statuses) > 0 {
		dst = append(dst, ']')
	}
	dst = append(dst, '}')
	return dst, nil
}

// checkBase checks that base is an absolute http(s) URL and trims any
// trailing slash.
func checkBase(base string) (string, error) {
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return "", fmt.Errorf("notification: base %q is not an absolute http(s) URL", base)
	}
	return strings.TrimRight(base, "/"), nil
}

// checkStatus checks st against the IG's cardinalities and the invariants
// of the notification type and content level.
func checkStatus(st *Status, content string) error {
	if st.Subscription == "" {
		return errors.New("notification: missing subscription")
	}
	if !validSubscriptionStatus(st.Status) {
		return fmt.Errorf("notification: unknown subscription status %q", st.Status)
	}
	if !ValidNotificationType(st.Type) {
		return fmt.Errorf("notification: unknown notification type %q", st.Type)
	}
	if (st.Type == NotifyEvent || st.Type == NotifyQueryEvent) && len(st.Events) == 0 {
		return fmt.Errorf("notification: %s without events", st.Type)
	}
	if st.EventsSinceStart < 0 {
		return fmt.Errorf("notification: negative events-since-subscription-start %d", st.EventsSinceStart)
	}
	for i := range st.Events {
		ev := &st.Events[i]
		if ev.Number < 1 || ev.Number > st.EventsSinceStart {
			return fmt.Errorf("notification: event number %d outside 1..%d", ev.Number, st.EventsSinceStart)
		}
		if content != ContentEmpty && (ev.Focus == nil || ev.Focus.Reference == "") {
			return fmt.Errorf("notification: event %d has no focus (required for %s)", ev.Number, content)
		}
		switch ev.Method {
		case "", "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return fmt.Errorf("notification: event %d has unknown method %q", ev.Number, ev.Method)
		}
	}
	for _, e := range st.Extensions {
		if e.URL == "" || (e.ValueInstant == "") == (e.ValueString == "") {
			return fmt.Errorf("notification: extension %q needs a url and exactly one value", e.URL)
		}
	}
	return nil
}

// sizeHint estimates the encoded size of a notification, so the buffer
// grows once.
func sizeHint(st *Status, content string) int {
	n := 900 + 2*len(st.Subscription) + len(st.Topic) + 100*len(st.Errors) + 120*len(st.Extensions)
	for _, p := range st.Parameters {
		n += len(p) + 1
	}
	for i := range st.Events {
		ev := &st.Events[i]
		n += 200
		if content == ContentEmpty {
			continue
		}
		n += 400 + 160*len(ev.AdditionalContext)
		if ev.Focus != nil {
			n += 2 * len(ev.Focus.Reference)
		}
		if content == ContentFullResource {
			n += len(ev.Resource)
		}
	}
	return n
}

// appendStatusParams appends the status Parameters resource with the given
// UUID as id.
func appendStatusParams(dst []byte, st *Status, content, base string, id []byte) []byte {
	dst = append(dst, `{"resourceType":"Parameters","id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `","meta":{"profile":["`+BackportStatusProfile+`"]`...)
	if len(st.Extensions) > 0 {
		dst = append(dst, `,"extension":[`...)
		for i, e := range st.Extensions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"url":`...)
			dst = appendString(dst, e.URL)
			if e.ValueInstant != "" {
				dst = append(dst, `,"valueInstant":`...)
				dst = appendString(dst, e.ValueInstant)
			} else {
				dst = append(dst, `,"valueString":`...)
				dst = appendString(dst, e.ValueString)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `},"parameter":[{"name":"subscription","valueReference":{"reference":"`...)
	dst = appendAbsoluteBody(dst, base, st.Subscription)
	dst = append(dst, `"}}`...)
	if st.Topic != "" && content != ContentEmpty {
		dst = append(dst, `,{"name":"topic","valueCanonical":`...)
		dst = appendString(dst, st.Topic)
		dst = append(dst, '}')
	}
	dst = append(dst, `,{"name":"status","valueCode":"`...)
	dst = append(dst, st.Status...) // a checked code: no escaping needed
	dst = append(dst, `"},{"name":"type","valueCode":"`...)
	dst = append(dst, st.Type...)
	dst = append(dst, `"},{"name":"events-since-subscription-start","valueString":"`...)
	dst = strconv.AppendInt(dst, st.EventsSinceStart, 10)
	dst = append(dst, `"}`...)
	for i := range st.Events {
		ev := &st.Events[i]
		dst = append(dst, `,{"name":"notification-event","part":[{"name":"event-number","valueString":"`...)
		dst = strconv.AppendInt(dst, ev.Number, 10)
		dst = append(dst, `"}`...)
		if !ev.Timestamp.IsZero() {
			dst = append(dst, `,{"name":"timestamp","valueInstant":"`...)
			dst = appendInstant(dst, ev.Timestamp)
			dst = append(dst, `"}`...)
		}
		if content != ContentEmpty {
			if ev.Focus != nil && ev.Focus.Reference != "" {
				dst = append(dst, `,{"name":"focus","valueReference":`...)
				dst = appendReference(dst, base, ev.Focus)
				dst = append(dst, '}')
			}
			for j := range ev.AdditionalContext {
				if content == ContentFullResource {
					break // see AppendNotification: no entry would carry it
				}
				dst = append(dst, `,{"name":"additional-context","valueReference":`...)
				dst = appendReference(dst, base, &ev.AdditionalContext[j])
				dst = append(dst, '}')
			}
		}
		dst = append(dst, `]}`...)
	}
	for _, cc := range st.Errors {
		dst = append(dst, `,{"name":"error","valueCodeableConcept":`...)
		dst = appendCodeableConcept(dst, &cc)
		dst = append(dst, '}')
	}
	for _, p := range st.Parameters {
		dst = append(dst, ',')
		dst = append(dst, p...)
	}
	dst = append(dst, `]}`...)
	return dst
}

// appendReference appends r with its reference made absolute.
func appendReference(dst []byte, base string, r *Reference) []byte {
	dst = append(dst, `{"reference":"`...)
	dst = appendAbsoluteBody(dst, base, r.Reference)
	dst = append(dst, '"')
	if r.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = appendString(dst, r.Type)
	}
	return append(dst, '}')
}

func appendCodeableConcept(dst []byte, cc *CodeableConcept) []byte {
	dst = append(dst, '{')
	sep := false
	if len(cc.Coding) > 0 {
		dst = append(dst, `"coding":[`...)
		for i, c := range cc.Coding {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			first := true
			for _, f := range [...]struct{ k, v string }{{"system", c.System}, {"code", c.Code}, {"display", c.Display}} {
				if f.v == "" {
					continue
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, '"')
				dst = append(dst, f.k...)
				dst = append(dst, `":`...)
				dst = appendString(dst, f.v)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		sep = true
	}
	if cc.Text != "" {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"text":`...)
		dst = appendString(dst, cc.Text)
	}
	return append(dst, '}')
}

// isAbsolute reports whether ref is an absolute URL or URN rather than a
// reference relative to the server base.
func isAbsolute(ref string) bool {
	return strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:")
}

// appendAbsoluteBody appends the escaped content of ref resolved against
// base (which has no trailing slash), without concatenating strings.
func appendAbsoluteBody(dst []byte, base, ref string) []byte {
	if isAbsolute(ref) {
		return appendStringBody(dst, ref)
	}
	dst = appendStringBody(dst, base)
	dst = append(dst, '/')
	return appendStringBody(dst, strings.TrimPrefix(ref, "/"))
}

// localRef returns the unversioned "Type/id" of a reference to a resource
// on this server (relative, or absolute under base); ok is false for
// anything else.
func localRef(base, ref string) (rel string, ok bool) {
	if isAbsolute(ref) {
		if len(ref) <= len(base) || ref[len(base)] != '/' || !strings.HasPrefix(ref, base) {
			return "", false
		}
		rel = ref[len(base)+1:]
	} else {
		rel = strings.TrimPrefix(ref, "/")
	}
	if i := strings.Index(rel, "/_history/"); i >= 0 {
		rel = rel[:i]
	}
	typ, id, found := strings.Cut(rel, "/")
	if !found || !IsResourceType(typ) || !ValidID(id) {
		return "", false
	}
	return rel, true
}

// appendInstant appends t as FormatInstant does, without allocating.
func appendInstant(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
}

// statusNamespace is the namespace of the version 5 UUIDs that name status
// Parameters.
var statusNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://fhirbell.dev/ns/subscription-status"))

// statusUUID writes into u the version 5 UUID of the status Parameters at
// position pos (-1 for a notification's single status) of Bundle id, in its
// 36-character form. It does not allocate.
func statusUUID(u *[36]byte, id string, pos int) {
	var buf [16 + 64 + 1 + 20]byte // namespace, id (≤ 64), '#', position
	b := append(buf[:0], statusNamespace[:]...)
	b = append(b, id...)
	if pos >= 0 {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(pos), 10)
	}
	sum := sha1.Sum(b)
	sum[6] = (sum[6] & 0x0f) | 0x50 // version 5
	sum[8] = (sum[8] & 0x3f) | 0x80 // RFC 4122 variant
	hex.Encode(u[0:8], sum[0:4])
	u[8] = '-'
	hex.Encode(u[9:13], sum[4:6])
	u[13] = '-'
	hex.Encode(u[14:18], sum[6:8])
	u[18] = '-'
	hex.Encode(u[19:23], sum[8:10])
	u[23] = '-'
	hex.Encode(u[24:36], sum[10:16])
}

// appendString appends s as a JSON string. It escapes what JSON requires
// (quote, backslash, control characters), U+2028 and U+2029 (as
// encoding/json does, for JavaScript), and replaces invalid UTF-8 with
// U+FFFD. Unlike encoding/json it does not escape <, > and &: the output is
// never embedded in HTML.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

// appendStringBody appends the escaped content of s, without quotes.
func appendStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				const hexDigits = "0123456789abcdef"
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', byte('8'+r-'\u2028'))
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}
