package subscription_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// TestTopicsAsBasic: every topic is also an R4 Basic (code
// fhir-types#SubscriptionTopic, cross-version extensions), valid R4, found
// by the IG's discovery search and readable by id; a Basic may not stand
// for a topic.
func TestTopicsAsBasic(t *testing.T) {
	e := newEnv(t, func(*testing.T) subscription.Store { return memstore.New() })
	ctx := t.Context()
	q, err := search.ParseQuery("Basic", url.Values{"code": {subscription.TopicBasicSystem + "|" + subscription.TopicBasicCode}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Search(ctx, q, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(subscription.BuiltinTopics()); len(res.Matches) != want || res.Total != want {
		t.Fatalf("Basic?code=…SubscriptionTopic: %d matches, total %d; want %d", len(res.Matches), res.Total, want)
	}
	for _, m := range res.Matches {
		if err := fhirtest.ValidateR4(m.Body); err != nil {
			t.Errorf("Basic/%s: %v\n%s", m.ID, err, m.Body)
		}
	}
	b, err := e.svc.Read(ctx, "Basic", "encounter-start")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url","valueUri":"` + subscription.EncounterStartTopic + `"}`,
		`"url":"http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"`,
		`{"url":"supportedInteraction","valueCode":"update"}`,
		`{"extension":[{"url":"current","valueString":"status=in-progress"}`,
		`],"url":"queryCriteria"}`,
		`{"url":"requireBoth","valueBoolean":true}`,
		`"url":"http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.canFilterBy"`,
		`{"url":"filterParameter","valueString":"patient"}`,
		`{"url":"include","valueString":"Encounter:patient"}`,
		`"modifierExtension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status","valueCode":"active"}]`,
		`"code":{"coding":[{"code":"SubscriptionTopic","system":"http://hl7.org/fhir/fhir-types"}]}`,
	} {
		if !strings.Contains(string(b.Body), want) {
			t.Errorf("Basic/encounter-start lacks %s\n%s", want, b.Body)
		}
	}
	// Another code finds none; a plain Basic search finds them too.
	other, _ := search.ParseQuery("Basic", url.Values{"code": {"http://example.org|x"}})
	if res, err := e.svc.Search(ctx, other, 100); err != nil || len(res.Matches) != 0 {
		t.Errorf("Basic?code=other: %v %v", res.Matches, err)
	}
	// Writes: a Basic standing for a topic, or taking a topic's id, is refused.
	for _, body := range []string{
		`{"resourceType":"Basic","code":{"coding":[{"system":"http://hl7.org/fhir/fhir-types","code":"SubscriptionTopic"}]}}`,
		`{"resourceType":"Basic","id":"encounter-start","code":{"text":"x"}}`,
	} {
		r, _ := fhir.ParseResource([]byte(body))
		var err error
		if r.ID != "" {
			_, _, err = e.svc.Update(ctx, r, 0)
		} else {
			_, err = e.svc.Create(ctx, r)
		}
		if err == nil {
			t.Errorf("write of %s accepted", body)
		}
	}
	e.create(`{"resourceType":"Basic","code":{"text":"an ordinary Basic"}}`)
}
