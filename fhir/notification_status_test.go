package fhir_test

import (
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

// TestVersionNotificationGolden writes every golden case in the R4B and R5
// wire shapes, validates each with the version's rules, and compares it
// with its golden file.
func TestVersionNotificationGolden(t *testing.T) {
	for _, v := range []fhir.Version{fhir.R4B, fhir.R5} {
		for _, tc := range notificationCases {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				got, err := fhir.AppendNotification(nil, v, tc.st, tc.content, testBase, "bundle-"+tc.name, testNow)
				if err != nil {
					t.Fatalf("AppendNotification: %v", err)
				}
				fhirtest.MustValidVersionContent(t, v, got, tc.content)
				compareGolden(t, "notification-"+tc.name+"-"+versionName(v)+".json", got)
				// The R4 validator must refuse it: the shapes really differ.
				if fhirtest.ValidateBackportNotification(got) == nil {
					t.Errorf("%s notification passes as R4", v)
				}
			})
		}
	}
}

// TestAppendNotificationR4IsBackport: R4 through AppendNotification is
// byte for byte BackportNotification.
func TestAppendNotificationR4IsBackport(t *testing.T) {
	for _, tc := range notificationCases {
		a, err := fhir.AppendNotification(nil, fhir.R4, tc.st, tc.content, testBase, "b1", testNow)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := fhir.BackportNotification(tc.st, tc.content, testBase, "b1", testNow)
		if string(a) != string(b) {
			t.Errorf("%s: AppendNotification(R4) differs from BackportNotification", tc.name)
		}
	}
}

func TestVersionStatusBundle(t *testing.T) {
	statuses := []fhir.Status{
		{Subscription: testSub, Topic: testTopic, Status: "active", EventsSinceStart: 5},
		{Subscription: "Subscription/sub-2", Status: "error", Type: fhir.NotifyQueryStatus, EventsSinceStart: 1,
			Errors: []fhir.CodeableConcept{{Text: "endpoint did not answer"}}},
	}
	for _, v := range []fhir.Version{fhir.R4, fhir.R4B, fhir.R5} {
		got, err := fhir.VersionStatusBundle(v, statuses, testBase, "status-1", testNow)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if err := fhirtest.ValidateVersionStatusBundle(v, got); err != nil {
			t.Errorf("%s: %v\n%s", v, err, got)
		}
		if want := v != fhir.R4; strings.Contains(string(got), `"SubscriptionStatus"`) != want {
			t.Errorf("%s: SubscriptionStatus entries = %v, want %v", v, !want, want)
		}
	}
}

// TestReadNotificationVersions: the client-side reader decodes each
// version's status the same way.
func TestReadNotificationVersions(t *testing.T) {
	st := eventStatus()
	st.Extensions = []fhir.Extension{fhir.AuthExpires(testAuth)}
	var want fhir.NotificationSummary
	for i, v := range []fhir.Version{fhir.R4, fhir.R4B, fhir.R5} {
		b, err := fhir.AppendNotification(nil, v, st, fhir.ContentIDOnly, testBase, "b", testNow)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := fhir.ReadNotification(b)
		if !ok || n.Version != v {
			t.Fatalf("%s: ReadNotification ok=%v version=%v", v, ok, n.Version)
		}
		n.Version = 0
		if i == 0 {
			want = n
			if n.Type != fhir.NotifyEvent || n.EventsSinceStart != 5 || len(n.Events) != 2 || len(n.Focus) != 2 || n.AuthExpires == "" {
				t.Fatalf("R4 summary %+v", n)
			}
			continue
		}
		if n.Type != want.Type || n.Status != want.Status || n.Subscription != want.Subscription || n.Topic != want.Topic ||
			n.EventsSinceStart != want.EventsSinceStart || len(n.Events) != 2 || n.Events[1] != 5 || len(n.Focus) != 2 ||
			n.Focus[0] != want.Focus[0] || n.AuthExpires != want.AuthExpires {
			t.Errorf("%s summary %+v, want %+v", v, n, want)
		}
	}
}

// TestValidateVersionRejects: the R4B/R5 validators catch what they claim
// to.
func TestValidateVersionRejects(t *testing.T) {
	good, err := fhir.AppendNotification(nil, fhir.R4B, eventStatus(), fhir.ContentFullResource, testBase, "b", testNow)
	if err != nil {
		t.Fatal(err)
	}
	good5, _ := fhir.AppendNotification(nil, fhir.R5, eventStatus(), fhir.ContentFullResource, testBase, "b", testNow)
	for _, tc := range []struct {
		name string
		v    fhir.Version
		b    string
		want string
	}{
		{"R4B as R5", fhir.R5, string(good), "want subscription-notification"},
		{"R5 as R4B", fhir.R4B, string(good5), "want history"},
		{"event number as number", fhir.R4B, strings.Replace(string(good), `"eventNumber":"4"`, `"eventNumber":4`, 1), "eventNumber"},
		{"event above since", fhir.R4B, strings.Replace(string(good), `"eventsSinceSubscriptionStart":"5"`, `"eventsSinceSubscriptionStart":"4"`, 1), "exceeds"},
		{"unknown element", fhir.R5, strings.Replace(string(good5), `"type":"event-notification"`, `"type":"event-notification","eventsSinceStart":"5"`, 1), "unknown element"},
		{"no subscription", fhir.R5, strings.Replace(string(good5), `"subscription":{"reference"`, `"subscriptionX":{"reference"`, 1), "subscription.reference"},
		{"R5 response", fhir.R5, strings.Replace(string(good5), `"request":{"method":"PUT"`, `"response":{"status":"200"},"request":{"method":"PUT"`, 1), "R5 bdl-4"},
		{"R4B missing response", fhir.R4B, strings.Replace(string(good), `,"response":{"status":"204"}}]}`, `}]}`, 1), "bdl-4"},
	} {
		err := fhirtest.ValidateNotification(tc.v, []byte(tc.b))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func versionName(v fhir.Version) string {
	if v == fhir.R5 {
		return "r5"
	}
	return "r4b"
}

// TestRelativeReferences: Relative writes the SubscriptionStatus's local
// references as Type/id (Medplum's SubscriptionManager takes the id from
// the second path segment), leaves foreign ones absolute, and changes
// nothing in R4.
func TestRelativeReferences(t *testing.T) {
	st := eventStatus()
	st.Relative = true
	b, err := fhir.AppendNotification(nil, fhir.R4B, st, fhir.ContentIDOnly, testBase, "b", testNow)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.MustValidVersionContent(t, fhir.R4B, b, fhir.ContentIDOnly)
	for _, want := range []string{`"subscription":{"reference":"Subscription/sub-r4-ws-7"}`, `"focus":{"reference":"Encounter/enc-901"}`,
		`"focus":{"reference":"Observation/obs-3"}`, `"additionalContext":[{"reference":"Patient/p-77"}]`, `"fullUrl":"` + testBase + `/Encounter/enc-901"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %s in %s", want, b)
		}
	}
	r4, _ := fhir.AppendNotification(nil, fhir.R4, st, fhir.ContentIDOnly, testBase, "b", testNow)
	st.Relative = false
	r4abs, _ := fhir.AppendNotification(nil, fhir.R4, st, fhir.ContentIDOnly, testBase, "b", testNow)
	if string(r4) != string(r4abs) {
		t.Error("Relative changed an R4 notification")
	}
}

// TestAdditionalContextOnlyIDOnly: additional context is named in id-only
// notifications and left out of full-resource ones, which would have to
// carry the resource too; in every version.
func TestAdditionalContextOnlyIDOnly(t *testing.T) {
	for _, v := range []fhir.Version{fhir.R4, fhir.R4B, fhir.R5} {
		for content, want := range map[string]bool{fhir.ContentIDOnly: true, fhir.ContentFullResource: false, fhir.ContentEmpty: false} {
			b, err := fhir.AppendNotification(nil, v, eventStatus(), content, testBase, "b", testNow)
			if err != nil {
				t.Fatal(err)
			}
			fhirtest.MustValidVersionContent(t, v, b, content)
			got := strings.Contains(string(b), `"additional-context"`) || strings.Contains(string(b), `"additionalContext"`)
			if got != want {
				t.Errorf("%s %s: names the additional context %v, want %v", v, content, got, want)
			}
		}
	}
}
