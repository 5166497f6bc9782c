package fhir

import "strings"

// Version is a FHIR release a client may ask notifications in. Subscriptions
// have one model (the R4 backport form, stored); the versions differ only in
// the wire shape of what is sent: R4 notifications carry a status
// Parameters, R4B and R5 a SubscriptionStatus resource, and R5 Bundles are of
// type subscription-notification instead of history.
type Version uint8

const (
	// R4 is FHIR 4.0 with the Subscriptions Backport IG's R4 profiles.
	R4 Version = iota
	// R4B is FHIR 4.3 with the Backport IG's R4B profiles.
	R4B
	// R5 is FHIR 5.0 topic-based subscriptions.
	R5
)

// String returns the MIME fhirVersion parameter value: 4.0, 4.3 or 5.0.
func (v Version) String() string {
	switch v {
	case R4B:
		return "4.3"
	case R5:
		return "5.0"
	}
	return "4.0"
}

// Release returns the full release number (CapabilityStatement.fhirVersion).
func (v Version) Release() string {
	switch v {
	case R4B:
		return "4.3.0"
	case R5:
		return "5.0.0"
	}
	return "4.0.1"
}

// ParseVersion reads a fhirVersion MIME parameter value ("4.0", "4.0.1",
// "4.3", "4.3.0", "5.0", "5.0.0", …). ok is false for a release fhirbell
// does not speak.
func ParseVersion(s string) (v Version, ok bool) {
	s = strings.TrimSpace(s)
	for _, c := range [...]Version{R4, R4B, R5} {
		if s == c.String() || strings.HasPrefix(s, c.String()+".") {
			return c, true
		}
	}
	return R4, false
}
