package subhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/fhirtest"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

func TestMetadata(t *testing.T) {
	var built atomic.Int64
	s := newTestServer(t, Config{
		SoftwareVersion: "1.2.3",
		Capability: func(cs *CapabilityStatement, serverBase string) {
			built.Add(1)
			cs.Rest[0].Extension = append(cs.Rest[0].Extension, Extension{
				URL:      "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket",
				ValueURI: strings.Replace(serverBase, "http", "ws", 1) + "/ws",
			})
			sub := cs.Resource("Subscription")
			sub.Operation = append(sub.Operation, Operation{Name: "status",
				Definition: "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"})
		},
	})
	r := s.mustDo(t, http.StatusOK, "GET", "/fhir/metadata", "")
	if err := fhirtest.ValidateR4(r.raw); err != nil {
		t.Errorf("CapabilityStatement is not valid R4: %v", err)
	}
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"resourceType"}, "CapabilityStatement"},
		{[]any{"status"}, "active"},
		{[]any{"kind"}, "instance"},
		{[]any{"fhirVersion"}, "4.0.1"},
		{[]any{"software", "name"}, "fhirbell"},
		{[]any{"software", "version"}, "1.2.3"},
		{[]any{"implementation", "url"}, s.URL + "/fhir"},
		{[]any{"format", 1}, "application/fhir+json"},
		{[]any{"rest", 0, "mode"}, "server"},
		{[]any{"rest", 0, "extension", 0, "valueUri"}, strings.Replace(s.URL, "http", "ws", 1) + "/ws"},
	}
	for _, c := range checks {
		if got := get(r.body, c.path...); got != c.want {
			t.Errorf("metadata %v = %v, want %v", c.path, got, c.want)
		}
	}
	var restInteractions []string
	for _, i := range list(r.body, "rest", 0, "interaction") {
		restInteractions = append(restInteractions, str(i, "code"))
	}
	if !slices.Equal(restInteractions, []string{"transaction", "batch", "history-system"}) {
		t.Errorf("rest.interaction = %v, want [transaction batch history-system]", restInteractions)
	}
	if op := get(r.body, "rest", 0, "operation", 0); str(op, "name") != "validate" || str(op, "definition") != "http://hl7.org/fhir/OperationDefinition/Resource-validate" {
		t.Errorf("rest.operation[0] = %v, want $validate", op)
	}
	var restParams []string
	for _, p := range list(r.body, "rest", 0, "searchParam") {
		restParams = append(restParams, str(p, "name"))
	}
	if !slices.Equal(restParams, []string{"_summary", "_elements"}) {
		t.Errorf("rest.searchParam = %v, want [_summary _elements]", restParams)
	}
	if doc := str(r.body, "rest", 0, "documentation"); strings.Contains(doc, "Not supported: conditional") || !strings.Contains(doc, "FHIRPath Patch") {
		t.Errorf("rest.documentation is out of date: %s", doc)
	}
	resources := list(r.body, "rest", 0, "resource")
	if len(resources) != len(fhir.ResourceTypes()) {
		t.Errorf("%d resources, want %d", len(resources), len(fhir.ResourceTypes()))
	}
	var patient, subscriptionRes any
	for _, res := range resources {
		switch str(res, "type") {
		case "Patient":
			patient = res
		case "Subscription":
			subscriptionRes = res
		}
	}
	var interactions []string
	for _, i := range list(patient, "interaction") {
		interactions = append(interactions, str(i, "code"))
	}
	if want := []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}; !slices.Equal(interactions, want) {
		t.Errorf("Patient interactions = %v, want %v", interactions, want)
	}
	if got := str(patient, "operation", 0, "definition"); got != "http://hl7.org/fhir/OperationDefinition/Patient-everything" || str(patient, "operation", 0, "name") != "everything" {
		t.Errorf("Patient operation = %v, want $everything", get(patient, "operation"))
	}
	for k, want := range map[string]any{"versioning": "versioned", "readHistory": true, "updateCreate": true,
		"conditionalCreate": true, "conditionalUpdate": true, "conditionalRead": "full-support", "conditionalDelete": "multiple"} {
		if got := get(patient, k); got != want {
			t.Errorf("Patient.%s = %v, want %v", k, got, want)
		}
	}
	var params []string
	for _, p := range list(patient, "searchParam") {
		params = append(params, str(p, "name")+":"+str(p, "type"))
	}
	for _, want := range []string{"birthdate:date", "name:string", "identifier:token", "_id:token", "_lastUpdated:date"} {
		if !slices.Contains(params, want) {
			t.Errorf("Patient searchParam lacks %s (has %v)", want, params)
		}
	}
	if got := str(subscriptionRes, "operation", 0, "name"); got != "status" {
		t.Errorf("Subscription operation = %q, want the hook's status", got)
	}

	// Cached: the hook runs once per base and generation.
	s.mustDo(t, http.StatusOK, "GET", "/fhir/metadata", "")
	if n := built.Load(); n != 1 {
		t.Errorf("built %d times for one base, want 1", n)
	}
	s.svc.Topics().Add(subscription.BuiltinTopics()[0]) // a topic write: a new generation
	s.mustDo(t, http.StatusOK, "GET", "/fhir/metadata", "")
	if n := built.Load(); n != 2 {
		t.Errorf("built %d times after the topics changed, want 2", n)
	}
}

// forwarded is a trusted proxy that forwarded https://proxy.example.
type forwarded struct{}

func (forwarded) Scheme(*http.Request) string { return "https" }
func (forwarded) Host(*http.Request) string   { return "proxy.example" }

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"derived from the request", Config{}, "http://example.test/fhir/Patient/"},
		{"configured", Config{Base: endpoint.NewBase("https://fhir.example.org/", nil)}, "https://fhir.example.org/fhir/Patient/"},
		{"through a proxy", Config{Base: endpoint.NewBase("", forwarded{})}, "https://proxy.example/fhir/Patient/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(subscription.NewService(memstore.New()), tt.cfg)
			req := httptest.NewRequest("POST", "http://example.test/Patient", strings.NewReader(`{"resourceType":"Patient"}`))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, tt.want) {
				t.Errorf("Location = %q, want prefix %q", loc, tt.want)
			}
		})
	}
}

// TestMiddleware checks what every route gets: routes under
// /Subscription win over the generic ones and leave them intact, the
// helpers work behind the middleware, an error a handler returns becomes an
// OperationOutcome (a 500 without internals, logged), and a panic is
// recovered.
func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Config{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		testRoutes: func(r chi.Router) {
			r.Method("GET", "/Subscription/{id}/$status", handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				return writeJSON(w, r, http.StatusOK, map[string]string{"resourceType": "Parameters", "id": chi.URLParam(r, "id"),
					"base": fhirBase(r)})
			}))
			r.Method("POST", "/Subscription/{id}/$events", handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				if _, err := readJSONBody(w, r); err != nil {
					return err
				}
				return subscription.ErrUnavailable
			}))
			r.Get("/Subscription/$panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
			r.Method("GET", "/Subscription/$fail", handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				return errors.New("secret internal detail")
			}))
		},
	})
	r := s.mustDo(t, http.StatusOK, "GET", "/fhir/Subscription/s1/$status", "")
	if str(r.body, "id") != "s1" || str(r.body, "base") != s.URL+"/fhir" {
		t.Errorf("$status = %s", r.raw)
	}
	r = s.mustDo(t, http.StatusServiceUnavailable, "POST", "/fhir/Subscription/s1/$events", `{"resourceType":"Parameters"}`)
	if r.header.Get("Retry-After") == "" || str(r.body, "issue", 0, "code") != "transient" {
		t.Errorf("503 = %s, Retry-After %q", r.raw, r.header.Get("Retry-After"))
	}
	s.mustDo(t, http.StatusUnsupportedMediaType, "POST", "/fhir/Subscription/s1/$events", "x", "Content-Type", "text/plain")
	s.mustDo(t, http.StatusNotFound, "GET", "/fhir/Subscription/s1", "")
	s.mustDo(t, http.StatusCreated, "PUT", "/fhir/Subscription/s1",
		`{"resourceType":"Subscription","id":"s1","status":"requested","reason":"r","criteria":"Patient","channel":{"type":"websocket"}}`)
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Subscription/s1", "")

	r = s.mustDo(t, http.StatusInternalServerError, "GET", "/fhir/Subscription/$panic", "")
	if str(r.body, "resourceType") != "OperationOutcome" || str(r.body, "issue", 0, "code") != "exception" {
		t.Errorf("panic answer = %s, want an exception OperationOutcome", r.raw)
	}
	r = s.mustDo(t, http.StatusInternalServerError, "GET", "/fhir/Subscription/$fail", "")
	if strings.Contains(string(r.raw), "secret") {
		t.Errorf("500 body leaks the internal error: %s", r.raw)
	}
	for _, want := range []string{"level=ERROR msg=panic", "boom", "level=ERROR msg=\"internal error\"", "secret internal detail",
		"request_id=", "path=/fhir/Subscription/$fail"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestLogOmitsQuery(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	s.mustDo(t, http.StatusOK, "GET", "/fhir/Patient?identifier=secret-mrn", "")
	if strings.Contains(logs.String(), "secret-mrn") {
		t.Errorf("log holds the query string:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "status=200") {
		t.Errorf("log lacks the status:\n%s", logs.String())
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDiag   string
	}{
		{"validation", fmt.Errorf("update: %w", fhir.Invalid("id", "bad")), 400, "invalid", "id: bad"},
		{"validation code", &fhir.ValidationError{Path: "x", Msg: "no", Code: fhir.IssueNotSupported}, 400, "not-supported", "x: no"},
		{"not found", fmt.Errorf("Patient/1: %w", subscription.ErrNotFound), 404, "not-found", "Patient/1: not found"},
		{"gone", subscription.ErrGone, 410, "deleted", "resource deleted"},
		{"conflict", fmt.Errorf("create: %w", subscription.ErrConflict), 409, "conflict", "conflict"},
		{"precondition", subscription.ErrPreconditionFailed, 412, "conflict", "version mismatch"},
		{"unavailable", fmt.Errorf("read: %w", subscription.ErrUnavailable), 503, "transient", "unavailable"},
		{"deadline", context.DeadlineExceeded, 503, "transient", "timed out"},
		{"http error", &statusError{Status: 415, Code: "not-supported", Msg: "m"}, 415, "not-supported", "m"},
		{"entry", entryErr(3, "", subscription.ErrNotFound), 404, "not-found", "Bundle.entry[3]: not found"},
		{"entry validation", entryErr(1, "resource", fhir.Invalid("id", "bad")), 400, "invalid", "Bundle.entry[1].resource.id: bad"},
		{"internal", errors.New("pq: password authentication failed"), 500, "exception", "internal server error"},
	}
	for _, tt := range tests {
		status, oo := errorOutcome(tt.err)
		if status != tt.wantStatus || oo.Issue[0].Code != tt.wantCode || !strings.Contains(oo.Issue[0].Diagnostics, tt.wantDiag) {
			t.Errorf("errorOutcome(%v) = %d %s %q, want %d %s containing %q", tt.err, status, oo.Issue[0].Code,
				oo.Issue[0].Diagnostics, tt.wantStatus, tt.wantCode, tt.wantDiag)
		}
	}
	if status, oo := errorOutcome(fmt.Errorf("search: %w", context.Canceled)); status != 0 || oo != nil {
		t.Errorf("errorOutcome(canceled) = %d %v, want 0 nil", status, oo)
	}
}

func TestParseETag(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`W/"3"`, 3, false},
		{`"3"`, 3, false},
		{` W/"12" `, 12, false},
		{`3`, 0, true},
		{`W/3`, 0, true},
		{`W/"0"`, 0, true},
		{`W/"-1"`, 0, true},
		{`W/"x"`, 0, true},
		{`"`, 0, true},
		{`*`, 0, true},
		{``, 0, true},
	}
	for _, tt := range tests {
		got, err := parseETag(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseETag(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPreferReturn(t *testing.T) {
	tests := []struct {
		header string
		want   string
	}{
		{"", "def"},
		{"return=minimal", "minimal"},
		{"return=representation", "representation"},
		{"respond-async, return=OperationOutcome", "OperationOutcome"},
		{`return="minimal"; handling=strict`, "minimal"},
		{"RETURN=minimal", "minimal"},
		{"return=bogus", "def"},
		{"handling=lenient", "def"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		if tt.header != "" {
			r.Header.Set("Prefer", tt.header)
		}
		if got := preferReturn(r, "def"); got != tt.want {
			t.Errorf("preferReturn(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	const fhirCT, jsonCT = "application/fhir+json; charset=utf-8", "application/json; charset=utf-8"
	const r4 = "; fhirVersion=4.0"
	tests := []struct {
		name, format, accept string
		want                 string // "" is 406
	}{
		{"nothing asked", "", "", fhirCT},
		{"Accept fhir+json", "", "application/fhir+json", fhirCT},
		{"Accept json", "", "application/json", jsonCT},
		{"Accept DSTU2 name", "", "application/json+fhir", "application/json+fhir; charset=utf-8"},
		{"Accept with charset", "", "application/fhir+json; charset=UTF-8", fhirCT},
		{"Accept R4 version", "", "application/fhir+json; fhirVersion=4.0", fhirCT + r4},
		{"Accept R4 patch version", "", "application/fhir+json;fhirVersion=4.0.1", fhirCT + r4},
		{"Accept R5 only", "", "application/fhir+json; fhirVersion=5.0", ""},
		{"Accept R5 preferred, R4 too", "", "application/fhir+json; fhirVersion=5.0, application/fhir+json; fhirVersion=4.0; q=0.5", fhirCT + r4},
		{"q picks json over fhir+json", "", "application/fhir+json;q=0.5, application/json;q=0.9", jsonCT},
		{"tie: first listed", "", "application/json, application/fhir+json", jsonCT},
		{"XML preferred, JSON acceptable", "", "application/fhir+xml, application/fhir+json;q=0.8", fhirCT},
		{"browser Accept", "", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", fhirCT},
		{"application/*", "", "application/*", fhirCT},
		{"XML only", "", "application/fhir+xml", ""},
		{"XML and HTML", "", "text/html, application/xml", ""},
		{"JSON refused with q=0", "", "application/fhir+json;q=0, application/xml", ""},
		{"two Accept lines", "", "application/xml\napplication/json", jsonCT},
		{"unparsable Accept", "", ";;;", fhirCT},
		{"_format json", "json", "", fhirCT},
		{"_format fhir+json", "fhir+json", "", fhirCT},
		{"_format application/fhir+json", "application/fhir+json", "", fhirCT},
		{"_format with an unescaped +", "application/fhir json", "", fhirCT},
		{"_format application/json", "application/json", "", jsonCT},
		{"_format with version", "application/fhir+json;fhirVersion=4.0", "", fhirCT + r4},
		{"_format other version", "application/fhir+json;fhirVersion=3.0", "", ""},
		{"_format wins over Accept", "json", "application/fhir+xml", fhirCT},
		{"_format xml", "xml", "application/fhir+json", ""},
		{"_format application/fhir+xml", "application/fhir+xml", "", ""},
		{"_format turtle", "ttl", "", ""},
		{"_format html", "html", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := "/fhir/metadata"
			if tt.format != "" {
				u += "?_format=" + url.QueryEscape(tt.format)
			}
			r := httptest.NewRequest("GET", u, nil)
			for _, a := range strings.Split(tt.accept, "\n") {
				if a != "" {
					r.Header.Add("Accept", a)
				}
			}
			got, err := negotiate(r)
			if tt.want == "" {
				se, ok := err.(*statusError)
				if !ok || se.Status != http.StatusNotAcceptable {
					t.Fatalf("negotiate = %q, %v; want a 406", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("negotiate = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRewriteRefs(t *testing.T) {
	m := map[string]string{"urn:uuid:1": "Patient/a"}
	resolve := func(path, ref string) (string, error) {
		if to, ok := m[ref]; ok {
			return to, nil
		}
		if strings.HasPrefix(ref, "urn:") {
			return "", fhir.Invalid(path, "unresolved")
		}
		return ref, nil
	}
	tests := []struct {
		name, in, want string
		wantChanged    bool
		wantErr        string
	}{
		{"nested", `{"a":{"reference":"urn:uuid:1"},"n":1.50,"b":[true,null]}`, `{"a":{"reference":"Patient/a"},"n":1.50,"b":[true,null]}`, true, ""},
		{"array", `{"p":[{"reference":"x"},{"reference":"urn:uuid:1","display":"<b>"}]}`, `{"p":[{"reference":"x"},{"reference":"Patient/a","display":"<b>"}]}`, true, ""},
		{"escaped", `{"reference":"urn:uuid\u003a1"}`, `{"reference":"Patient/a"}`, true, ""},
		{"not a reference", `{"value":"urn:uuid:1"}`, `{"value":"urn:uuid:1"}`, false, ""},
		{"non-string reference", `{"reference":{"reference":"urn:uuid:1"}}`, `{"reference":{"reference":"Patient/a"}}`, true, ""},
		{"unresolved path", `{"x":[{"y":{"reference":"urn:uuid:2"}}]}`, "", false, "x[0].y.reference"},
	}
	for _, tt := range tests {
		got, changed, err := rewriteRefs([]byte(tt.in), resolve)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("rewriteRefs(%s) error = %v, want one naming %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want || changed != tt.wantChanged {
			t.Errorf("rewriteRefs(%s) = %s, %v, %v; want %s, %v", tt.in, got, changed, err, tt.want, tt.wantChanged)
		}
	}
}

// A document mayHoldLinks rules out has nothing a transaction rewrites.
func FuzzMayHoldLinks(f *testing.F) {
	for _, seed := range []string{`{"a":{"reference":"urn:uuid:1"}}`, `{"reference":"Patient?identifier=x"}`,
		`{"reference":"urn:uuid\u003a1"}`, `{"reference":"Patient/1","text":{"div":"<a href=\"urn:oid:1.2\">x</a>"}}`,
		`{"subject":{"reference":"Patient/1"},"n":1.5}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if !json.Valid([]byte(doc)) || mayHoldLinks([]byte(doc)) {
			return
		}
		rewrite := func(_, ref string) (string, error) {
			if strings.Contains(ref, "urn:") || strings.Contains(ref, "?") {
				return "Patient/rewritten", nil
			}
			return ref, nil
		}
		_, changed, err := rewriteLinks([]byte(doc), rewrite, func(string) string { return "Patient/rewritten" })
		if err != nil || changed {
			t.Fatalf("rewriteLinks(%s) = changed %v, %v; mayHoldLinks said there is nothing to rewrite", doc, changed, err)
		}
	})
}

// fuzzHandler is the API without a network, for fuzzing speed.
func fuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	store := memstore.New()
	f.Cleanup(func() { store.Close() })
	return NewHandler(subscription.NewService(store), Config{MaxBundleEntries: 50, MaxBodyBytes: 64 << 10, MaxBundleBytes: 64 << 10})
}

func serveFuzz(t *testing.T, h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s with %q = %d\n%s", method, path, body, rec.Code, rec.Body)
	}
	if rec.Body.Len() > 0 {
		if _, err := fhir.ParseObject(rec.Body.Bytes()); err != nil {
			t.Fatalf("%s %s with %q answered non-JSON %q", method, path, body, rec.Body)
		}
	}
	return rec
}

func FuzzCreate(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Patient"}`,
		`{"resourceType":"Patient","id":"x","meta":{"versionId":"9","tag":[{"code":"t"}]},"name":[{"family":"é\u00e9"}]}`,
		`{"resourceType":"Patient","meta":[]}`,
		`{"resourceType":"Patient","meta":"x"}`,
		`{"resourceType":"Patient","id":7}`,
		`{"resourceType":"Observation"}`,
		`{"resourceType":"Patient","resourceType":"Patient"}`,
		`{"resourceType":"Patient","a":1e999}`,
		`[`, `null`, `"x"`, ``, "\xff",
		// Bytes a store cannot hold (issue 14): refused by the parser.
		`{"resourceType":"Patient","name":[{"family":"\ud800"}]}`,
		"{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]}",
		`{"resourceType":"Patient","extension":[{"url":"http://x.test","valueDecimal":1e999999}]}`,
		`{"resourceType":"Patient","name":[{"family":"\u0000"}]}`,
	} {
		f.Add([]byte(seed))
	}
	// The engine validates Subscriptions and topics on write: fuzz those
	// through the API too.
	for _, name := range []string{"subscription-criteria.json", "subscription-backport-e8.json", "topic-encounter-start-example.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		typ := "Patient"
		if r, err := fhir.ParseResource(body); err == nil && strings.HasPrefix(r.Type, "Subscription") {
			typ = r.Type
		}
		rec := serveFuzz(t, h, "POST", "/"+typ, body)
		if rec.Code == http.StatusCreated {
			// What was accepted reads back.
			loc := rec.Header().Get("Location")
			i := strings.Index(loc, "/"+typ+"/")
			id := strings.Split(loc[i+len(typ)+2:], "/")[0]
			if got := serveFuzz(t, h, "GET", "/"+typ+"/"+id, nil); got.Code != http.StatusOK {
				t.Fatalf("created %s/%s reads back %d", typ, id, got.Code)
			}
		}
		serveFuzz(t, h, "PUT", "/"+typ+"/x", body)
	})
}

func FuzzTransaction(f *testing.F) {
	for _, seed := range []string{
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:1"}},"request":{"method":"POST","url":"Observation"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient?name=x&_count=1"}},{"request":{"method":"DELETE","url":"Patient/1"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1/_history/0"}},{"request":{"method":"GET","url":"Patient?_sort=-_id&_offset=99999999999999999999"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"1\""}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"http://example.com/Patient/1"}},null,[],{"request":null}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/a/_history?_count=1"}},{"request":{"method":"GET","url":"/"}},{"request":{"method":"GET","url":"?"}}]}`,
		`{"resourceType":"Bundle","type":"searchset"}`,
		`{"resourceType":"Bundle","type":"transaction","entry":"x"}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"\ud800"}]},"request":{"method":"POST","url":"Patient"}}]}`,
		"{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]},\"request\":{\"method\":\"POST\",\"url\":\"Patient\"}}]}",
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"value":1e999999}},"request":{"method":"POST","url":"Observation"}}]}`,
	} {
		f.Add([]byte(seed))
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		serveFuzz(t, h, "POST", "/", body)
	})
}

// FuzzNegotiate: any _format and Accept give a JSON Content-Type or a 406,
// never a panic.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"application/fhir+json;q=0.5, application/json", "json", ";;;", "application/fhir+json;fhirVersion=4.0.1", "*/*;q=2"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, format, accept string) {
		r := httptest.NewRequest("GET", "/fhir/metadata?_format="+url.QueryEscape(format), nil)
		r.Header.Set("Accept", accept)
		ct, err := negotiate(r)
		if err != nil {
			if se, ok := err.(*statusError); !ok || se.Status != http.StatusNotAcceptable {
				t.Fatalf("negotiate error %v, want a 406", err)
			}
			return
		}
		if !strings.Contains(ct, "json") || !strings.Contains(ct, "charset=utf-8") {
			t.Fatalf("negotiate = %q", ct)
		}
	})
}

// TestNegotiateR5: on the R5 endpoint fhirVersion=5.0 is the one served and
// echoed; 4.0 is refused there.
func TestNegotiateR5(t *testing.T) {
	for _, tt := range []struct{ format, accept, want string }{
		{"", "application/fhir+json; fhirVersion=5.0", "application/fhir+json; charset=utf-8; fhirVersion=5.0"},
		{"", "application/fhir+json; fhirVersion=4.0", ""},
		{"", "application/fhir+json; fhirVersion=4.0, application/json; fhirVersion=5.0; q=0.1", "application/json; charset=utf-8; fhirVersion=5.0"},
		{"json;fhirVersion=5.0", "", "application/fhir+json; charset=utf-8; fhirVersion=5.0"},
		{"", "", "application/fhir+json; charset=utf-8"},
	} {
		u := "/fhir/R5/metadata"
		if tt.format != "" {
			u += "?_format=" + url.QueryEscape(tt.format)
		}
		r := httptest.NewRequest("GET", u, nil)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, &requestInfo{version: fhir.R5}))
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		got, err := negotiate(r)
		if tt.want == "" {
			if err == nil {
				t.Errorf("format %q Accept %q: %q, want a 406", tt.format, tt.accept, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("format %q Accept %q: %q, %v; want %q", tt.format, tt.accept, got, err, tt.want)
		}
	}
}
