package auth

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPrincipalContext(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom(empty context) ok = true, want false")
	}
	p := Principal{Kind: KindUser, Subject: "alice", Scopes: ParseScopes("user/*.rs")}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), p))
	if !ok || got.Subject != "alice" || !got.Scopes.Allows("user", "Patient", 'r') {
		t.Errorf("PrincipalFrom(WithPrincipal(p)) = %+v, %v, want %+v, true", got, ok, p)
	}
}

func TestPrincipalCan(t *testing.T) {
	tests := []struct {
		name    string
		scopes  string
		patient string
		typ     string
		i       Interaction
		ok      bool
		limitTo string
	}{
		{"patient scope with claim", "patient/Observation.rs", "123", "Observation", 'r', true, "123"},
		{"patient scope without claim", "patient/Observation.rs", "", "Observation", 'r', false, ""},
		{"user scope needs no claim", "user/Observation.rs", "", "Observation", 's', true, ""},
		{"user scope wins over patient scope", "patient/*.rs user/Observation.rs", "123", "Observation", 'r', true, ""},
		{"patient scope for other type", "patient/*.rs user/Observation.rs", "123", "Condition", 'r', true, "123"},
		{"no scope", "patient/Observation.rs", "123", "Observation", 'c', false, ""},
	}
	for _, tt := range tests {
		p := Principal{Scopes: ParseScopes(tt.scopes), Patient: tt.patient}
		ok, limit := p.Can(tt.typ, tt.i)
		if ok != tt.ok || limit != tt.limitTo {
			t.Errorf("%s: Principal{%q, patient %q}.Can(%q, %c) = %v, %q, want %v, %q",
				tt.name, tt.scopes, tt.patient, tt.typ, tt.i, ok, limit, tt.ok, tt.limitTo)
		}
	}
}

func TestPrincipalExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		expires time.Time
		want    bool
	}{
		{time.Time{}, false},
		{now.Add(time.Second), false},
		{now, true},
		{now.Add(-time.Second), true},
	}
	for _, tt := range tests {
		if got := (Principal{Expires: tt.expires}).Expired(now); got != tt.want {
			t.Errorf("Principal{Expires: %v}.Expired(%v) = %v, want %v", tt.expires, now, got, tt.want)
		}
	}
}

func TestKindFor(t *testing.T) {
	tests := []struct {
		scopes, patient, fhirUser string
		want                      Kind
	}{
		{"system/*.rs", "", "", KindSystem},
		{"", "", "", KindSystem},
		{"system/*.rs", "", "Practitioner/1", KindUser},
		{"system/*.rs", "p1", "", KindUser},
		{"user/*.rs", "", "", KindUser},
		{"patient/*.rs system/*.rs", "", "", KindUser},
	}
	for _, tt := range tests {
		if got := kindFor(ParseScopes(tt.scopes), tt.patient, tt.fhirUser); got != tt.want {
			t.Errorf("kindFor(%q, %q, %q) = %v, want %v", tt.scopes, tt.patient, tt.fhirUser, got, tt.want)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindAnonymous: "anonymous", KindUser: "user", KindSystem: "system", Kind(9): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestPrincipalLogValue(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	l.Info("x", "principal", Principal{Kind: KindUser, Method: MethodJWT, Subject: "alice", ClientID: "app",
		Scopes: ParseScopes("patient/*.rs"), Patient: "p-secret-ish"})
	out := buf.String()
	for _, want := range []string{"principal.kind=user", "principal.sub=alice", "principal.client_id=app", "principal.method=jwt"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "p-secret-ish") || strings.Contains(out, "patient/*.rs") {
		t.Errorf("log line %q contains claims or scopes", out)
	}
}

func TestNone(t *testing.T) {
	p, err := None{}.Authenticate(context.Background(), "whatever")
	if err != nil {
		t.Fatalf("None.Authenticate: %v", err)
	}
	if p.Kind != KindAnonymous || p.Method != MethodNone || !p.Scopes.IsAdmin() || !p.Expires.IsZero() {
		t.Errorf("None.Authenticate = %+v, want anonymous admin without expiry", p)
	}
	if ok, limit := p.Can("Observation", 'd'); !ok || limit != "" {
		t.Errorf("anonymous.Can(Observation, d) = %v, %q, want true, \"\"", ok, limit)
	}
}

func TestCompartmentParams(t *testing.T) {
	tests := []struct {
		typ    string
		params []string
		ok     bool
	}{
		{"Observation", []string{"subject", "performer"}, true},
		{"Patient", []string{CompartmentSelf, "link"}, true},
		{"Encounter", []string{"subject"}, true},
		{"AllergyIntolerance", []string{"patient", "recorder", "asserter"}, true},
		{"Group", []string{"member"}, true},
		{"Subscription", nil, false},
		{"Organization", nil, false},
		{"NotAType", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		params, ok := CompartmentParams(tt.typ)
		if ok != tt.ok || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("CompartmentParams(%q) = %q, %v, want %q, %v", tt.typ, params, ok, tt.params, tt.ok)
		}
	}
	// The result is a copy.
	p, _ := CompartmentParams("Observation")
	p[0] = "mutated"
	if again, _ := CompartmentParams("Observation"); again[0] != "subject" {
		t.Errorf("CompartmentParams shares its slice: got %q after mutation", again)
	}
	if n := len(CompartmentTypes()); n != 67 {
		t.Errorf("len(CompartmentTypes()) = %d, want 67 (R4 types with compartment params)", n)
	}
}
