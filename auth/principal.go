package auth

import (
	"context"
	"log/slog"
	"time"
)

// Kind says what sort of party a Principal is.
type Kind int

// The kinds of Principal.
const (
	// KindAnonymous is the caller in mode none: nobody was authenticated.
	KindAnonymous Kind = iota
	// KindUser is an app acting for a person: the token has a patient or
	// fhirUser claim, or at least one patient/ or user/ scope.
	KindUser
	// KindSystem is a backend client acting for itself: a token with only
	// system/ (or no resource) scopes and no person claims, or a mutual-TLS
	// client certificate.
	KindSystem
)

// String returns "anonymous", "user" or "system".
func (k Kind) String() string {
	switch k {
	case KindAnonymous:
		return "anonymous"
	case KindUser:
		return "user"
	case KindSystem:
		return "system"
	}
	return "unknown"
}

// How a Principal was authenticated (Principal.Method).
const (
	// MethodNone is authentication mode none (the anonymous principal).
	MethodNone = "none"
	// MethodJWT is a JWT access token verified against a JWKS.
	MethodJWT = "jwt"
	// MethodIntrospect is an access token checked by RFC 7662
	// introspection.
	MethodIntrospect = "introspect"
	// MethodMTLS is a verified mutual-TLS client certificate.
	MethodMTLS = "mtls"
)

// DefaultLeeway is the clock skew allowed on a token's times (exp, and a
// JWT's nbf and iat), in both token modes. It is the one owner of this
// leeway: a token is accepted until its exp plus the leeway, and
// Principal.Expires says exactly that, so that REST calls, tickets and
// binding tokens (whose authorization ends at Expires) and sockets agree
// on when a token stops working.
const DefaultLeeway = 30 * time.Second

// Principal is the authenticated caller. It never holds the token itself,
// so it may be stored (a Subscription's owner snapshot) and logged.
type Principal struct {
	// Kind is anonymous, user or system.
	Kind Kind
	// Method is MethodNone, MethodJWT, MethodIntrospect or MethodMTLS.
	Method string
	// Issuer is the token's iss claim ("" for none and mtls).
	Issuer string
	// Subject is the sub claim, or the certificate subject DN for mtls.
	Subject string
	// ClientID is the OAuth client: client_id, else azp, else cid; the
	// certificate's common name for mtls.
	ClientID string
	// Scopes are the granted scopes.
	Scopes Scopes
	// Patient is the SMART launch context claim "patient" (a Patient id),
	// "" when absent. patient/ scopes are limited to its compartment.
	Patient string
	// FHIRUser is the SMART fhirUser claim ("Practitioner/123" or an
	// absolute URL), "" when absent.
	FHIRUser string
	// Expires is when the server stops accepting the credential (a
	// token's exp plus the clock-skew leeway, or the certificate's
	// NotAfter); the zero time means never. A socket's
	// authorization lasts until Expires, not until its ticket expires.
	Expires time.Time
}

// Expired reports whether p's credential has expired at now. A zero
// Expires never expires.
func (p Principal) Expired(now time.Time) bool {
	return !p.Expires.IsZero() && !now.Before(p.Expires)
}

// Can reports whether p may perform interaction i on resourceType, and if
// so the Patient id the interaction must be confined to: "" when a user/ or
// system/ scope allows it without restriction, p.Patient when only
// patient/ scopes do. With only patient/ scopes and no patient claim the
// answer is no: such a token cannot name the compartment it is limited to.
func (p Principal) Can(resourceType string, i Interaction) (ok bool, patient string) {
	ok, patientOnly := p.Scopes.Can(resourceType, i)
	switch {
	case !ok:
		return false, ""
	case !patientOnly:
		return true, ""
	case p.Patient == "":
		return false, ""
	default:
		return true, p.Patient
	}
}

// LogValue logs a Principal by identity only (kind, method, subject,
// client), keeping scopes and claims out of every log line.
func (p Principal) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", p.Kind.String()),
		slog.String("method", p.Method),
		slog.String("sub", p.Subject),
		slog.String("client_id", p.ClientID),
	)
}

// kindFor classifies a token principal: any person claim or any patient/
// or user/ scope makes it a user, otherwise it is a system client.
func kindFor(s Scopes, patient, fhirUser string) Kind {
	if patient != "" || fhirUser != "" {
		return KindUser
	}
	for _, l := range s.Levels() {
		if l == LevelPatient || l == LevelUser {
			return KindUser
		}
	}
	return KindSystem
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal stored by WithPrincipal (the
// Middleware does this), and false when there is none: a handler that
// finds none must treat the request as unauthenticated, never as
// anonymous-with-all-scopes.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
