package subhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// maxEventsPerCall caps the events one $events call returns; a client pages
// with eventsSinceNumber.
const maxEventsPerCall = 1000

// maxEventsBytes bounds one $events answer by the bytes of its events too
// (Event.Size; always at least one): a client pages on as it does past
// maxEventsPerCall.
const maxEventsBytes = 4 * subscription.DefaultBatchBytes

// subscriptionRoutes registers the Subscription operations of the
// Subscriptions Backport IG ($status, $events, $get-ws-binding-token) and
// fhirbell's $websocket-ticket. Each answers GET (parameters in the query)
// and POST (a Parameters body, or a form).
func (a *api) subscriptionRoutes(r chi.Router) {
	for _, route := range []struct {
		path string
		h    handlerFunc
	}{
		{"/Subscription/$status", a.statusOp},
		{"/Subscription/$nodes", a.nodesOp},
		{"/Subscription/{id}/$status", a.statusOp},
		{"/Subscription/{id}/$events", a.eventsOp},
		{"/Subscription/$get-ws-binding-token", a.bindingTokenOp},
		{"/Subscription/{id}/$get-ws-binding-token", a.bindingTokenOp},
		{"/Subscription/{id}/$websocket-ticket", a.ticketOp},
	} {
		r.Method(http.MethodGet, route.path, route.h)
		r.Method(http.MethodPost, route.path, route.h)
	}
}

// opParams reads an operation's input parameters: the query string for GET;
// for POST, a Parameters resource (each parameter's value[x], as text) or a
// form. Names outside allowed are a 400 naming the parameter.
func opParams(w http.ResponseWriter, r *http.Request, allowed ...string) (url.Values, error) {
	vals := url.Values{}
	switch {
	case r.Method == http.MethodGet:
		vals = r.URL.Query()
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		r.Body = http.MaxBytesReader(w, r.Body, info(r).maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			return nil, fhir.Invalid("", "form body: "+err.Error())
		}
		vals = r.Form
	case r.ContentLength == 0:
		// POST with no body: no parameters.
	default:
		body, err := readBody(w, r, info(r).maxBodyBytes, jsonTypes)
		if err != nil {
			return nil, err
		}
		var p struct {
			ResourceType string                       `json:"resourceType"`
			Parameter    []map[string]json.RawMessage `json:"parameter"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
			return nil, fhir.Invalid("", "the body of an operation must be a Parameters resource")
		}
		for i, par := range p.Parameter {
			var name string
			if err := json.Unmarshal(par["name"], &name); err != nil || name == "" {
				return nil, fhir.Invalid(fmt.Sprintf("Parameters.parameter[%d].name", i), "missing")
			}
			v, ok := primitiveValue(par)
			if !ok {
				return nil, fhir.Invalid(fmt.Sprintf("Parameters.parameter[%d]", i), "needs a primitive value[x]")
			}
			vals.Add(name, v)
		}
	}
	for name := range vals {
		if name == "_format" || name == "_pretty" {
			continue
		}
		if !slices.Contains(allowed, name) {
			return nil, &fhir.ValidationError{Path: name, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("unknown parameter %q (this operation takes: %s)", name, strings.Join(allowed, ", "))}
		}
	}
	return vals, nil
}

// primitiveValue returns the text of a parameter's value[x] when it is a
// JSON string, number or boolean.
func primitiveValue(par map[string]json.RawMessage) (string, bool) {
	for k, raw := range par {
		if !strings.HasPrefix(k, "value") {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String(), true
		}
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return strconv.FormatBool(b), true
		}
	}
	return "", false
}

// subscriptionURL is the absolute URL of Subscription id.
func subscriptionURL(r *http.Request, id string) string {
	return fhirBase(r) + "/Subscription/" + id
}

// webSocketBase is the ws:// or wss:// URL of the WebSocket endpoint: wss
// whenever the request came over TLS (directly or per the trusted proxy
// headers that decided the server base).
func webSocketBase(r *http.Request) string { return endpoint.WebSocketURL(serverBase(r)) }

func (a *api) statusFor(r *http.Request, info subscription.StatusInfo) fhir.Status {
	st := fhir.Status{
		Subscription:     subscriptionURL(r, info.ID),
		Status:           info.Status,
		Type:             fhir.NotifyQueryStatus,
		EventsSinceStart: info.Head.Last,
	}
	if info.Kind == subscription.KindTopic {
		st.Topic = info.TopicURL
	}
	if info.Error != "" {
		st.Errors = []fhir.CodeableConcept{{Text: info.Error}}
	}
	if d := info.Delivery; d != nil {
		restHookStatus(&st, d)
	}
	return st
}

// Extensions of a rest-hook subscription's query-status (in the status
// Parameters' meta, see fhir.BackportNotification): its delivery counters
// and failure record, so that $status tells what failed, since when, and
// how often.
const (
	deliveryExtBase           = "https://fhirbell.dev/fhir/StructureDefinition/rest-hook-"
	extDeliveredNotifications = deliveryExtBase + "notifications-delivered"
	extDeliveredEvents        = deliveryExtBase + "events-delivered"
	extAcknowledged           = deliveryExtBase + "last-event-acknowledged"
	extFailedAttempts         = deliveryExtBase + "failed-attempts"
	extConsecutiveFailures    = deliveryExtBase + "consecutive-failures"
	extFailingSince           = deliveryExtBase + "failing-since"
	extNextAttempt            = deliveryExtBase + "next-attempt"
	extLastSuccess            = deliveryExtBase + "last-success"
)

// restHookStatus adds a rest-hook delivery record to st: the counters as
// extensions and, while deliveries fail, an error with its
// subscription-error code and why since when (replacing the stored
// Subscription.error, which is the same text as of when it was written).
func restHookStatus(st *fhir.Status, d *subscription.DeliveryState) {
	count := func(url string, n int64) fhir.Extension {
		return fhir.Extension{URL: url, ValueString: strconv.FormatInt(n, 10)}
	}
	st.Extensions = append(st.Extensions,
		count(extAcknowledged, d.Cursor),
		count(extDeliveredNotifications, d.Notifications),
		count(extDeliveredEvents, d.Events),
		count(extFailedAttempts, d.Failures),
		count(extConsecutiveFailures, int64(d.ConsecutiveFailures)))
	for _, t := range []struct {
		url string
		at  time.Time
	}{{extFailingSince, d.FailingSince}, {extNextAttempt, d.NextAttempt}, {extLastSuccess, d.LastSuccess}} {
		if !t.at.IsZero() {
			st.Extensions = append(st.Extensions, fhir.Extension{URL: t.url, ValueInstant: fhir.FormatInstant(t.at)})
		}
	}
	if d.ConsecutiveFailures > 0 {
		st.Errors = []fhir.CodeableConcept{{
			Coding: []fhir.Coding{{System: subscription.SubscriptionErrorSystem, Code: d.ErrorCode}},
			Text: fmt.Sprintf("rest-hook delivery failing since %s (%d attempts in a row): %s",
				fhir.FormatInstant(d.FailingSince), d.ConsecutiveFailures, d.Error),
		}}
	}
}

// statusOp is $status: one query-status Parameters per Subscription, in a
// searchset Bundle. Type level takes id (0..*, absent = every Subscription)
// and status (0..*, a filter).
func (a *api) statusOp(w http.ResponseWriter, r *http.Request) error {
	params, err := opParams(w, r, "id", "status")
	if err != nil {
		return err
	}
	ids := splitValues(params["id"])
	if id := chi.URLParam(r, "id"); id != "" {
		ids = []string{id}
	} else if len(ids) == 0 {
		if ids, err = a.svc.SubscriptionIDs(r.Context()); err != nil {
			return err
		}
	}
	statusFilter := splitValues(params["status"])
	var statuses []fhir.Status
	var cluster map[string][]json.RawMessage
	for _, id := range ids {
		if err := checkID("Subscription", id); err != nil {
			return err
		}
		info, err := a.svc.Status(r.Context(), id)
		if err != nil {
			return err
		}
		if len(statusFilter) > 0 && !slices.Contains(statusFilter, info.Status) {
			continue
		}
		if cluster == nil { // read once, after the first access check passed
			if cluster, err = a.clusterParameters(r, ids); err != nil {
				return err
			}
		}
		st := a.statusFor(r, info)
		st.Parameters = cluster[id]
		statuses = append(statuses, st)
	}
	body, err := fhir.VersionStatusBundle(versionOf(r.Context()), statuses, fhirBase(r), "", time.Now())
	if err != nil {
		return fmt.Errorf("build $status bundle: %w", err)
	}
	return writeJSON(w, r, http.StatusOK, body)
}

// splitValues flattens repeated and comma-separated parameter values.
func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// eventsOp is $events: the retained events numbered eventsSinceNumber to
// eventsUntilNumber (both inclusive, both optional) as a query-event
// notification Bundle, at most maxEventsPerCall of them. content overrides
// the subscription's content level for this answer. A range with no
// retained event answers a query-status Bundle, since a query-event must
// carry at least one event.
func (a *api) eventsOp(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := checkID("Subscription", id); err != nil {
		return err
	}
	params, err := opParams(w, r, "eventsSinceNumber", "eventsUntilNumber", "content")
	if err != nil {
		return err
	}
	since, err := numberParam(params, "eventsSinceNumber")
	if err != nil {
		return err
	}
	until, err := numberParam(params, "eventsUntilNumber")
	if err != nil {
		return err
	}
	if until > 0 && since > until {
		return fhir.Invalid("eventsUntilNumber", "is below eventsSinceNumber")
	}
	info, err := a.svc.Status(r.Context(), id)
	if err != nil {
		return err
	}
	content := info.Content
	if c := params.Get("content"); c != "" {
		if !fhir.ValidContent(c) {
			return fhir.Invalid("content", fmt.Sprintf("%q is not empty, id-only or full-resource", c))
		}
		content = c
	}
	after := max(since-1, 0)
	evs, err := a.svc.Events(r.Context(), id, after, until, maxEventsPerCall, maxEventsBytes)
	if err != nil {
		return err
	}
	st := a.statusFor(r, info)
	if len(evs) > 0 {
		st.Type = fhir.NotifyQueryEvent
		if st.Events, err = a.notificationEvents(r, evs, content); err != nil {
			return err
		}
	}
	body, err := fhir.AppendNotification(nil, versionOf(r.Context()), st, content, fhirBase(r), "", time.Now())
	if err != nil {
		return fmt.Errorf("build $events bundle: %w", err)
	}
	return writeJSON(w, r, http.StatusOK, body)
}

func numberParam(params url.Values, name string) (int64, error) {
	v := params.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fhir.Invalid(name, fmt.Sprintf("%q is not a positive integer", v))
	}
	return n, nil
}

// notificationEvents turns logged events into notification events. For
// full-resource content an event logged without a snapshot (its
// subscription was id-only) gets the focus version read from the store.
func (a *api) notificationEvents(r *http.Request, evs []subscription.Event, content string) ([]fhir.NotificationEvent, error) {
	out := make([]fhir.NotificationEvent, len(evs))
	for i, ev := range evs {
		ne := subscription.NotificationEvent(ev)
		if content == fhir.ContentFullResource && ne.Resource == nil && ev.Interaction != subscription.InteractionDelete {
			res, err := a.svc.VRead(r.Context(), ev.FocusType, ev.FocusID, ev.FocusVersion)
			if err == nil {
				ne.Resource = res.Body
			} else if !errors.Is(err, subscription.ErrNotFound) && !errors.Is(err, subscription.ErrGone) && !errors.Is(err, auth.ErrForbidden) {
				return nil, err
			} // a focus the caller may no longer read is sent as a reference only
		}
		out[i] = ne
	}
	return out, nil
}

// bindingTokenOp is $get-ws-binding-token: a reusable token for the
// subscription of the URL, or at type level for every id given (at least
// one: fhirbell does not hand out a token for "all subscriptions").
func (a *api) bindingTokenOp(w http.ResponseWriter, r *http.Request) error {
	if err := a.allowIssue(w, r); err != nil {
		return err
	}
	params, err := opParams(w, r, "id")
	if err != nil {
		return err
	}
	ids := splitValues(params["id"])
	if id := chi.URLParam(r, "id"); id != "" {
		ids = []string{id} // the IG: id is ignored at instance level
	}
	if len(ids) == 0 {
		return &fhir.ValidationError{Path: "id", Code: fhir.IssueRequired, Msg: "name at least one Subscription id"}
	}
	for _, id := range ids {
		if err := checkID("Subscription", id); err != nil {
			return err
		}
	}
	secret, g, err := a.svc.IssueToken(r.Context(), subscription.KindBindingToken, ids, caller(r))
	if err != nil {
		return err
	}
	out := parameters{ResourceType: "Parameters"}
	out.add("token", "valueString", secret)
	out.add("expiration", "valueDateTime", fhir.FormatInstant(g.Expires))
	for _, id := range g.SubscriptionIDs {
		out.add("subscription", "valueString", id)
	}
	out.add("websocket-url", "valueUrl", webSocketBase(r))
	noStore(w)
	return writeJSON(w, r, http.StatusOK, out)
}

// ticketOp is $websocket-ticket: a single-use URL ws(s)://host/ws/{ticket},
// valid for TicketTTL, that binds the subscription on connect. It is how a
// browser, which cannot send an Authorization header on a WebSocket,
// authenticates its socket.
func (a *api) ticketOp(w http.ResponseWriter, r *http.Request) error {
	if err := a.allowIssue(w, r); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	if err := checkID("Subscription", id); err != nil {
		return err
	}
	if _, err := opParams(w, r); err != nil {
		return err
	}
	secret, g, err := a.svc.IssueToken(r.Context(), subscription.KindTicket, []string{id}, caller(r))
	if err != nil {
		return err
	}
	out := parameters{ResourceType: "Parameters"}
	out.add("websocket-url", "valueUrl", webSocketBase(r)+"/"+secret)
	out.add("expiration", "valueDateTime", fhir.FormatInstant(g.Expires))
	out.add("subscription", "valueString", id)
	noStore(w)
	return writeJSON(w, r, http.StatusOK, out)
}

// allowIssue applies the per-client limit on issuing tokens and tickets: a
// 429 error (with Retry-After) when the client asked too often.
func (a *api) allowIssue(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.IssueLimit == nil || a.cfg.IssueLimit(r) {
		return nil
	}
	w.Header().Set("Retry-After", "1")
	return &statusError{Status: http.StatusTooManyRequests, Code: fhir.IssueThrottled,
		Msg: "too many binding tokens or tickets requested; slow down (a ticket is valid 60 s, a binding token 10 min)"}
}

// caller returns who a token or ticket is issued to: the principal, whose
// scopes the grant carries and whose expiry bounds the socket's
// authorization (the zero Principal when there is none: never ends).
func caller(r *http.Request) auth.Principal {
	p, _ := auth.PrincipalFrom(r.Context())
	return p
}

// noStore keeps secrets out of caches.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// parameters is an output Parameters resource with primitive values.
type parameters struct {
	ResourceType string           `json:"resourceType"`
	Parameter    []map[string]any `json:"parameter"`
}

func (p *parameters) add(name, valueKey string, value any) {
	p.Parameter = append(p.Parameter, map[string]any{"name": name, valueKey: value})
}

// websocketTicketLink is the Link header a websocket Subscription's 201
// carries, so a client learns where to get a ticket without reading docs.
func websocketTicketLink(r *http.Request, h http.Header, res subscription.Resource) {
	if res.Type != "Subscription" {
		return
	}
	var body struct {
		Channel struct {
			Type string `json:"type"`
		} `json:"channel"`
	}
	if json.Unmarshal(res.Body, &body) != nil || body.Channel.Type != subscription.ChannelWebsocket {
		return
	}
	h.Add("Link", fmt.Sprintf(`<%s/$websocket-ticket>; rel="websocket-ticket"`, subscriptionURL(r, res.ID)))
}
