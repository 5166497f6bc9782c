package fhir_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

// BenchmarkBackportNotification measures building one notification Bundle,
// as the hub does once per bound socket for every event batch.
func BenchmarkBackportNotification(b *testing.B) {
	oneEvent := fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyEvent, EventsSinceStart: 1,
		Events: []fhir.NotificationEvent{{
			Number: 1, Timestamp: testNow, Focus: &fhir.Reference{Reference: "Encounter/enc-901"},
			// Compact and resourceType first, as every store returns bodies.
			Method: "PUT", Resource: json.RawMessage(fhir.WireResource([]byte(encounterJSON))),
		}},
	}
	tenEvents := fhir.Status{Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyEvent, EventsSinceStart: 10}
	for i := range 10 {
		tenEvents.Events = append(tenEvents.Events, fhir.NotificationEvent{
			Number: int64(i + 1), Timestamp: testNow,
			Focus:             &fhir.Reference{Reference: fmt.Sprintf("Encounter/enc-%d", i)},
			AdditionalContext: []fhir.Reference{{Reference: "Patient/p-77"}},
			Method:            "PUT",
			Resource:          json.RawMessage(fmt.Sprintf(`{"resourceType":"Encounter","id":"enc-%d","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/p-77"},"period":{"start":"2026-03-02T09:00:00Z"}}`, i)),
		})
	}
	heartbeat := fhir.Status{
		Subscription: testSub, Topic: testTopic, Status: "active", Type: fhir.NotifyHeartbeat, EventsSinceStart: 10,
		Extensions: []fhir.Extension{fhir.AuthExpires(testAuth)},
	}
	now := time.Date(2026, 3, 2, 9, 16, 30, 0, time.UTC)
	for _, bc := range []struct {
		name    string
		st      fhir.Status
		content string
	}{
		{"id-only/1-event", oneEvent, fhir.ContentIDOnly},
		{"full-resource/1-event", oneEvent, fhir.ContentFullResource},
		{"full-resource/10-events", tenEvents, fhir.ContentFullResource},
		{"heartbeat", heartbeat, fhir.ContentIDOnly},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				out, err := fhir.BackportNotification(bc.st, bc.content, testBase, "bench", now)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.SetBytes(int64(n))
		})
		b.Run(bc.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				var err error
				buf, err = fhir.AppendBackportNotification(buf[:0], bc.st, bc.content, testBase, "bench", now)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
