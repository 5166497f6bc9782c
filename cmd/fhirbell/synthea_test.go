package main

import (
	_ "embed"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// syntheaFull is a Synthea-style patient Bundle with everything in it: the
// Organization and Practitioner (each with ifNoneExist), the Patient, an
// Encounter and three Observations, tied together by urn:uuid: references
// and by conditional references (Practitioner?identifier=…,
// Organization?identifier=…) to entries of the same Bundle.
//
//go:embed testdata/synthea-full-transaction.json
var syntheaFull string

func TestSyntheaLoadsTwiceInMemory(t *testing.T) { loadSyntheaTwice(t, mustRunServe(t, nil).URL) }

func TestSyntheaLoadsTwiceOnPostgres(t *testing.T) {
	loadSyntheaTwice(t, mustRunServe(t, map[string]string{"FHIRBELL_DATABASE_URL": pgtest.NewSchema(t)}).URL)
}

// loadSyntheaTwice: the first load creates every entry and notifies each
// Observation once; the second creates nothing, rewrites nothing (one
// version of each, in the type histories) and notifies nothing, and
// answers with the same resources.
func loadSyntheaTwice(t *testing.T, base string) {
	fhir := base + "/fhir"
	sub := do(t, "POST", fhir+"/Subscription", `{"resourceType":"Subscription","status":"requested","reason":"load",
	  "criteria":"`+subscription.ChangedTopic("Observation")+`",
	  "channel":{"type":"websocket","payload":"application/fhir+json",
	   "_payload":{"extension":[{"url":"`+subscription.ExtPayloadContent+`","valueCode":"id-only"}]}}}`)
	wantStatus(t, sub, 201)
	events := func() []string {
		ev := do(t, "GET", fhir+"/Subscription/"+sub.Body["id"].(string)+"/$events", "")
		wantStatus(t, ev, 200)
		var out []string
		for _, e := range ev.Body["entry"].([]any)[1:] {
			e := e.(map[string]any)
			out = append(out, e["request"].(map[string]any)["method"].(string)+" "+strings.TrimPrefix(e["fullUrl"].(string), fhir+"/"))
		}
		return out
	}

	loads := make([][]string, 2) // each load's entry locations, without the version
	for n, want := range []string{"201 Created", "200 OK"} {
		r := do(t, "POST", fhir, syntheaFull)
		wantStatus(t, r, 200)
		for i, e := range r.Body["entry"].([]any) {
			resp := e.(map[string]any)["response"].(map[string]any)
			if resp["status"] != want {
				t.Errorf("load %d, entry %d: status %v, want %s", n+1, i, resp["status"], want)
			}
			if resp["etag"] != `W/"1"` || resp["lastModified"] == nil {
				t.Errorf("load %d, entry %d: etag %v, lastModified %v; want W/\"1\" and a time", n+1, i, resp["etag"], resp["lastModified"])
			}
			loc, _ := resp["location"].(string)
			if n == 1 {
				// A conditional create that matched names the match by
				// its ETag only; the resource is the first load's.
				loc = loads[0][i]
			}
			loads[n] = append(loads[n], strings.TrimSuffix(loc, "/_history/1"))
		}
		if got := events(); len(got) != 3 {
			t.Errorf("after load %d: Observation events %q, want one per Observation of the first load", n+1, got)
		}
	}
	ids := loads[0] // Organization, Practitioner, Patient, Encounter, Observation ×3
	for typ, want := range map[string]int{"Organization": 1, "Practitioner": 1, "Patient": 1, "Encounter": 1, "Observation": 3} {
		got := do(t, "GET", fhir+"/"+typ+"?_total=accurate&_count=10", "")
		if got.Body["total"] != float64(want) {
			t.Errorf("%s after two loads: total %v, want %d", typ, got.Body["total"], want)
		}
		hist := do(t, "GET", fhir+"/"+typ+"/_history", "")
		wantStatus(t, hist, 200)
		entries, _ := hist.Body["entry"].([]any)
		if len(entries) != want {
			t.Errorf("%s/_history after two loads: %d versions, want %d (the second load writes nothing)", typ, len(entries), want)
		}
	}
	read := func(ref string) map[string]any {
		t.Helper()
		r := do(t, "GET", fhir+"/"+ref, "")
		wantStatus(t, r, 200)
		if strings.Contains(string(r.Raw), "urn:uuid:") || strings.Contains(string(r.Raw), "?identifier=") {
			t.Errorf("%s keeps an unresolved reference: %s", ref, r.Raw)
		}
		return r.Body
	}
	ref := func(v any, path ...any) string {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		s, _ := v.(string)
		return s
	}
	org, prac, pat, enc := ids[0], ids[1], ids[2], ids[3]
	p := read(pat)
	if got := ref(p, "generalPractitioner", 0, "reference"); got != prac {
		t.Errorf("Patient.generalPractitioner = %q, want %q (the Bundle's own Practitioner)", got, prac)
	}
	if got := ref(p, "managingOrganization", "reference"); got != org {
		t.Errorf("Patient.managingOrganization = %q, want %q", got, org)
	}
	e := read(enc)
	if ref(e, "subject", "reference") != pat || ref(e, "participant", 0, "individual", "reference") != prac || ref(e, "serviceProvider", "reference") != org {
		t.Errorf("Encounter references: %v", e)
	}
	for _, o := range ids[4:] {
		ob := read(o)
		if ref(ob, "subject", "reference") != pat || ref(ob, "encounter", "reference") != enc || ref(ob, "performer", 0, "reference") != prac {
			t.Errorf("Observation references: %v", ob)
		}
	}
	// $everything of the Patient, two per page: the Patient, its
	// Encounter and its Observations (the Practitioner and Organization
	// are outside its compartment), each once.
	var everything []string
	for next := fhir + "/" + pat + "/$everything?_count=2"; next != ""; {
		r := do(t, "GET", next, "")
		wantStatus(t, r, 200)
		next = ""
		for _, l := range r.Body["link"].([]any) {
			if l := l.(map[string]any); l["relation"] == "next" {
				next = l["url"].(string)
			}
		}
		entries, _ := r.Body["entry"].([]any)
		for _, e := range entries {
			res := e.(map[string]any)["resource"].(map[string]any)
			everything = append(everything, res["resourceType"].(string)+"/"+res["id"].(string))
		}
		if len(everything) > 20 {
			t.Fatal("$everything does not end")
		}
	}
	if got, want := strings.Join(everything, " "), strings.Join(append([]string{pat, enc}, ids[4:]...), " "); got != want {
		// The Observations come in the search's order, not the Bundle's.
		slices.Sort(everything)
		w := append([]string{pat, enc}, ids[4:]...)
		slices.Sort(w)
		if !slices.Equal(everything, w) {
			t.Errorf("$everything = %s, want %s", got, want)
		}
	}
	// The conditional references find what the load made, by search too.
	q := url.Values{"subject": {pat}, "performer": {prac}, "_total": {"accurate"}}
	if got := do(t, "GET", fhir+"/Observation?"+q.Encode(), ""); got.Body["total"] != float64(3) {
		t.Errorf("Observations of the Patient by the Practitioner: %v, want 3", got.Body["total"])
	}
}
