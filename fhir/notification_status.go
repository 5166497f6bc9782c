package fhir

import "strconv"

// BackportNotificationProfileR4B is the Backport IG profile of the R4B
// notification Bundle (a history Bundle whose first entry is a
// SubscriptionStatus).
const BackportNotificationProfileR4B = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification"

// appendSubscriptionStatus appends st as an R4B or R5 SubscriptionStatus
// resource with the given UUID as id: the R4B/R5 wire form of what
// appendStatusParams writes for R4, under the same rules (topic omitted for
// empty content, focus and additional context only for id-only and
// full-resource, absolute references). The two releases' SubscriptionStatus
// have the same elements; R4B's counters are strings and R5's integer64,
// both JSON strings.
func appendSubscriptionStatus(dst []byte, st *Status, content, base string, id []byte) []byte {
	dst = append(dst, `{"resourceType":"SubscriptionStatus","id":"`...)
	dst = append(dst, id...)
	dst = append(dst, '"')
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
	dst = append(dst, `,"status":"`...)
	dst = append(dst, st.Status...) // a checked code: no escaping needed
	dst = append(dst, `","type":"`...)
	dst = append(dst, st.Type...)
	dst = append(dst, `","eventsSinceSubscriptionStart":"`...)
	dst = strconv.AppendInt(dst, st.EventsSinceStart, 10)
	dst = append(dst, '"')
	if len(st.Events) > 0 {
		dst = append(dst, `,"notificationEvent":[`...)
		for i := range st.Events {
			ev := &st.Events[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"eventNumber":"`...)
			dst = strconv.AppendInt(dst, ev.Number, 10)
			dst = append(dst, '"')
			if !ev.Timestamp.IsZero() {
				dst = append(dst, `,"timestamp":"`...)
				dst = appendInstant(dst, ev.Timestamp)
				dst = append(dst, '"')
			}
			if content != ContentEmpty {
				if ev.Focus != nil && ev.Focus.Reference != "" {
					dst = append(dst, `,"focus":`...)
					dst = appendStatusRef(dst, st, base, ev.Focus)
				}
				if len(ev.AdditionalContext) > 0 && content == ContentIDOnly { // full-resource: see AppendNotification
					dst = append(dst, `,"additionalContext":[`...)
					for j := range ev.AdditionalContext {
						if j > 0 {
							dst = append(dst, ',')
						}
						dst = appendStatusRef(dst, st, base, &ev.AdditionalContext[j])
					}
					dst = append(dst, ']')
				}
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"subscription":`...)
	dst = appendStatusRef(dst, st, base, &Reference{Reference: st.Subscription})
	if st.Topic != "" && content != ContentEmpty {
		dst = append(dst, `,"topic":`...)
		dst = appendString(dst, st.Topic)
	}
	if len(st.Errors) > 0 {
		dst = append(dst, `,"error":[`...)
		for i := range st.Errors {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCodeableConcept(dst, &st.Errors[i])
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendStatusRef appends r as appendReference does, or, when st.Relative,
// with a reference to a resource on this server written relative.
func appendStatusRef(dst []byte, st *Status, base string, r *Reference) []byte {
	if !st.Relative {
		return appendReference(dst, base, r)
	}
	rel, ok := localRef(base, r.Reference)
	if !ok {
		return appendReference(dst, base, r)
	}
	dst = append(dst, `{"reference":`...)
	dst = appendString(dst, rel)
	if r.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = appendString(dst, r.Type)
	}
	return append(dst, '}')
}
