package fhirtest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

const goldenDir = "../testdata/notifications"

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatalf("read golden file: %v", err)
	}
	return b
}

// goldenContent maps each golden notification file to its content level.
var goldenContent = map[string]string{
	"notification-handshake.json":           fhir.ContentIDOnly,
	"notification-heartbeat.json":           fhir.ContentIDOnly,
	"notification-event-empty.json":         fhir.ContentEmpty,
	"notification-event-id-only.json":       fhir.ContentIDOnly,
	"notification-event-full-resource.json": fhir.ContentFullResource,
	"notification-query-status.json":        fhir.ContentIDOnly,
	"notification-query-event.json":         fhir.ContentFullResource,
	"notification-error.json":               fhir.ContentIDOnly,
}

func TestGoldenFilesAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s (%v)", goldenDir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b := readGolden(t, name)
			if name == "status-searchset.json" {
				if err := fhirtest.ValidateStatusBundle(b); err != nil {
					t.Errorf("ValidateStatusBundle(%s) = %v", name, err)
				}
				return
			}
			// The R4B and R5 shapes of a case are named <case>-r4b.json
			// and <case>-r5.json.
			v, base := fhir.R4, name
			if s, ok := strings.CutSuffix(name, "-r4b.json"); ok {
				v, base = fhir.R4B, s+".json"
			} else if s, ok := strings.CutSuffix(name, "-r5.json"); ok {
				v, base = fhir.R5, s+".json"
			}
			content, ok := goldenContent[base]
			if !ok {
				t.Fatalf("golden file %s has no content level in goldenContent", name)
			}
			if err := fhirtest.ValidateContent(v, b, content); err != nil {
				t.Errorf("ValidateContent(%s, %s, %s) = %v", v, name, content, err)
			}
		})
	}
}

// mutate decodes a golden file, applies f and re-encodes it.
func mutate(t *testing.T, name string, f func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(readGolden(t, name), &b); err != nil {
		t.Fatal(err)
	}
	f(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func entry(b map[string]any, i int) map[string]any {
	return b["entry"].([]any)[i].(map[string]any)
}

func params(b map[string]any) []any {
	return entry(b, 0)["resource"].(map[string]any)["parameter"].([]any)
}

func setParams(b map[string]any, ps []any) {
	entry(b, 0)["resource"].(map[string]any)["parameter"] = ps
}

// param returns the first status parameter named name.
func param(b map[string]any, name string) map[string]any {
	for _, p := range params(b) {
		if p.(map[string]any)["name"] == name {
			return p.(map[string]any)
		}
	}
	panic("no parameter " + name)
}

// without drops the status parameters named name.
func without(b map[string]any, name string) {
	var out []any
	for _, p := range params(b) {
		if p.(map[string]any)["name"] != name {
			out = append(out, p)
		}
	}
	setParams(b, out)
}

func TestValidateBackportNotificationRejects(t *testing.T) {
	const idOnly = "notification-event-id-only.json"
	const empty = "notification-event-empty.json"
	tests := []struct {
		name string
		in   []byte
		want string // a substring of the error
	}{
		{"not JSON", []byte(`{"resourceType":"Bundle",`), "not valid JSON"},
		{"duplicate property", []byte(`{"resourceType":"Bundle","type":"history","type":"history"}`), `duplicate property "type"`},
		{"not a Bundle", []byte(`{"resourceType":"Patient"}`), "want Bundle"},
		{"wrong Bundle.type", mutate(t, idOnly, func(b map[string]any) { b["type"] = "collection" }), "Bundle.type is collection, want history"},
		{"no entries", mutate(t, idOnly, func(b map[string]any) { delete(b, "entry") }), "no entry"},
		{"missing request", mutate(t, idOnly, func(b map[string]any) { delete(entry(b, 1), "request") }), "Bundle.entry[1].request missing (bdl-3"},
		{"missing response", mutate(t, idOnly, func(b map[string]any) { delete(entry(b, 0), "response") }), "Bundle.entry[0].response missing (bdl-4"},
		{"request without method", mutate(t, idOnly, func(b map[string]any) {
			delete(entry(b, 2)["request"].(map[string]any), "method")
		}), "Bundle.entry[2].request needs method and url"},
		{"response without status", mutate(t, idOnly, func(b map[string]any) { entry(b, 1)["response"] = map[string]any{} }), "Bundle.entry[1].response needs status"},
		{"first entry not Parameters", mutate(t, idOnly, func(b map[string]any) {
			entry(b, 0)["resource"] = map[string]any{"resourceType": "Patient", "id": "p"}
		}), "Bundle.entry[0].resource is not a Parameters"},
		{"status request not $status", mutate(t, idOnly, func(b map[string]any) {
			entry(b, 0)["request"].(map[string]any)["url"] = "Subscription/sub-r4-ws-7"
		}), "is not a $status call"},
		{"status request not GET", mutate(t, idOnly, func(b map[string]any) {
			entry(b, 0)["request"].(map[string]any)["method"] = "POST"
		}), "want GET"},
		{"version-specific fullUrl", mutate(t, idOnly, func(b map[string]any) {
			entry(b, 1)["fullUrl"] = "https://fhir.example.com/r4/Encounter/enc-901/_history/2"
		}), "version specific (bdl-8)"},
		{"invalid R4: status as number", mutate(t, idOnly, func(b map[string]any) { param(b, "status")["valueCode"] = 5 }), "Bundle.entry[0].resource.parameter[2].valueCode"},
		{"invalid R4: unknown property", mutate(t, idOnly, func(b map[string]any) { entry(b, 1)["resourse"] = map[string]any{} }), "resourse"},
		{"invalid R4: Medplum-only resource", mutate(t, idOnly, func(b map[string]any) {
			entry(b, 1)["resource"] = map[string]any{"resourceType": "Project"}
		}), "Project is not an R4 resource type"},
		{"missing subscription", mutate(t, idOnly, func(b map[string]any) { without(b, "subscription") }), `parameter "subscription" occurs 0 times, want 1..1`},
		{"subscription without value", mutate(t, idOnly, func(b map[string]any) { delete(param(b, "subscription"), "valueReference") }), `parameter "subscription" has no valueReference`},
		{"two types", mutate(t, idOnly, func(b map[string]any) { setParams(b, append(params(b), param(b, "type"))) }), `parameter "type" occurs 2 times`},
		{"missing status", mutate(t, idOnly, func(b map[string]any) { without(b, "status") }), `parameter "status" occurs 0 times`},
		{"R5-only status code", mutate(t, idOnly, func(b map[string]any) { param(b, "status")["valueCode"] = "entered-in-error" }), "not an R4 subscription-status code"},
		{"misspelt type", mutate(t, idOnly, func(b map[string]any) { param(b, "type")["valueCode"] = "query-events" }), "not a subscription-notification-type code"},
		{"parameter without name", mutate(t, idOnly, func(b map[string]any) { delete(param(b, "topic"), "name") }), "parameter[1] has no name"},
		{"events-since as integer", mutate(t, idOnly, func(b map[string]any) {
			p := param(b, "events-since-subscription-start")
			delete(p, "valueString")
			p["valueInteger"] = 5
		}), `has no valueString`},
		{"events-since not decimal", mutate(t, idOnly, func(b map[string]any) { param(b, "events-since-subscription-start")["valueString"] = "05" }), "not a non-negative decimal"},
		{"event-notification without count", mutate(t, idOnly, func(b map[string]any) { without(b, "events-since-subscription-start") }), "needs events-since-subscription-start"},
		{"event-notification without event", mutate(t, idOnly, func(b map[string]any) { without(b, "notification-event"); b["entry"] = b["entry"].([]any)[:1] }), "event-notification needs a notification-event"},
		{"event number above count", mutate(t, idOnly, func(b map[string]any) { param(b, "events-since-subscription-start")["valueString"] = "4" }), "event-number 5 exceeds events-since-subscription-start 4"},
		{"event number missing", mutate(t, idOnly, func(b map[string]any) {
			ev := param(b, "notification-event")
			ev["part"] = ev["part"].([]any)[1:]
		}), `part "event-number" occurs 0 times`},
		{"mixed focus", mutate(t, idOnly, func(b map[string]any) {
			ev := param(b, "notification-event")
			ev["part"] = ev["part"].([]any)[:2] // number and timestamp only
		}), "1 of 2 notification-events have a focus"},
		{"empty with additional-context", mutate(t, empty, func(b map[string]any) {
			ev := param(b, "notification-event")
			ev["part"] = append(ev["part"].([]any), map[string]any{"name": "additional-context", "valueReference": map[string]any{"reference": "Patient/p-77"}})
		}), "additional-context but no focus"},
		{"empty with entries", mutate(t, empty, func(b map[string]any) {
			b["entry"] = append(b["entry"].([]any), map[string]any{
				"fullUrl": "https://fhir.example.com/r4/Patient/p-77", "request": map[string]any{"method": "GET", "url": "Patient/p-77"},
				"response": map[string]any{"status": "200"},
			})
		}), "1 entries after the status entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fhirtest.ValidateBackportNotification(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateBackportNotification(%s) = %v, want an error containing %q\n%s", tc.name, err, tc.want, tc.in)
			}
		})
	}
}

func TestValidateBackportContent(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                string // a substring of the error; "" for valid
	}{
		{"empty as empty", "notification-event-empty.json", fhir.ContentEmpty, ""},
		{"id-only as id-only", "notification-event-id-only.json", fhir.ContentIDOnly, ""},
		{"full as full", "notification-event-full-resource.json", fhir.ContentFullResource, ""},
		{"id-only bundle as full: allowed, a deleted or withheld resource has no body", "notification-event-id-only.json", fhir.ContentFullResource, ""},
		{"empty with focus", "notification-event-id-only.json", fhir.ContentEmpty, "notification-event has a focus"},
		{"id-only with resource", "notification-event-full-resource.json", fhir.ContentIDOnly, "Bundle.entry[1] has a resource"},
		{"id-only without focus", "notification-event-empty.json", fhir.ContentIDOnly, "2 of 2 notification-events lack a focus"},
		{"unknown level", "notification-event-empty.json", "full", `unknown content level "full"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fhirtest.ValidateBackportContent(readGolden(t, tc.file), tc.content)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ValidateBackportContent(%s, %s) = %v, want nil", tc.file, tc.content, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ValidateBackportContent(%s, %s) = %v, want an error containing %q", tc.file, tc.content, err, tc.want)
			}
		})
	}

	missing := mutate(t, "notification-event-full-resource.json", func(b map[string]any) {
		b["entry"] = append(b["entry"].([]any)[:1], b["entry"].([]any)[2])
	})
	err := fhirtest.ValidateBackportContent(missing, fhir.ContentFullResource)
	if want := "no entry for focus https://fhir.example.com/r4/Encounter/enc-901"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ValidateBackportContent(full-resource without the Encounter entry) = %v, want an error containing %q", err, want)
	}
	noURL := mutate(t, "notification-event-id-only.json", func(b map[string]any) { delete(entry(b, 1), "fullUrl") })
	err = fhirtest.ValidateBackportContent(noURL, fhir.ContentIDOnly)
	if want := "Bundle.entry[1] has no fullUrl"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ValidateBackportContent(id-only entry without fullUrl) = %v, want an error containing %q", err, want)
	}
}

func TestValidateStatusBundleRejects(t *testing.T) {
	const file = "status-searchset.json"
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"history type", mutate(t, file, func(b map[string]any) { b["type"] = "history" }), "want searchset"},
		{"request in searchset", mutate(t, file, func(b map[string]any) {
			entry(b, 0)["request"] = map[string]any{"method": "GET", "url": "Subscription/x/$status"}
		}), "request present in a searchset (bdl-3)"},
		{"no search mode", mutate(t, file, func(b map[string]any) { delete(entry(b, 1), "search") }), "Bundle.entry[1].search.mode is <nil>, want match"},
		{"wrong total", mutate(t, file, func(b map[string]any) { b["total"] = 3 }), "Bundle.total is 3 but there are 2 entries"},
		{"heartbeat status", mutate(t, file, func(b map[string]any) { param(b, "type")["valueCode"] = "heartbeat" }), "type is heartbeat, want query-status"},
		{"not Parameters", mutate(t, file, func(b map[string]any) {
			entry(b, 1)["resource"] = map[string]any{"resourceType": "Subscription", "status": "active", "reason": "r", "criteria": "c", "channel": map[string]any{"type": "websocket"}}
		}), "Bundle.entry[1].resource is not a Parameters"},
		{"missing status", mutate(t, file, func(b map[string]any) { without(b, "status") }), `parameter "status" occurs 0 times`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fhirtest.ValidateStatusBundle(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateStatusBundle(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestValidateR4(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // a substring of the error; "" for valid
	}{
		{"valid Patient", `{"resourceType":"Patient","id":"p-77","active":true,"gender":"female","birthDate":"1970-01-31",
			"name":[{"family":"Chalmers","given":["Peter","James"]}],"managingOrganization":{"reference":"Organization/1"}}`, ""},
		{"Patient with contained Observation", `{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"}}]}`, ""},
		{"bad gender", `{"resourceType":"Patient","gender":"f"}`, "Patient.gender"},
		{"bad birthDate", `{"resourceType":"Patient","birthDate":"31/01/1970"}`, "Patient.birthDate"},
		{"unknown property", `{"resourceType":"Patient","nickname":"P"}`, "nickname"},
		{"bad id", `{"resourceType":"Patient","id":"a b"}`, "Patient.id"},
		{"active as string", `{"resourceType":"Patient","active":"yes"}`, "Patient.active"},
		{"bad contained resource", `{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"done","code":{}}]}`, "Patient.contained[0].status"},
		{"contained without resourceType", `{"resourceType":"Patient","contained":[{"id":"x"}]}`, "missing resourceType"},
		{"missing required", `{"resourceType":"Encounter","status":"planned"}`, "class"},
		{"unknown resourceType", `{"resourceType":"Patientt"}`, `Patientt is not an R4 resource type`},
		{"Medplum resourceType", `{"resourceType":"Bot"}`, `Bot is not an R4 resource type`},
		{"R4B-only resourceType", `{"resourceType":"SubscriptionTopic"}`, `is not an R4 resource type`},
		{"no resourceType", `{"id":"x"}`, "is not an R4 resource type"},
		{"array", `[{"resourceType":"Patient"}]`, "not a JSON object"},
		{"duplicate property", `{"resourceType":"Patient","gender":"male","gender":"female"}`, `duplicate property "gender"`},
		{"trailing data", `{"resourceType":"Patient"} {}`, "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fhirtest.ValidateR4([]byte(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ValidateR4(%s) = %v, want nil", tc.in, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ValidateR4(%s) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

// fatalRecorder is a testing.TB that records Fatalf instead of stopping.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = fmt.Sprintf(format, args...) }

func TestMustHelpers(t *testing.T) {
	good := readGolden(t, "notification-event-full-resource.json")
	bad := []byte(`{"resourceType":"Bundle","type":"collection"}`)
	tests := []struct {
		name  string
		check func(testing.TB, []byte)
		in    []byte
		fails bool
	}{
		{"MustValidNotification good", fhirtest.MustValidNotification, good, false},
		{"MustValidNotification bad", fhirtest.MustValidNotification, bad, true},
		{"MustValidContent good", func(tb testing.TB, b []byte) { fhirtest.MustValidContent(tb, b, fhir.ContentFullResource) }, good, false},
		{"MustValidContent bad", func(tb testing.TB, b []byte) { fhirtest.MustValidContent(tb, b, fhir.ContentIDOnly) }, good, true},
		{"MustValidR4 good", fhirtest.MustValidR4, good, false},
		{"MustValidR4 bad", fhirtest.MustValidR4, []byte(`{"resourceType":"Bundle","type":"diary"}`), true},
	}
	for _, tc := range tests {
		r := &fatalRecorder{TB: t}
		tc.check(r, tc.in)
		if failed := r.msg != ""; failed != tc.fails {
			t.Errorf("%s: failed = %v (%q), want %v", tc.name, failed, r.msg, tc.fails)
		}
	}
}

// FuzzValidateBackportNotification checks that no input makes the
// validators panic, and that whatever passes also passes ValidateR4.
func FuzzValidateBackportNotification(f *testing.F) {
	for name := range goldenContent {
		f.Add(readGolden(f, name))
	}
	f.Add(readGolden(f, "status-searchset.json"))
	f.Add([]byte(`{"resourceType":"Bundle","type":"history","entry":[{}]}`))
	f.Add([]byte(`[{"a":1,"a":2}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := fhirtest.ValidateBackportNotification(b)
		for _, c := range []string{fhir.ContentEmpty, fhir.ContentIDOnly, fhir.ContentFullResource} {
			_ = fhirtest.ValidateBackportContent(b, c)
		}
		_ = fhirtest.ValidateStatusBundle(b)
		if err == nil {
			if err := fhirtest.ValidateR4(b); err != nil {
				t.Errorf("ValidateBackportNotification accepted what ValidateR4 rejects: %v", err)
			}
		}
	})
}
