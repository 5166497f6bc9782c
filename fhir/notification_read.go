package fhir

import (
	"encoding/json"
	"strconv"
	"strings"
)

// NotificationSummary is what a subscriber reads from a received Backport
// R4 notification Bundle: its status Parameters, decoded.
type NotificationSummary struct {
	Type             string   // handshake | heartbeat | event-notification | query-status | query-event
	Status           string   // the subscription's status
	Subscription     string   // the subscription reference, as sent (absolute URL)
	Topic            string   // "" when not sent
	EventsSinceStart int64    // events-since-subscription-start
	Events           []int64  // the notification-event numbers, in order
	Focus            []string // the focus references of the events that have one
	AuthExpires      string   // the auth-expires extension (fhirbell), "" when absent
	Version          Version  // R4 (status Parameters), R4B (SubscriptionStatus in a history Bundle) or R5
}

// SubscriptionID returns the id part of Subscription.
func (n NotificationSummary) SubscriptionID() string {
	return n.Subscription[strings.LastIndexByte(n.Subscription, '/')+1:]
}

// ReadNotification decodes the status of a notification Bundle of any
// version: the status Parameters of a Backport R4 Bundle, or the
// SubscriptionStatus of an R4B or R5 one. ok is false for anything else (an
// OperationOutcome, a legacy text frame, another Bundle). It checks only
// what it reads; the full rules are fhirtest's validators'.
func ReadNotification(b []byte) (n NotificationSummary, ok bool) {
	if n, ok := readSubscriptionStatus(b); ok {
		return n, true
	}
	type value struct {
		Name           string `json:"name"`
		ValueString    string `json:"valueString"`
		ValueCode      string `json:"valueCode"`
		ValueCanonical string `json:"valueCanonical"`
		ValueReference struct {
			Reference string `json:"reference"`
		} `json:"valueReference"`
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Meta         struct {
					Extension []struct {
						URL          string `json:"url"`
						ValueInstant string `json:"valueInstant"`
					} `json:"extension"`
				} `json:"meta"`
				Parameter []struct {
					value
					Part []value `json:"part"`
				} `json:"parameter"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(b, &bundle) != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) == 0 ||
		bundle.Entry[0].Resource.ResourceType != "Parameters" {
		return n, false
	}
	status := bundle.Entry[0].Resource
	for _, e := range status.Meta.Extension {
		if e.URL == AuthExpiresURL {
			n.AuthExpires = e.ValueInstant
		}
	}
	for _, p := range status.Parameter {
		switch p.Name {
		case "subscription":
			n.Subscription = p.ValueReference.Reference
		case "topic":
			n.Topic = p.ValueCanonical
		case "status":
			n.Status = p.ValueCode
		case "type":
			n.Type = p.ValueCode
		case "events-since-subscription-start":
			n.EventsSinceStart, _ = strconv.ParseInt(p.ValueString, 10, 64)
		case "notification-event":
			for _, part := range p.Part {
				switch part.Name {
				case "event-number":
					v, _ := strconv.ParseInt(part.ValueString, 10, 64)
					n.Events = append(n.Events, v)
				case "focus":
					n.Focus = append(n.Focus, part.ValueReference.Reference)
				}
			}
		}
	}
	return n, n.Type != ""
}

// OutcomeText returns "code: diagnostics" of the first issue of an
// OperationOutcome body, or the body itself shortened to 200 bytes, for a
// client's error messages.
func OutcomeText(b []byte) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Code        string `json:"code"`
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
	}
	if json.Unmarshal(b, &oo) == nil && oo.ResourceType == "OperationOutcome" && len(oo.Issue) > 0 {
		return oo.Issue[0].Code + ": " + oo.Issue[0].Diagnostics
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// readSubscriptionStatus decodes an R4B or R5 notification Bundle.
func readSubscriptionStatus(b []byte) (n NotificationSummary, ok bool) {
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Extension    []struct {
					URL          string `json:"url"`
					ValueInstant string `json:"valueInstant"`
				} `json:"extension"`
				Status                       string `json:"status"`
				Type                         string `json:"type"`
				EventsSinceSubscriptionStart string `json:"eventsSinceSubscriptionStart"`
				NotificationEvent            []struct {
					EventNumber string `json:"eventNumber"`
					Focus       *struct {
						Reference string `json:"reference"`
					} `json:"focus"`
				} `json:"notificationEvent"`
				Subscription struct {
					Reference string `json:"reference"`
				} `json:"subscription"`
				Topic string `json:"topic"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(b, &bundle) != nil || bundle.ResourceType != "Bundle" || len(bundle.Entry) == 0 ||
		bundle.Entry[0].Resource.ResourceType != "SubscriptionStatus" {
		return n, false
	}
	st := bundle.Entry[0].Resource
	n.Version = R4B
	if bundle.Type == "subscription-notification" {
		n.Version = R5
	}
	for _, e := range st.Extension {
		if e.URL == AuthExpiresURL {
			n.AuthExpires = e.ValueInstant
		}
	}
	n.Type, n.Status, n.Subscription, n.Topic = st.Type, st.Status, st.Subscription.Reference, st.Topic
	n.EventsSinceStart, _ = strconv.ParseInt(st.EventsSinceSubscriptionStart, 10, 64)
	for _, ev := range st.NotificationEvent {
		v, _ := strconv.ParseInt(ev.EventNumber, 10, 64)
		n.Events = append(n.Events, v)
		if ev.Focus != nil {
			n.Focus = append(n.Focus, ev.Focus.Reference)
		}
	}
	return n, n.Type != ""
}
