package notify

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
)

// TestWireVersion: the same subscriptions and event log, each binding
// notified in the version its client asked for: on the upgrade (query or
// Accept), else in channel.payload, else R4; Medplum's framing never gets
// R4's Parameters.
func TestWireVersion(t *testing.T) {
	e := newEnv(t, Config{})
	const medplumBind = `{"type":"bind-with-token","payload":{"token":%q}}`
	const textBind = "bind-with-token %s"
	for _, tc := range []struct {
		name    string
		path    string
		accept  string
		payload string // the subscription's fhirVersion
		bind    string
		want    fhir.Version
	}{
		{"default", "/ws", "", "", textBind, fhir.R4},
		{"payload 4.0", "/ws", "", "4.0", textBind, fhir.R4},
		{"payload 4.3", "/ws", "", "4.3", textBind, fhir.R4B},
		{"payload 5.0", "/ws", "", "5.0", textBind, fhir.R5},
		{"query 4.3", "/ws?fhirVersion=4.3", "", "", textBind, fhir.R4B},
		{"query 5.0 over payload 4.3", "/ws?fhirVersion=5.0", "", "4.3", textBind, fhir.R5},
		{"query 4.0 over payload 5.0", "/ws?fhirVersion=4.0", "", "5.0", textBind, fhir.R4},
		{"accept 4.3", "/ws", "application/fhir+json; fhirVersion=4.3", "", textBind, fhir.R4B},
		{"accept 5.0.0 in a list", "/ws", "text/plain, application/fhir+json;fhirVersion=5.0.0;q=0.9", "", textBind, fhir.R5},
		{"medplum", "/ws", "", "", medplumBind, fhir.R4B},
		{"medplum payload 4.0", "/ws", "", "4.0", medplumBind, fhir.R4B},
		{"medplum payload 5.0", "/ws", "", "5.0", medplumBind, fhir.R5},
		{"medplum query 5.0", "/ws?fhirVersion=5.0", "", "", medplumBind, fhir.R5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A heartbeat (1 s) in one case per shape, to keep the test quick.
			beat := tc.name == "medplum" || tc.name == "payload 5.0" || tc.name == "default"
			hbs := 0
			if beat {
				hbs = 1
			}
			id := e.createSub(subOpts{code: tc.name, version: tc.payload, heartbeat: hbs})
			h := http.Header{}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			c := e.dialWith(tc.path, h)
			c.wire = tc.want
			c.send(fmt.Sprintf(tc.bind, e.token(id)))
			c.expectHandshake(id, fhir.ContentFullResource, 0)
			e.write(1, tc.name)
			n := c.expectEvents(id, fhir.ContentFullResource, 1)
			if sum, _ := fhir.ReadNotification(n.raw); sum.Version != tc.want {
				t.Fatalf("version %v, want %v", sum.Version, tc.want)
			}
			if !beat {
				return
			}
			hb := c.expectNote(fhir.ContentFullResource)
			if hb.typ != fhir.NotifyHeartbeat || hb.since != 1 {
				t.Fatalf("got %s since %d, want a heartbeat since 1", hb.typ, hb.since)
			}
		})
	}
}

func TestWireVersionRefused(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		path, accept string
		status       int
	}{
		{"/ws?fhirVersion=3.0", "", http.StatusBadRequest},
		{"/ws?fhirVersion=", "", http.StatusBadRequest},
		{"/ws", "application/fhir+json; fhirVersion=6.0", http.StatusNotAcceptable},
	} {
		h := http.Header{}
		if tc.accept != "" {
			h.Set("Accept", tc.accept)
		}
		_, resp, err := e.dialResp(tc.path, h)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s %q: %v %v, want %d", tc.path, tc.accept, resp, err, tc.status)
			continue
		}
		resp.Body.Close()
	}
}
