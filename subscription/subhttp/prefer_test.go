package subhttp

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/fhirtest"
)

// TestPreferEveryWrite sends every REST write with each Prefer: return
// value and checks what the body holds: the resource (representation, the
// default), nothing (minimal) or an OperationOutcome saying what happened.
// Deletes have no representation: minimal is 204, anything else the
// OperationOutcome.
func TestPreferEveryWrite(t *testing.T) {
	s := newTestServer(t, Config{})
	n := 0
	// fresh makes a Patient with its own identifier and returns its id
	// and identifier value.
	fresh := func(t *testing.T) (id, ident string) {
		n++
		ident = "v" + strconv.Itoa(n)
		r := s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:p","value":"`+ident+`"}]}`)
		return str(r.body, "id"), ident
	}
	type write struct {
		name               string
		req                func(t *testing.T) (method, path, body string, headers []string)
		status             int
		outcome            string // what the OperationOutcome says
		deletion           bool
		representationType string
	}
	writes := []write{
		{name: "create", status: 201, outcome: "created Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				return "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, nil
			}},
		{name: "update", status: 200, outcome: "updated Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				id, _ := fresh(t)
				return "PUT", "/fhir/Patient/" + id, `{"resourceType":"Patient","id":"` + id + `","active":true}`, nil
			}},
		{name: "update that creates", status: 201, outcome: "created Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				n++
				id := "new-" + strconv.Itoa(n)
				return "PUT", "/fhir/Patient/" + id, `{"resourceType":"Patient","id":"` + id + `"}`, nil
			}},
		{name: "conditional create, no match", status: 201, outcome: "created Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				n++
				v := "cc" + strconv.Itoa(n)
				return "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:p","value":"` + v + `"}]}`, []string{"If-None-Exist", "identifier=urn:p|" + v}
			}},
		{name: "conditional create, one match", status: 200, outcome: "matched, nothing written: Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				_, v := fresh(t)
				return "POST", "/fhir/Patient", `{"resourceType":"Patient"}`, []string{"If-None-Exist", "identifier=urn:p|" + v}
			}},
		{name: "conditional update", status: 200, outcome: "updated Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				_, v := fresh(t)
				return "PUT", "/fhir/Patient?identifier=urn:p|" + v, `{"resourceType":"Patient","active":true,"identifier":[{"system":"urn:p","value":"` + v + `"}]}`, nil
			}},
		{name: "JSON Patch", status: 200, outcome: "updated Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				id, _ := fresh(t)
				return "PATCH", "/fhir/Patient/" + id, `[{"op":"add","path":"/active","value":true}]`, []string{"Content-Type", jsonPatchType}
			}},
		{name: "conditional FHIRPath Patch", status: 200, outcome: "updated Patient/", representationType: "Patient",
			req: func(t *testing.T) (string, string, string, []string) {
				_, v := fresh(t)
				return "PATCH", "/fhir/Patient?identifier=urn:p|" + v, `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"active"},{"name":"value","valueBoolean":true}]}]}`, nil
			}},
		{name: "delete", status: 200, outcome: "deleted Patient/", deletion: true,
			req: func(t *testing.T) (string, string, string, []string) {
				id, _ := fresh(t)
				return "DELETE", "/fhir/Patient/" + id, "", nil
			}},
		{name: "conditional delete", status: 200, outcome: "deleted Patient/", deletion: true,
			req: func(t *testing.T) (string, string, string, []string) {
				_, v := fresh(t)
				return "DELETE", "/fhir/Patient?identifier=urn:p|" + v, "", nil
			}},
	}
	for _, wr := range writes {
		for _, pref := range []string{"", "return=representation", "return=minimal", "return=OperationOutcome"} {
			t.Run(wr.name+"/"+cmpOr(pref, "no Prefer"), func(t *testing.T) {
				method, path, body, headers := wr.req(t)
				if pref != "" {
					headers = append(headers, "Prefer", pref)
				}
				r := s.do(t, method, path, body, headers...)
				want := wr.status
				if wr.deletion && pref == "return=minimal" {
					want = http.StatusNoContent
				}
				if r.status != want {
					t.Fatalf("%s %s = %d, want %d\n%s", method, path, r.status, want, r.raw)
				}
				if r.header.Get("ETag") == "" && !(wr.deletion && pref == "return=minimal") {
					t.Errorf("no ETag")
				}
				switch {
				case pref == "return=minimal":
					if len(r.raw) != 0 {
						t.Errorf("minimal answered a body: %s", r.raw)
					}
				case pref == "return=OperationOutcome" || wr.deletion:
					if str(r.body, "resourceType") != "OperationOutcome" || !strings.Contains(str(r.body, "issue", 0, "diagnostics"), wr.outcome) {
						t.Errorf("body = %s, want an OperationOutcome saying %q", r.raw, wr.outcome)
					}
				default:
					if str(r.body, "resourceType") != wr.representationType || str(r.body, "id") == "" {
						t.Errorf("body = %s, want the %s", r.raw, wr.representationType)
					}
				}
				if len(r.raw) > 0 {
					if err := fhirtest.ValidateR4(r.raw); err != nil {
						t.Errorf("not valid R4: %v\n%s", err, r.raw)
					}
				}
			})
		}
	}
}

// TestPreferInBundles: each entry of a transaction or batch answers as
// Prefer asks: minimal (the default) gives status, location and etag only,
// representation the resource, OperationOutcome an outcome per entry.
func TestPreferInBundles(t *testing.T) {
	s := newTestServer(t, Config{})
	s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", `{"resourceType":"Patient","identifier":[{"system":"urn:b","value":"old"}]}`)
	n := 0
	for _, kind := range []string{"transaction", "batch"} {
		for _, pref := range []string{"", "return=minimal", "return=representation", "return=OperationOutcome"} {
			t.Run(kind+"/"+cmpOr(pref, "no Prefer"), func(t *testing.T) {
				n++
				v := "b" + strconv.Itoa(n)
				bundle := `{"resourceType":"Bundle","type":"` + kind + `","entry":[
				  {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:b","value":"` + v + `"}]},"request":{"method":"POST","url":"Patient"}},
				  {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:b|old"}},
				  {"resource":{"resourceType":"Patient","id":"bp` + v + `"},"request":{"method":"PUT","url":"Patient/bp` + v + `"}}]}`
				var headers []string
				if pref != "" {
					headers = []string{"Prefer", pref}
				}
				r := s.mustDo(t, http.StatusOK, "POST", "/fhir", bundle, headers...)
				for i, e := range list(r.body, "entry") {
					if str(e, "response", "status") == "" || str(e, "response", "etag") == "" {
						t.Errorf("entry %d has no status or etag: %v", i, e)
					}
					hasRes, hasOutcome := get(e, "resource") != nil, get(e, "response", "outcome") != nil
					switch pref {
					case "", "return=minimal":
						if hasRes || hasOutcome {
							t.Errorf("entry %d: minimal carries a body: %v", i, e)
						}
					case "return=representation":
						if !hasRes || str(e, "resource", "resourceType") != "Patient" {
							t.Errorf("entry %d: no representation: %v", i, e)
						}
					case "return=OperationOutcome":
						if hasRes || str(e, "response", "outcome", "resourceType") != "OperationOutcome" {
							t.Errorf("entry %d: no OperationOutcome: %v", i, e)
						}
					}
				}
				if pref == "return=OperationOutcome" {
					if d := str(r.body, "entry", 1, "response", "outcome", "issue", 0, "diagnostics"); !strings.HasPrefix(d, "matched, nothing written") {
						t.Errorf("the matched conditional create says %q", d)
					}
				}
				if err := fhirtest.ValidateR4(r.raw); err != nil {
					t.Errorf("not valid R4: %v\n%s", err, r.raw)
				}
			})
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestBundleReadsShaped: read and vread entries of a batch or transaction
// take _summary and _elements as the REST reads do.
func TestBundleReadsShaped(t *testing.T) {
	s := newTestServer(t, Config{})
	p := s.mustDo(t, http.StatusCreated, "POST", "/fhir/Patient", `{"resourceType":"Patient","gender":"male","name":[{"family":"Z"}],"text":{"status":"empty","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">z</div>"}}`)
	id := str(p.body, "id")
	for _, kind := range []string{"batch", "transaction"} {
		r := s.mustDo(t, http.StatusOK, "POST", "/fhir", `{"resourceType":"Bundle","type":"`+kind+`","entry":[
		  {"request":{"method":"GET","url":"Patient/`+id+`?_elements=gender"}},
		  {"request":{"method":"GET","url":"Patient/`+id+`?_summary=text"}},
		  {"request":{"method":"GET","url":"Patient/`+id+`"}}]}`)
		e0, e1, e2 := get(r.body, "entry", 0, "resource"), get(r.body, "entry", 1, "resource"), get(r.body, "entry", 2, "resource")
		if str(e0, "gender") != "male" || get(e0, "name") != nil || str(e0, "meta", "tag", 0, "code") != "SUBSETTED" {
			t.Errorf("%s _elements=gender: %v", kind, e0)
		}
		if get(e1, "text") == nil || get(e1, "gender") != nil {
			t.Errorf("%s _summary=text: %v", kind, e1)
		}
		if get(e2, "name") == nil || get(e2, "text") == nil || get(e2, "meta", "tag") != nil {
			t.Errorf("%s unshaped read: %v", kind, e2)
		}
		if str(r.body, "entry", 0, "response", "etag") == "" {
			t.Errorf("%s read entry without etag: %s", kind, r.raw)
		}
	}
	r := s.do(t, "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/`+id+`?_summary=count"}},{"request":{"method":"GET","url":"Patient/`+id+`?gender=male"}}]}`)
	for i := range 2 {
		if st := str(r.body, "entry", i, "response", "status"); !strings.HasPrefix(st, "400") {
			t.Errorf("entry %d: status %q, want 400: %s", i, st, r.raw)
		}
	}
}
