package auth

import (
	"net/url"
	"slices"
	"strings"
)

// Interaction is one SMART App Launch v2 permission letter: c (create),
// r (read, vread and instance history), u (update and patch), d (delete)
// or s (search and type/system history). Callers may pass a rune literal:
// Allows("patient", "Observation", 'r').
type Interaction byte

// The five SMART v2 interactions, in the order a scope suffix lists them.
const (
	// Create is c: create.
	Create Interaction = 'c'
	// Read is r: read, vread and instance history.
	Read Interaction = 'r'
	// Update is u: update and patch.
	Update Interaction = 'u'
	// Delete is d: delete.
	Delete Interaction = 'd'
	// Search is s: type search, type history, system search and history.
	Search Interaction = 's'
)

// interactionOrder is the canonical order of a v2 suffix; a suffix must be
// an in-order subset of it.
const interactionOrder = "cruds"

// Permissions is a set of Interactions.
type Permissions uint8

// AllPermissions holds all five interactions (".cruds", v1 ".*").
const AllPermissions Permissions = 1<<len(interactionOrder) - 1

// permissionBit returns the bit of i, or 0 for a byte that is not one of
// the five letters.
func permissionBit(i Interaction) Permissions {
	n := strings.IndexByte(interactionOrder, byte(i))
	if n < 0 {
		return 0
	}
	return 1 << n
}

// Has reports whether p contains the interaction i. An unknown letter is
// never contained.
func (p Permissions) Has(i Interaction) bool {
	b := permissionBit(i)
	return b != 0 && p&b != 0
}

// String returns p in v2 suffix form, e.g. "rs" or "cruds".
func (p Permissions) String() string {
	var b strings.Builder
	for n := range len(interactionOrder) {
		if p&(1<<n) != 0 {
			b.WriteByte(interactionOrder[n])
		}
	}
	return b.String()
}

// The three SMART context levels of a resource scope.
const (
	// LevelPatient scopes cover data about the patient in the launch
	// context, and only that patient's compartment.
	LevelPatient = "patient"
	// LevelUser scopes cover data the signed-in user may access.
	LevelUser = "user"
	// LevelSystem scopes cover what a backend client is itself
	// authorized for.
	LevelSystem = "system"
)

// Wildcard is the resource type of "patient/*.rs": every type, including
// types added after the token was issued.
const Wildcard = "*"

// Scope is one parsed SMART resource scope such as "patient/Observation.rs"
// or "user/*.read".
type Scope struct {
	// Raw is the scope exactly as granted.
	Raw string
	// Level is LevelPatient, LevelUser or LevelSystem.
	Level string
	// ResourceType is a resource type name or Wildcard. It is checked for
	// shape only (an upper-case letter, then letters and digits): auth does
	// not know the list of R4 types, and a scope for an unknown type simply
	// never matches.
	ResourceType string
	// Permissions is the set of interactions; v1 ".read" is rs, ".write"
	// is cud and ".*" is cruds.
	Permissions Permissions
	// Constraints are the granular v2 "?param=value" restrictions, nil for
	// an unconstrained scope. auth parses them but cannot evaluate them
	// (that needs the FHIR search matcher), so a constrained scope grants
	// nothing through Scopes.Allows or Scopes.Can; callers that enforce
	// constraints find them with Scopes.Granular.
	Constraints url.Values
}

// Granular reports whether s carries ?param=value constraints.
func (s Scope) Granular() bool { return s.Constraints != nil }

// covers reports whether s, ignoring its constraints, grants i on rt at
// level.
func (s Scope) covers(level, rt string, i Interaction) bool {
	return s.Level == level && (s.ResourceType == Wildcard || s.ResourceType == rt) && s.Permissions.Has(i)
}

// Scopes is the parsed set of scopes granted to a caller. The zero value
// grants nothing. Scopes is immutable once parsed and safe to share.
type Scopes struct {
	resource []Scope
	other    []string
}

// maxScopeLen bounds one scope; longer words are dropped as malformed so
// that a hostile token cannot make Scopes hold huge strings.
const maxScopeLen = 1024

// ParseScopes parses a space-separated scope string (OAuth "scope" claim).
//
// Words whose level is patient, user or system are resource scopes; they
// are parsed per SMART v1 and v2, and a malformed one (unknown suffix,
// out-of-order or repeated letters, bad type name, unparsable or empty
// "?" constraints) is dropped: it grants nothing and is not reported, as
// SMART allows ("MAY be ignored"). Any other word (openid, fhirUser,
// launch/patient, offline_access, …) is kept verbatim for Has and Other but
// grants no resource access. Parsing never fails and never panics.
func ParseScopes(s string) Scopes {
	var out Scopes
	for word := range strings.FieldsSeq(s) {
		if len(word) > maxScopeLen {
			continue
		}
		level, rest, found := strings.Cut(word, "/")
		if !found || (level != LevelPatient && level != LevelUser && level != LevelSystem) {
			if !slices.Contains(out.other, word) {
				out.other = append(out.other, word)
			}
			continue
		}
		sc, ok := parseResourceScope(level, rest)
		if !ok {
			continue
		}
		sc.Raw = word
		if !slices.ContainsFunc(out.resource, func(x Scope) bool { return x.Raw == word }) {
			out.resource = append(out.resource, sc)
		}
	}
	return out
}

// NewScopes parses a list of scopes, as found in an "scp" array claim. Each
// element is parsed as by ParseScopes.
func NewScopes(list ...string) Scopes {
	return ParseScopes(strings.Join(list, " "))
}

// parseResourceScope parses "<Type>.<perm>[?constraints]" after the level.
func parseResourceScope(level, rest string) (Scope, bool) {
	rest, query, hasQuery := strings.Cut(rest, "?")
	rt, perm, found := strings.Cut(rest, ".")
	if !found || !validScopeType(rt) {
		return Scope{}, false
	}
	p, ok := parsePermissions(perm)
	if !ok {
		return Scope{}, false
	}
	sc := Scope{Level: level, ResourceType: rt, Permissions: p}
	if hasQuery {
		if query == "" {
			return Scope{}, false
		}
		v, err := url.ParseQuery(query)
		if err != nil || len(v) == 0 {
			return Scope{}, false
		}
		for k := range v {
			if k == "" {
				return Scope{}, false
			}
		}
		sc.Constraints = v
	}
	return sc, true
}

// parsePermissions reads a v1 (read, write, *) or v2 (in-order subset of
// cruds) suffix.
func parsePermissions(s string) (Permissions, bool) {
	switch s {
	case "read":
		return permissionBit(Read) | permissionBit(Search), true
	case "write":
		return permissionBit(Create) | permissionBit(Update) | permissionBit(Delete), true
	case "*":
		return AllPermissions, true
	case "":
		return 0, false
	}
	var p Permissions
	last := -1
	for i := range len(s) {
		n := strings.IndexByte(interactionOrder, s[i])
		if n <= last { // unknown letter (-1), repeated or out of order
			return 0, false
		}
		last = n
		p |= 1 << n
	}
	return p, true
}

// validScopeType accepts "*" or a name shaped like a FHIR resource type.
func validScopeType(s string) bool {
	if s == Wildcard {
		return true
	}
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Resource returns the parsed resource scopes, in the order granted.
func (s Scopes) Resource() []Scope { return slices.Clone(s.resource) }

// Other returns the scopes that are not resource scopes (openid,
// launch/patient, offline_access, …), in the order granted.
func (s Scopes) Other() []string { return slices.Clone(s.other) }

// Has reports whether the exact scope string raw was granted (and, for a
// resource scope, was well formed).
func (s Scopes) Has(raw string) bool {
	return slices.Contains(s.other, raw) ||
		slices.ContainsFunc(s.resource, func(x Scope) bool { return x.Raw == raw })
}

// Empty reports whether s holds no resource scope, i.e. grants no access
// to any resource.
func (s Scopes) Empty() bool { return len(s.resource) == 0 }

// String returns the granted scopes, well-formed resource scopes first,
// space-separated. Dropped malformed scopes are not included.
func (s Scopes) String() string {
	words := make([]string, 0, len(s.resource)+len(s.other))
	for _, sc := range s.resource {
		words = append(words, sc.Raw)
	}
	words = append(words, s.other...)
	return strings.Join(words, " ")
}

// Allows reports whether an unconstrained scope of exactly this level
// ("patient", "user" or "system") grants interaction i on resourceType.
// Wildcard scopes cover every type. Granular scopes are not considered
// (see Scope.Constraints).
func (s Scopes) Allows(level, resourceType string, i Interaction) bool {
	for _, sc := range s.resource {
		if !sc.Granular() && sc.covers(level, resourceType, i) {
			return true
		}
	}
	return false
}

// Can reports whether any unconstrained scope, at any level, grants
// interaction i on resourceType, and whether only patient/ scopes do. When
// patientOnly is true the caller must restrict the interaction to the
// Patient compartment of the patient launch claim (Principal.Can does that
// bookkeeping).
func (s Scopes) Can(resourceType string, i Interaction) (ok, patientOnly bool) {
	if s.Allows(LevelUser, resourceType, i) || s.Allows(LevelSystem, resourceType, i) {
		return true, false
	}
	if s.Allows(LevelPatient, resourceType, i) {
		return true, true
	}
	return false, false
}

// CanRead is Can(resourceType, Read): whether any scope lets the caller
// read resourceType, and whether only patient/ scopes do.
func (s Scopes) CanRead(resourceType string) (ok, patientOnly bool) {
	return s.Can(resourceType, Read)
}

// Granular returns the constrained scopes of this level that would grant
// i on resourceType if their constraints match the resource. Callers that
// enforce granular scopes evaluate each Scope.Constraints as a search
// against the resource; callers that do not simply ignore this method.
func (s Scopes) Granular(level, resourceType string, i Interaction) []Scope {
	var out []Scope
	for _, sc := range s.resource {
		if sc.Granular() && sc.covers(level, resourceType, i) {
			out = append(out, sc)
		}
	}
	return out
}

// Levels returns the distinct levels of the resource scopes, in the order
// patient, user, system.
func (s Scopes) Levels() []string {
	var out []string
	for _, l := range []string{LevelPatient, LevelUser, LevelSystem} {
		if slices.ContainsFunc(s.resource, func(x Scope) bool { return x.Level == l }) {
			out = append(out, l)
		}
	}
	return out
}

// IsAdmin reports whether s grants every interaction (cruds) on
// Subscription at the system level, through unconstrained scopes:
// system/Subscription.cruds, system/Subscription.* (v1), system/*.cruds,
// system/*.* or a combination such as system/Subscription.rs plus
// system/Subscription.cud. An admin sees and manages every Subscription,
// not only its own. No patient/ or user/ scope ever makes an admin.
func (s Scopes) IsAdmin() bool {
	for i := range len(interactionOrder) {
		if !s.Allows(LevelSystem, "Subscription", Interaction(interactionOrder[i])) {
			return false
		}
	}
	return true
}
