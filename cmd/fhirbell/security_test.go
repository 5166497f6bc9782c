package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
)

// The regression tests of issue 14 (the adversarial review) that are about
// the process as a whole: its parser, its HTTP server, its Host check.

// TestBadBytesRefused: bytes a store cannot hold (an unpaired surrogate, a
// raw 0xff, a million-digit number, NUL) get a 400 OperationOutcome from
// both stores, as a resource, as a transaction entry and as a batch entry;
// nothing is stored and nothing is served back broken.
func TestBadBytesRefused(t *testing.T) {
	stores := map[string]func(t *testing.T) map[string]string{
		"memory": func(*testing.T) map[string]string { return nil },
		"postgres": func(t *testing.T) map[string]string {
			return map[string]string{"FHIRBELL_DATABASE_URL": pgtest.NewSchema(t)}
		},
	}
	bad := map[string]string{
		"unpaired surrogate": `"family":"\ud800"`,
		"raw 0xff":           "\"family\":\"\xff\"",
		"huge number":        `"family":"x","extension":[{"url":"http://x.test/n","valueDecimal":1e999999}]`,
		"NUL":                `"family":"a\u0000b"`,
	}
	for storeName, env := range stores {
		t.Run(storeName, func(t *testing.T) {
			s := mustRunServe(t, env(t))
			for name, member := range bad {
				patient := `{"resourceType":"Patient","name":[{` + member + `}]}`
				entry := `{"fullUrl":"urn:uuid:1","resource":` + patient + `,"request":{"method":"POST","url":"Patient"}}`
				for _, req := range []struct{ method, path, body string }{
					{"POST", "/fhir/Patient", patient},
					{"PUT", "/fhir/Patient/bad", strings.Replace(patient, `{"resourceType":"Patient"`, `{"resourceType":"Patient","id":"bad"`, 1)},
					{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[` + entry + `]}`},
					{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `]}`},
				} {
					res := do(t, req.method, s.URL+req.path, req.body)
					if res.Status != 400 || res.Body["resourceType"] != "OperationOutcome" {
						t.Errorf("%s: %s %s = %d %s, want 400 OperationOutcome", name, req.method, req.path, res.Status, res.Raw)
					}
				}
			}
			// Nothing of it was stored.
			list := do(t, "GET", s.URL+"/fhir/Patient", "")
			wantStatus(t, list, 200)
			if n := list.Body["total"]; n != float64(0) || !utf8.Valid(list.Raw) {
				t.Errorf("after refused writes the server holds %v patients: %s", n, list.Raw)
			}
			wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient/bad", ""), 404)
		})
	}
}

// TestHostAllowList: with auth none the server answers only to loopback
// names, IP literals and the names it is told (DNS rebinding), for REST and
// for WebSocket upgrades alike, and it says at start that auth is off.
func TestHostAllowList(t *testing.T) {
	s := mustRunServe(t, nil, "--base-url", "http://fhir.test:8080")
	if !strings.Contains(s.Logs.String(), "AUTHENTICATION IS OFF") {
		t.Errorf("no warning that auth is off in the start-up logs:\n%s", s.Logs)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	for _, tt := range []struct {
		host string
		want int
	}{
		{"evil.example:" + port, 421},
		{"evil.example", 421},
		{"localhost.evil.example:" + port, 421},
		{"localhost:" + port, 200},
		{"127.0.0.1:" + port, 200},
		{"fhir.test:8080", 200}, // the --base-url host
	} {
		res := do(t, "GET", s.URL+"/fhir/Patient", "", "Host", tt.host)
		if res.Status != tt.want || (tt.want == 421 && res.Body["resourceType"] != "OperationOutcome") {
			t.Errorf("Host %s: %d %s, want %d", tt.host, res.Status, res.Raw, tt.want)
		}
	}
	// A rebinding page's upgrade: Origin and Host both name the attacker.
	hdr := http.Header{"Origin": {"http://evil.example:" + port}}
	d := websocket.Dialer{NetDial: func(network, _ string) (net.Conn, error) {
		return net.Dial(network, strings.TrimPrefix(s.URL, "http://"))
	}}
	if c, resp, err := d.Dial("ws://evil.example:"+port+"/ws", hdr); err == nil {
		c.Close()
		t.Fatal("upgrade with Host and Origin evil.example got 101")
	} else if resp == nil || resp.StatusCode != 421 {
		t.Fatalf("upgrade with Host evil.example: %v %v, want 421", resp, err)
	}
	c, _, err := d.Dial("ws://localhost:"+port+"/ws", http.Header{"Origin": {"http://localhost:" + port}})
	if err != nil {
		t.Fatalf("upgrade from the server's own loopback origin: %v", err)
	}
	c.Close()

	// The list can be set, and "*" turns the check off.
	named := mustRunServe(t, nil, "--allowed-hosts", "dev.example")
	wantStatus(t, do(t, "GET", named.URL+"/fhir/Patient", "", "Host", "dev.example"), 200)
	wantStatus(t, do(t, "GET", named.URL+"/fhir/Patient", "", "Host", "localhost"), 421)
	open := mustRunServe(t, nil, "--allowed-hosts", "*")
	wantStatus(t, do(t, "GET", open.URL+"/fhir/Patient", "", "Host", "evil.example"), 200)
}

// TestSlowBodyCut: a body dribbled a byte at a time is cut once its
// deadline passes (the start-up allowance, then the minimum rate), instead
// of holding the connection for as long as the client likes; requests
// that keep up are served.
func TestSlowBodyCut(t *testing.T) {
	s := mustRunServe(t, nil, "--body-timeout", "500ms", "--body-min-rate", "1000")
	addr := strings.TrimPrefix(s.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /fhir/Patient HTTP/1.1\r\nHost: %s\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n{", addr)
	closed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(c) // until the server closes
		closed <- string(b)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second) // liveness only: the cut is due after about 0.5 s
	for sent := 1; ; sent++ {
		select {
		case resp := <-closed:
			if !strings.HasPrefix(resp, "HTTP/1.1 400") || !strings.Contains(resp, "too slowly") {
				t.Errorf("the slow body was answered %q", resp)
			}
			if sent > 100 {
				t.Errorf("the slow body was cut only after %d bytes", sent)
			}
			// A body that keeps up is still served.
			wantStatus(t, do(t, "POST", s.URL+"/fhir/Patient", `{"resourceType":"Patient","name":[{"family":"`+strings.Repeat("x", 50000)+`"}]}`), 201)
			return
		case <-deadline:
			t.Fatal("a body sent at 10 bytes a second was still being read after 30 s")
		case <-tick.C:
			c.Write([]byte(" "))
		}
	}
}

// TestConnsPerIPCapped: connections over the per-address cap are closed at
// once, and the slot comes back when a connection ends.
func TestConnsPerIPCapped(t *testing.T) {
	s := mustRunServe(t, nil, "--max-conns-per-ip", "3")
	addr := strings.TrimPrefix(s.URL, "http://")
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// The three are live: each can make a request.
	for _, c := range held {
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("held connection: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	fmt.Fprintf(over, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	over.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := over.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the fourth connection read %d bytes, err %v; want it closed", n, err)
	}
	held[0].Close()
	// The server notices the close on its next read; then a slot is free.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	for i := 0; ; i++ {
		resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 300 {
			t.Fatalf("no slot after a held connection closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTokenWithoutSubjectRefused: a token without sub (RFC 9068 requires
// one) is refused on REST and on the socket upgrade, so it can neither
// share Subscription ownership with other subject-less tokens of its
// client nor escape the per-principal socket cap.
func TestTokenWithoutSubjectRefused(t *testing.T) {
	s, is := authServer(t)
	for name, mutate := range map[string]func(jwt.MapClaims){
		"no sub":    func(c jwt.MapClaims) { delete(c, "sub") },
		"empty sub": func(c jwt.MapClaims) { c["sub"] = "" },
	} {
		tok := is.token(t, "x", "user/*.cruds", "", time.Hour, mutate)
		res := do(t, "GET", s.URL+"/fhir/Subscription", "", bearer(tok)...)
		if res.Status != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "required claim missing") {
			t.Errorf("%s: REST %d %q, want 401 required claim missing", name, res.Status, res.Header.Get("WWW-Authenticate"))
		}
		c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws", http.Header{"Authorization": {"Bearer " + tok}})
		if err == nil {
			c.Close()
			t.Errorf("%s: the socket upgrade succeeded", name)
		} else if resp == nil || resp.StatusCode != 401 {
			t.Errorf("%s: upgrade %v %v, want 401", name, resp, err)
		}
	}
}

// TestEveryResponseJudgedLikeARead: an Observation of patient B moved to
// patient A shows A only the version about A, in its history and through a
// batch; what A may not see answers 404 like a missing id, deleted or not
// (no 403/410/404 oracle).
func TestEveryResponseJudgedLikeARead(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	patA := bearer(is.token(t, "pa", "patient/Observation.rs patient/Patient.rs", "A", time.Hour))
	obs := func(patient string) string {
		return `{"resourceType":"Observation","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	created := do(t, "POST", s.URL+"/fhir/Observation", obs("B"), admin...)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)
	wantStatus(t, do(t, "PUT", s.URL+"/fhir/Observation/"+id, strings.Replace(obs("A"), `{"resourceType":"Observation"`, `{"resourceType":"Observation","id":"`+id+`"`, 1), admin...), 200)

	hist := do(t, "GET", s.URL+"/fhir/Observation/"+id+"/_history", "", patA...)
	wantStatus(t, hist, 200)
	if strings.Contains(string(hist.Raw), "Patient/B") || !strings.Contains(string(hist.Raw), "Patient/A") {
		t.Errorf("A's view of the history carries B's version: %s", hist.Raw)
	}
	if entries, _ := hist.Body["entry"].([]any); len(entries) != 1 {
		t.Errorf("A's history has %d entries, want 1 (v2)", len(entries))
	}
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+id+"/_history/1", "", patA...), 404)
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+id+"/_history/2", "", patA...), 200)
	batch := `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Observation/` + id + `/_history"}},{"request":{"method":"GET","url":"Observation/` + id + `/_history/1"}},{"request":{"method":"GET","url":"Observation?_id=` + id + `"}}]}`
	b := do(t, "POST", s.URL+"/fhir", batch, patA...)
	wantStatus(t, b, 200)
	if strings.Contains(string(b.Raw), "Patient/B") {
		t.Errorf("a batch leaks B's version: %s", b.Raw)
	}

	// The oracle: B's live, B's deleted and a missing id look the same.
	live := do(t, "POST", s.URL+"/fhir/Observation", obs("B"), admin...)
	gone := do(t, "POST", s.URL+"/fhir/Observation", obs("B"), admin...)
	liveID, goneID := live.Body["id"].(string), gone.Body["id"].(string)
	wantStatus(t, do(t, "DELETE", s.URL+"/fhir/Observation/"+goneID, "", admin...), 200)
	var answers []string
	for _, path := range []string{liveID, goneID, "no-such-id", liveID + "/_history", goneID + "/_history", goneID + "/_history/2"} {
		res := do(t, "GET", s.URL+"/fhir/Observation/"+path, "", patA...)
		diag := strings.ReplaceAll(strings.ReplaceAll(string(res.Raw), liveID, "X"), goneID, "X")
		diag = strings.ReplaceAll(diag, "no-such-id", "X")
		answers = append(answers, fmt.Sprintf("%d %s", res.Status, strings.TrimSuffix(strings.TrimSuffix(diag, "/_history/2"), "/_history")))
		if res.Status != 404 {
			t.Errorf("GET Observation/%s as A = %d, want 404", path, res.Status)
		}
	}
	if answers[0] != answers[1] || answers[1] != answers[2] {
		t.Errorf("B's live, B's deleted and a missing Observation answer differently:\n%s", strings.Join(answers, "\n"))
	}
	// A's own deleted resource is still 410.
	mine := do(t, "POST", s.URL+"/fhir/Observation", obs("A"), admin...)
	wantStatus(t, do(t, "DELETE", s.URL+"/fhir/Observation/"+mine.Body["id"].(string), "", admin...), 200)
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Observation/"+mine.Body["id"].(string), "", patA...), 410)
}

// TestTypeAndSystemHistoryJudged: type- and system-level history show a
// patient-scoped caller only the versions it may read, each judged on its
// own (a deletion by what it deleted); a type it has no scope for is 403
// at type level and simply absent from the system history.
func TestTypeAndSystemHistoryJudged(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	patA := bearer(is.token(t, "pa", "patient/Observation.rs", "A", time.Hour))
	obs := func(id, patient string) string {
		return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/` + patient + `"}}`
	}
	write := func(method, path, body string, want int) {
		t.Helper()
		wantStatus(t, do(t, method, s.URL+path, body, admin...), want)
		time.Sleep(2 * time.Millisecond) // one millisecond each: the history order is by time first
	}
	write("PUT", "/fhir/Observation/moved", obs("moved", "B"), 201)
	write("PUT", "/fhir/Observation/moved", obs("moved", "A"), 200)
	write("PUT", "/fhir/Observation/b-gone", obs("b-gone", "B"), 201)
	write("DELETE", "/fhir/Observation/b-gone", "", 200)
	write("PUT", "/fhir/Observation/a-gone", obs("a-gone", "A"), 201)
	write("DELETE", "/fhir/Observation/a-gone", "", 200)
	write("PUT", "/fhir/Patient/A", `{"resourceType":"Patient","id":"A"}`, 201)

	entries := func(res response) []string {
		var out []string
		list, _ := res.Body["entry"].([]any)
		for _, e := range list {
			e := e.(map[string]any)
			req := e["request"].(map[string]any)
			out = append(out, req["method"].(string)+" "+strings.TrimPrefix(e["fullUrl"].(string), s.URL+"/fhir/")+" "+e["response"].(map[string]any)["etag"].(string))
		}
		return out
	}
	want := []string{`DELETE Observation/a-gone W/"2"`, `POST Observation/a-gone W/"1"`, `PUT Observation/moved W/"2"`}
	typ := do(t, "GET", s.URL+"/fhir/Observation/_history", "", patA...)
	wantStatus(t, typ, 200)
	if got := entries(typ); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("A's Observation/_history:\n got %q\nwant %q", got, want)
	}
	if strings.Contains(string(typ.Raw), "Patient/B") {
		t.Errorf("A's type history carries B's data: %s", typ.Raw)
	}
	sys := do(t, "GET", s.URL+"/fhir/_history", "", patA...)
	wantStatus(t, sys, 200)
	if got := entries(sys); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("A's _history (no Patient scope, so no Patient, no topics):\n got %q\nwant %q", got, want)
	}
	wantStatus(t, do(t, "GET", s.URL+"/fhir/Patient/_history", "", patA...), 403)
	if got := entries(do(t, "GET", s.URL+"/fhir/_history", "", admin...)); len(got) < 7 {
		t.Errorf("the admin's _history has %d entries, want every version", len(got))
	}
}

// TestPatientEverythingJudged: $everything shows a patient-scoped caller
// its own compartment, only the types its scopes cover, and another
// patient's $everything is 404 like a missing one.
func TestPatientEverythingJudged(t *testing.T) {
	s, is := authServer(t)
	admin := bearer(is.token(t, "ops", "system/*.cruds", "", time.Hour))
	patA := bearer(is.token(t, "pa", "patient/Patient.rs patient/Observation.rs", "A", time.Hour))
	for _, w := range []struct{ path, body string }{
		{"/fhir/Patient/A", `{"resourceType":"Patient","id":"A"}`},
		{"/fhir/Patient/B", `{"resourceType":"Patient","id":"B"}`},
		{"/fhir/Observation/oa", `{"resourceType":"Observation","id":"oa","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/A"}}`},
		{"/fhir/Observation/ob", `{"resourceType":"Observation","id":"ob","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/B"}}`},
		{"/fhir/Condition/ca", `{"resourceType":"Condition","id":"ca","subject":{"reference":"Patient/A"}}`},
	} {
		wantStatus(t, do(t, "PUT", s.URL+w.path, w.body, admin...), 201)
	}
	ids := func(r response) string {
		var out []string
		list, _ := r.Body["entry"].([]any)
		for _, e := range list {
			res := e.(map[string]any)["resource"].(map[string]any)
			out = append(out, res["resourceType"].(string)+"/"+res["id"].(string))
		}
		return strings.Join(out, " ")
	}
	r := do(t, "GET", s.URL+"/fhir/Patient/A/$everything", "", patA...)
	wantStatus(t, r, 200)
	if got := ids(r); got != "Patient/A Observation/oa" {
		t.Errorf("A's $everything = %q, want Patient/A Observation/oa (no Condition scope)", got)
	}
	if got := ids(do(t, "GET", s.URL+"/fhir/Patient/A/$everything", "", admin...)); got != "Patient/A Condition/ca Observation/oa" {
		t.Errorf("the admin's $everything of A = %q", got)
	}
	b := do(t, "GET", s.URL+"/fhir/Patient/B/$everything", "", patA...)
	missing := do(t, "GET", s.URL+"/fhir/Patient/C/$everything", "", patA...)
	wantStatus(t, b, 404)
	wantStatus(t, missing, 404)
	if strings.ReplaceAll(string(b.Raw), "Patient/B", "X") != strings.ReplaceAll(string(missing.Raw), "Patient/C", "X") {
		t.Errorf("B's $everything and a missing patient's answer differently:\n%s\n%s", b.Raw, missing.Raw)
	}
}
