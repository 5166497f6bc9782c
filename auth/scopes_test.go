package auth

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseScopes(t *testing.T) {
	type rs struct {
		level, typ, perms string
		constraints       url.Values
	}
	tests := []struct {
		name     string
		in       string
		resource []rs
		other    []string
	}{
		{"empty", "", nil, nil},
		{"v2 patient rs", "patient/Observation.rs", []rs{{"patient", "Observation", "rs", nil}}, nil},
		{"v2 user wildcard cruds", "user/*.cruds", []rs{{"user", "*", "cruds", nil}}, nil},
		{"v2 system subscription", "system/Subscription.cruds", []rs{{"system", "Subscription", "cruds", nil}}, nil},
		{"v2 single letters", "user/Encounter.c user/Encounter.d", []rs{{"user", "Encounter", "c", nil}, {"user", "Encounter", "d", nil}}, nil},
		{"v1 read", "patient/Observation.read", []rs{{"patient", "Observation", "rs", nil}}, nil},
		{"v1 write", "user/Patient.write", []rs{{"user", "Patient", "cud", nil}}, nil},
		{"v1 star", "system/*.*", []rs{{"system", "*", "cruds", nil}}, nil},
		{"v1 wildcard read", "user/*.read", []rs{{"user", "*", "rs", nil}}, nil},
		{"granular", "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
			[]rs{{"patient", "Observation", "rs", url.Values{"category": {"http://terminology.hl7.org/CodeSystem/observation-category|laboratory"}}}}, nil},
		{"granular two params", "user/Observation.s?code=1234&status=final",
			[]rs{{"user", "Observation", "s", url.Values{"code": {"1234"}, "status": {"final"}}}}, nil},
		{"non-resource scopes kept as other", "openid fhirUser launch launch/patient offline_access online_access",
			nil, []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access"}},
		{"mixed whitespace and duplicates", "  openid\tpatient/Observation.rs\n openid patient/Observation.rs ",
			[]rs{{"patient", "Observation", "rs", nil}}, []string{"openid"}},
		{"unknown level is other", "admin/Observation.rs", nil, []string{"admin/Observation.rs"}},
		{"level is case-sensitive", "Patient/Observation.rs", nil, []string{"Patient/Observation.rs"}},
		// Malformed resource scopes are dropped.
		{"out of order letters", "patient/Observation.sr", nil, nil},
		{"repeated letter", "patient/Observation.rrs", nil, nil},
		{"unknown letter", "patient/Observation.rx", nil, nil},
		{"empty suffix", "patient/Observation.", nil, nil},
		{"no suffix", "patient/Observation", nil, nil},
		{"lower-case type", "patient/observation.rs", nil, nil},
		{"empty type", "patient/.rs", nil, nil},
		{"type with punctuation", "patient/Obs-ervation.rs", nil, nil},
		{"empty query", "patient/Observation.rs?", nil, nil},
		{"bad query escape", "patient/Observation.rs?code=%zz", nil, nil},
		{"empty param name", "patient/Observation.rs?=x", nil, nil},
		{"mixed v1/v2 suffix", "patient/Observation.readrs", nil, nil},
		{"too long", "patient/" + strings.Repeat("A", 2000) + ".rs", nil, nil},
		{"malformed beside good", "patient/Observation.xx user/Patient.r", []rs{{"user", "Patient", "r", nil}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ParseScopes(tt.in)
			var got []rs
			for _, sc := range s.Resource() {
				got = append(got, rs{sc.Level, sc.ResourceType, sc.Permissions.String(), sc.Constraints})
			}
			if !reflect.DeepEqual(got, tt.resource) {
				t.Errorf("ParseScopes(%q).Resource() = %v, want %v", tt.in, got, tt.resource)
			}
			if !reflect.DeepEqual(s.Other(), tt.other) {
				t.Errorf("ParseScopes(%q).Other() = %q, want %q", tt.in, s.Other(), tt.other)
			}
		})
	}
}

func TestScopesAllows(t *testing.T) {
	tests := []struct {
		scopes string
		level  string
		typ    string
		i      Interaction
		want   bool
	}{
		{"patient/Observation.rs", "patient", "Observation", 'r', true},
		{"patient/Observation.rs", "patient", "Observation", 's', true},
		{"patient/Observation.rs", "patient", "Observation", 'c', false},
		{"patient/Observation.rs", "user", "Observation", 'r', false},
		{"patient/Observation.rs", "patient", "Condition", 'r', false},
		{"patient/Observation.read", "patient", "Observation", 's', true},
		{"patient/Observation.read", "patient", "Observation", 'u', false},
		{"user/Observation.write", "user", "Observation", 'c', true},
		{"user/Observation.write", "user", "Observation", 'u', true},
		{"user/Observation.write", "user", "Observation", 'd', true},
		{"user/Observation.write", "user", "Observation", 'r', false},
		{"user/*.read", "user", "Encounter", 'r', true},
		{"user/*.read", "user", "SomeFutureType", 's', true},
		{"user/*.read", "user", "Encounter", 'c', false},
		{"system/*.cruds", "system", "Subscription", 'd', true},
		{"system/Subscription.cruds", "system", "Subscription", 'c', true},
		{"system/Subscription.cruds", "system", "Observation", 'r', false},
		{"system/Subscription.*", "system", "Subscription", 'u', true},
		// Granular scopes grant nothing through Allows.
		{"patient/Observation.rs?category=laboratory", "patient", "Observation", 'r', false},
		// Unknown interaction letters are never allowed.
		{"system/*.cruds", "system", "Observation", 'x', false},
		{"system/*.cruds", "system", "Observation", 0, false},
		{"", "system", "Observation", 'r', false},
		{"openid launch/patient", "patient", "Observation", 'r', false},
	}
	for _, tt := range tests {
		got := ParseScopes(tt.scopes).Allows(tt.level, tt.typ, tt.i)
		if got != tt.want {
			t.Errorf("ParseScopes(%q).Allows(%q, %q, %q) = %v, want %v", tt.scopes, tt.level, tt.typ, tt.i, got, tt.want)
		}
	}
}

func TestScopesCanRead(t *testing.T) {
	tests := []struct {
		scopes          string
		typ             string
		ok, patientOnly bool
	}{
		{"patient/Observation.rs", "Observation", true, true},
		{"patient/*.read", "Condition", true, true},
		{"patient/Observation.rs user/Observation.r", "Observation", true, false},
		{"patient/*.rs system/Observation.rs", "Observation", true, false},
		{"patient/*.rs system/Observation.rs", "Condition", true, true},
		{"user/*.cruds", "Patient", true, false},
		{"patient/Observation.s", "Observation", false, false},
		{"patient/Observation.c", "Observation", false, false},
		{"patient/Observation.rs?code=x", "Observation", false, false},
		{"openid fhirUser", "Observation", false, false},
		{"", "Observation", false, false},
	}
	for _, tt := range tests {
		ok, po := ParseScopes(tt.scopes).CanRead(tt.typ)
		if ok != tt.ok || po != tt.patientOnly {
			t.Errorf("ParseScopes(%q).CanRead(%q) = %v, %v, want %v, %v", tt.scopes, tt.typ, ok, po, tt.ok, tt.patientOnly)
		}
	}
}

func TestScopesIsAdmin(t *testing.T) {
	tests := []struct {
		scopes string
		want   bool
	}{
		{"system/Subscription.cruds", true},
		{"system/Subscription.*", true},
		{"system/*.cruds", true},
		{"system/*.*", true},
		{"system/Subscription.rs system/Subscription.cud", true},
		{"system/Subscription.read system/Subscription.write", true},
		{"system/Subscription.rs", false},
		{"system/Subscription.crud", false},
		{"system/*.rs", false},
		{"user/Subscription.cruds", false},
		{"user/*.cruds", false},
		{"patient/*.*", false},
		{"system/Subscription.cruds?status=active", false},
		{"system/Observation.cruds", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ParseScopes(tt.scopes).IsAdmin(); got != tt.want {
			t.Errorf("ParseScopes(%q).IsAdmin() = %v, want %v", tt.scopes, got, tt.want)
		}
	}
}

func TestScopesLevelsHasString(t *testing.T) {
	s := ParseScopes("openid system/Subscription.c patient/Observation.rs user/*.read patient/Bad.zz")
	if got, want := s.Levels(), []string{"patient", "user", "system"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Levels() = %v, want %v", got, want)
	}
	for raw, want := range map[string]bool{
		"openid": true, "patient/Observation.rs": true, "user/*.read": true,
		"patient/Bad.zz": false, "offline_access": false, "patient/Observation.r": false,
	} {
		if got := s.Has(raw); got != want {
			t.Errorf("Has(%q) = %v, want %v", raw, got, want)
		}
	}
	if got, want := s.String(), "system/Subscription.c patient/Observation.rs user/*.read openid"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.Empty() {
		t.Error("Empty() = true for a set with resource scopes")
	}
	if !ParseScopes("openid").Empty() {
		t.Error(`ParseScopes("openid").Empty() = false, want true`)
	}
	if got := NewScopes("patient/Observation.rs", "openid"); got.String() != "patient/Observation.rs openid" {
		t.Errorf("NewScopes(...).String() = %q", got.String())
	}
}

func TestScopesGranular(t *testing.T) {
	s := ParseScopes("patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs user/Observation.rs patient/*.s?_tag=x")
	got := s.Granular("patient", "Observation", 'r')
	if len(got) != 2 || got[0].Constraints.Get("category") != "laboratory" || got[1].Constraints.Get("category") != "vital-signs" {
		t.Errorf("Granular(patient, Observation, r) = %v, want the two category scopes", got)
	}
	if got := s.Granular("patient", "Condition", 's'); len(got) != 1 || got[0].Raw != "patient/*.s?_tag=x" {
		t.Errorf("Granular(patient, Condition, s) = %v, want the wildcard tag scope", got)
	}
	if got := s.Granular("user", "Observation", 'r'); got != nil {
		t.Errorf("Granular(user, Observation, r) = %v, want none (the user scope is unconstrained)", got)
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		p    Permissions
		want string
	}{
		{0, ""},
		{AllPermissions, "cruds"},
		{permissionBit(Read) | permissionBit(Search), "rs"},
		{permissionBit(Create) | permissionBit(Delete), "cd"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Permissions(%d).String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{
		"", "patient/Observation.rs", "user/*.cruds", "system/Subscription.cruds",
		"patient/Observation.read user/*.write system/*.*", "openid fhirUser launch/patient",
		"patient/Observation.rs?category=http://x|lab&code=1", "patient/Observation.rs?", "patient/.rs",
		"patient/Observation.sr", "user/*.cruds?%zz", "/", "patient/", "system/*.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := ParseScopes(in)
		// Re-parsing the canonical form gives the same scopes.
		again := ParseScopes(s.String())
		if again.String() != s.String() {
			t.Fatalf("ParseScopes(%q): String() %q re-parses to %q", in, s.String(), again.String())
		}
		for _, sc := range s.Resource() {
			if sc.Level != LevelPatient && sc.Level != LevelUser && sc.Level != LevelSystem {
				t.Fatalf("ParseScopes(%q): scope %q has level %q", in, sc.Raw, sc.Level)
			}
			if sc.Permissions == 0 || sc.Permissions&^AllPermissions != 0 {
				t.Fatalf("ParseScopes(%q): scope %q has permissions %b", in, sc.Raw, sc.Permissions)
			}
			if sc.Constraints != nil && len(sc.Constraints) == 0 {
				t.Fatalf("ParseScopes(%q): scope %q has empty non-nil constraints", in, sc.Raw)
			}
			if !strings.Contains(in, sc.Raw) {
				t.Fatalf("ParseScopes(%q): scope %q not in the input", in, sc.Raw)
			}
		}
		// Anything granted must be granted by an unconstrained scope of that level.
		for _, lvl := range []string{LevelPatient, LevelUser, LevelSystem} {
			for _, i := range []Interaction{Create, Read, Update, Delete, Search} {
				if s.Allows(lvl, "Observation", i) && !strings.Contains(in, lvl+"/") {
					t.Fatalf("ParseScopes(%q) allows %s %c without a %s/ scope", in, lvl, i, lvl)
				}
			}
		}
		_ = s.IsAdmin()
		_, _ = s.CanRead("Observation")
	})
}
