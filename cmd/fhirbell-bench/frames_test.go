package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  frameKind
	}{
		{"backport handshake", `{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"type","valueCode":"handshake"}]}}]}`, frameHandshake},
		{"backport event", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"type","valueCode":"event-notification"},{"name":"notification-event","part":[]}]}}]}`, frameEvent},
		{"r4b event", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"SubscriptionStatus","type":"event-notification"}}]}`, frameEvent},
		{"event whose resource says handshake", `{"entry":[{"resource":{"type":"event-notification"}},{"resource":{"note":"handshake"}}]}`, frameEvent},
		{"heartbeat", `{"resourceType":"Bundle","entry":[{"resource":{"parameter":[{"name":"type","valueCode":"heartbeat"}]}}]}`, frameHeartbeat},
		{"outcome", `{"resourceType":"OperationOutcome","issue":[{"code":"invalid"}]}`, frameError},
		{"legacy bound", `bound 123`, frameHandshake},
		{"legacy ping", `ping 123`, frameEvent},
		{"medplum pong", `{"type":"pong"}`, frameOther},
		{"query-status", `{"entry":[{"resource":{"parameter":[{"name":"type","valueCode":"query-status"}]}}]}`, frameOther},
		{"empty", ``, frameOther},
		{"ping without id", `ping`, frameOther},
	}
	for _, tt := range tests {
		if got := classify([]byte(tt.frame)); got != tt.want {
			t.Errorf("%s: classify(%q) = %v, want %v", tt.name, tt.frame, got, tt.want)
		}
	}
}

func TestParseParameters(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    map[string]string
		wantErr bool
	}{
		{"binding token", `{"resourceType":"Parameters","parameter":[{"name":"token","valueString":"abc"},{"name":"websocket-url","valueUrl":"ws://127.0.0.1/ws"},{"name":"subscription","valueString":"a"},{"name":"subscription","valueString":"b"}]}`,
			map[string]string{"token": "abc", "websocket-url": "ws://127.0.0.1/ws", "subscription": "a"}, false},
		{"uri value", `{"resourceType":"Parameters","parameter":[{"name":"websocket-url","valueUri":"ws://x"}]}`, map[string]string{"websocket-url": "ws://x"}, false},
		{"nameless part skipped", `{"resourceType":"Parameters","parameter":[{"valueString":"x"}]}`, map[string]string{}, false},
		{"outcome", `{"resourceType":"OperationOutcome"}`, nil, true},
		{"not json", `<html>`, nil, true},
		{"wrong shape", `{"resourceType":"Parameters","parameter":{}}`, nil, true},
	}
	for _, tt := range tests {
		got, err := parseParameters([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: parseParameters error = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: parseParameters = %v, want %v", tt.name, got, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s: parseParameters[%q] = %q, want %q", tt.name, k, got[k], v)
			}
		}
	}
}

func TestOutcomeText(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"resourceType":"OperationOutcome","issue":[{"code":"invalid","diagnostics":"bad criteria"}]}`, "invalid: bad criteria"},
		{`  plain text  `, "plain text"},
		{strings.Repeat("x", 300), strings.Repeat("x", 200) + "…"},
	}
	for _, tt := range tests {
		if got := fhir.OutcomeText([]byte(tt.body)); got != tt.want {
			t.Errorf("fhir.OutcomeText(%.40q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

// FuzzClassify: any frame classifies without panicking, and a frame with
// an event-notification marker is always an event.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{`ping 1`, `bound 1`, `{"type":"pong"}`, `"handshake" "event-notification"`, `{"resourceType":"OperationOutcome"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k := classify(b)
		if k < 0 || k >= numFrameKinds {
			t.Fatalf("classify(%q) = %d, out of range", b, k)
		}
		if strings.Contains(string(b), `"event-notification"`) && k != frameEvent {
			t.Fatalf("classify(%q) = %v, want event", b, k)
		}
	})
}

// FuzzParseParameters: server answers never panic the parser, and every
// value returned was in the input.
func FuzzParseParameters(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"token","valueString":"abc"}]}`))
	f.Add([]byte(`{"resourceType":"Parameters","parameter":[{"name":"websocket-url","valueUrl":"ws://127.0.0.1/ws/x"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseParameters(b)
		if err != nil {
			return
		}
		for k := range p {
			if k == "" {
				t.Fatalf("parseParameters(%q) has an empty name", b)
			}
		}
	})
}

// TestQuickSummary: the byte scan reads what the full decoder reads, for
// every notification type fhirbell sends, in each wire version (R4B and R5
// go through the decoder).
func TestQuickSummary(t *testing.T) {
	for _, v := range []fhir.Version{fhir.R4, fhir.R4B, fhir.R5} {
		for _, st := range []fhir.Status{
			{Subscription: "Subscription/s1", Status: "active", Type: fhir.NotifyHandshake, EventsSinceStart: 12},
			{Subscription: "Subscription/s1", Status: "active", Type: fhir.NotifyHeartbeat, EventsSinceStart: 7},
			{Subscription: "Subscription/s1", Status: "active", Type: fhir.NotifyEvent, EventsSinceStart: 1234,
				Events: []fhir.NotificationEvent{{Number: 1233, Focus: &fhir.Reference{Reference: "Observation/o1"}}, {Number: 1234, Focus: &fhir.Reference{Reference: "Observation/o2"}}}},
		} {
			b, err := fhir.AppendNotification(nil, v, st, fhir.ContentIDOnly, "http://127.0.0.1/fhir", "", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, scanned := scanNumbers(b, tokSinceStart, nil); v == fhir.R4 && !scanned {
				t.Errorf("R4 %s: the byte scan does not find events-since-subscription-start in %s", st.Type, b)
			}
			want, ok := fhir.ReadNotification(b)
			if !ok {
				t.Fatalf("%v %s: the decoder does not read it", v, st.Type)
			}
			typ, since, evs, ok := quickSummary(b)
			if !ok || typ != want.Type || since != want.EventsSinceStart || !slices.Equal(evs, want.Events) {
				t.Errorf("%v %s: quickSummary = %q %d %v %v, want %q %d %v", v, st.Type, typ, since, evs, ok, want.Type, want.EventsSinceStart, want.Events)
			}
		}
	}
	for _, frame := range []string{`{"type":"pong"}`, `bound 1`, `{"resourceType":"OperationOutcome"}`} {
		if _, _, _, ok := quickSummary([]byte(frame)); ok {
			t.Errorf("quickSummary(%s) took it for a notification", frame)
		}
	}
}
