package fhirtest

import (
	"strings"
	"testing"
)

// r5Example is the shape of the R5 specification's Subscription examples.
const r5Example = `{"resourceType":"Subscription","id":"example","status":"active",
 "topic":"http://example.org/FHIR/R5/SubscriptionTopic/admission","reason":"Example",
 "filterBy":[{"resourceType":"Encounter","filterParameter":"patient","value":"Patient/123"}],
 "channelType":{"system":"http://terminology.hl7.org/CodeSystem/subscription-channel-type","code":"rest-hook"},
 "endpoint":"https://example.org/Endpoints/d7dcc004808d","parameter":[{"name":"Authorization","value":"Bearer secret-token-abc-123"}],
 "heartbeatPeriod":86400,"timeout":60,"contentType":"application/fhir+json","content":"id-only","maxCount":10}`

func TestValidateR5Subscription(t *testing.T) {
	if err := ValidateR5Subscription([]byte(r5Example)); err != nil {
		t.Fatalf("the R5 example is refused: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"R4 criteria", `"topic":"http://example.org/FHIR/R5/SubscriptionTopic/admission"`, `"criteria":"Encounter"`, "criteria is not an R5"},
		{"no status", `"status":"active",`, ``, "status is required"},
		{"R4 status set only", `"status":"active"`, `"status":"sleeping"`, "not one of"},
		{"channelType a code", `"channelType":{"system":"http://terminology.hl7.org/CodeSystem/subscription-channel-type","code":"rest-hook"}`, `"channelType":"rest-hook"`, "channelType is required"},
		{"heartbeat a string", `"heartbeatPeriod":86400`, `"heartbeatPeriod":"86400"`, "JSON integer"},
		{"maxCount zero", `"maxCount":10`, `"maxCount":0`, "positiveInt"},
		{"unknown content", `"content":"id-only"`, `"content":"ids"`, "not one of"},
		{"comparator and modifier", `"filterParameter":"patient"`, `"filterParameter":"patient","comparator":"eq","modifier":"missing"`, "scr-1"},
		{"filter without value", `,"value":"Patient/123"`, ``, "value is required"},
		{"parameter without value", `,"value":"Bearer secret-token-abc-123"`, ``, "parameter[0].value is required"},
		{"end not an instant", `"reason":"Example"`, `"reason":"Example","end":"2020-01-01"`, "not an instant"},
		{"channel is R4", `"endpoint":"https://example.org/Endpoints/d7dcc004808d"`, `"channel":{"type":"rest-hook"}`, "channel is not an R5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := strings.Replace(r5Example, tc.old, tc.new, 1)
			if b == r5Example {
				t.Fatal("the mutation changed nothing")
			}
			err := ValidateR5Subscription([]byte(b))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
