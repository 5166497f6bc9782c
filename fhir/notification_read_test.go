package fhir_test

import (
	"slices"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestReadNotificationRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 16, 29, 0, time.UTC)
	st := fhir.Status{Subscription: "Subscription/s1", Topic: "http://example.org/t", Status: "active", Type: fhir.NotifyEvent,
		EventsSinceStart: 7, Extensions: []fhir.Extension{fhir.AuthExpires(at)},
		Events: []fhir.NotificationEvent{
			{Number: 6, Timestamp: at, Focus: &fhir.Reference{Reference: "Observation/o1"}, Method: "POST"},
			{Number: 7, Timestamp: at, Focus: &fhir.Reference{Reference: "Observation/o2"}, Method: "PUT"},
		}}
	b, err := fhir.BackportNotification(st, fhir.ContentIDOnly, "http://h/fhir", "", at)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := fhir.ReadNotification(b)
	if !ok {
		t.Fatalf("ReadNotification(%s) not ok", b)
	}
	if n.Type != fhir.NotifyEvent || n.Status != "active" || n.SubscriptionID() != "s1" || n.Topic != st.Topic ||
		n.EventsSinceStart != 7 || !slices.Equal(n.Events, []int64{6, 7}) ||
		!slices.Equal(n.Focus, []string{"http://h/fhir/Observation/o1", "http://h/fhir/Observation/o2"}) ||
		n.AuthExpires != fhir.FormatInstant(at) {
		t.Fatalf("ReadNotification = %+v", n)
	}
}

func TestReadNotificationRejects(t *testing.T) {
	for _, b := range []string{
		`{"resourceType":"OperationOutcome","issue":[]}`,
		`bound 123`,
		`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient"}}]}`,
		`{"resourceType":"Bundle","entry":[]}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"status","valueCode":"active"}]}}]}`,
	} {
		if n, ok := fhir.ReadNotification([]byte(b)); ok {
			t.Errorf("ReadNotification(%s) = %+v, want not ok", b, n)
		}
	}
}

func TestOutcomeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"security","diagnostics":"Token failed to validate"}]}`, "security: Token failed to validate"},
		{`  plain text  `, "plain text"},
		{`{"resourceType":"Patient"}`, `{"resourceType":"Patient"}`},
	}
	for _, tt := range tests {
		if got := fhir.OutcomeText([]byte(tt.in)); got != tt.want {
			t.Errorf("OutcomeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
