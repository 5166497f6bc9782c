package subscription

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Access control lives in the Service, not in the HTTP layer, so that a
// REST call, a Bundle entry and an operation are held to the same rules.
// The caller is the auth.Principal in the request context; a context with
// none is the server itself (loading, maintenance) and is not restricted.
//
//   - A principal may perform an interaction on a type only when a scope
//     allows it (auth.Principal.Can). Patient-level scopes restrict it
//     further to resources in the Patient compartment of its patient claim.
//   - Subscriptions belong to whoever created them: only the owner, or an
//     admin (system/Subscription.* scopes), may see, change or delete one,
//     or get tokens and tickets for it. Subscriptions and topics are not in
//     any compartment; ownership replaces the compartment rule for them.
//   - A principal may create a Subscription only if it may read every
//     resource type the subscription would notify about.

// forbidden is an auth.ErrForbidden with a precise message.
func forbidden(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), auth.ErrForbidden)
}

func interactionName(i auth.Interaction) string {
	switch i {
	case auth.Create:
		return "create"
	case auth.Read:
		return "read"
	case auth.Update:
		return "update"
	case auth.Delete:
		return "delete"
	case auth.Search:
		return "search"
	}
	return string(i)
}

// InCompartment reports whether a resource body of type typ belongs to the
// Patient compartment of Patient/patient, per the R4 CompartmentDefinition:
// it is that Patient, or one of the type's compartment parameters
// references it.
func InCompartment(typ string, body []byte, patient string) bool {
	if patient == "" || body == nil {
		return false
	}
	params, ok := auth.CompartmentParams(typ)
	if !ok {
		return false
	}
	want := "Patient/" + patient
	for _, p := range params {
		if p == auth.CompartmentSelf {
			if typ == "Patient" {
				if r, err := fhir.ParseResource(body); err == nil && r.ID == patient {
					return true
				}
			}
			continue
		}
		keys, err := search.IndexKeys(typ, p, body)
		if err != nil {
			continue // a compartment parameter fhirbell cannot evaluate
		}
		if slices.Contains(keys, want) {
			return true
		}
	}
	return false
}

// ownedTypes are governed by ownership rather than by compartments.
func ownedTypes(typ string) bool { return typ == "Subscription" || typ == "SubscriptionTopic" }

// checkAccess decides whether the caller may perform i on a stored
// resource of type typ. stored is its body (nil when unknown or deleted);
// incoming is the body a write would store (nil for reads and deletes).
// Ownership is judged on the stored body only: the server rewrites the
// owner of an incoming Subscription, so what a client puts there is moot.
func checkAccess(ctx context.Context, i auth.Interaction, typ string, stored, incoming []byte) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	return principalAccess(p, i, typ, stored, incoming)
}

// principalAccess is checkAccess for principal p. It is the one rule of
// what p may do with a resource body, for requests (through checkAccess)
// and for deliveries (Service.Deliverable) alike. A refusal that is about
// this resource rather than its type (another compartment, a granular
// constraint it does not match, someone else's Subscription) is an
// *instanceDenied.
func principalAccess(p auth.Principal, i auth.Interaction, typ string, stored, incoming []byte) error {
	allowed, patient := p.Can(typ, i)
	if !allowed {
		allowed, patient = granular(p, i, typ, stored, incoming)
		if !allowed {
			if typeLevel, _ := granular(p, i, typ); typeLevel {
				return &instanceDenied{fmt.Sprintf("the %s does not match the constraints of the granted scopes", typ)}
			}
			return forbidden("the granted scopes do not allow %s on %s", interactionName(i), typ)
		}
	}
	switch {
	case typ == "Subscription":
		if stored != nil {
			if owner, err := ownerOf(stored); err != nil || !owner.MayManage(p) {
				return &instanceDenied{"this Subscription belongs to another principal"}
			}
		}
	case ownedTypes(typ):
	case patient != "":
		for _, body := range [][]byte{stored, incoming} {
			if body != nil && !InCompartment(typ, body, patient) {
				return &instanceDenied{fmt.Sprintf("the %s is outside the compartment of Patient/%s that the patient/ scopes allow", typ, patient)}
			}
		}
	}
	return nil
}

// instanceDenied is a refusal about one resource. It is an
// auth.ErrForbidden for writes; a read turns it into ErrNotFound
// (readable), so that what a caller may not see answers exactly like what
// does not exist.
type instanceDenied struct{ msg string }

func (e *instanceDenied) Error() string        { return e.msg + ": " + auth.ErrForbidden.Error() }
func (e *instanceDenied) Is(target error) bool { return target == auth.ErrForbidden }

// unrestricted reports whether p may perform i on every resource of typ
// whatever its content, so that no body is needed to decide.
func unrestricted(p auth.Principal, i auth.Interaction, typ string) bool {
	allowed, patient := p.Can(typ, i)
	return allowed && patient == "" && typ != "Subscription"
}

// readable is the guard of every resource a response carries: a read or
// vread, each history entry, each search and _include entry (through
// visible and Service.Readable), each Bundle entry (which are reads,
// searches and histories themselves), each $events and socket
// notification (Service.Deliverable). body is the resource, or for a
// deletion the version it deleted; nil when unknown, which only an
// unrestricted caller may see. A hidden resource is ErrNotFound, never
// 403 or 410: the answer must not tell a resource the caller may not see
// from one that does not exist (HAPI does the same). A type the caller's
// scopes do not cover at all is still 403: that says nothing of any id.
func readable(ctx context.Context, typ string, body []byte) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	return principalReadable(p, auth.Read, typ, body)
}

func principalReadable(p auth.Principal, i auth.Interaction, typ string, body []byte) error {
	if body == nil && !unrestricted(p, i, typ) {
		if err := principalAccess(p, i, typ, nil, nil); err != nil {
			if _, hidden := errors.AsType[*instanceDenied](err); !hidden {
				return err
			}
		}
		return ErrNotFound
	}
	err := principalAccess(p, i, typ, body, nil)
	if _, hidden := errors.AsType[*instanceDenied](err); hidden {
		return ErrNotFound
	}
	return err
}

// Readable reports whether the caller may be sent body, a resource of type
// typ: the rule of readable, for response paths outside this package (an
// _include of a search, say). Every new path that returns resources must
// pass each one through it or through a Service read.
func (s *Service) Readable(ctx context.Context, typ string, body []byte) bool {
	return readable(ctx, typ, body) == nil
}

// granular decides an interaction that only granular SMART v2 scopes
// (patient/Observation.rs?category=…|laboratory) could allow: a scope
// grants it when every body at hand matches its constraints, evaluated as
// a search on the type. Without a body (the type-level check of a search)
// a scope whose constraints parse is enough here, and each result is then
// checked with its body. Constraints fhirbell cannot evaluate grant
// nothing. patient is the compartment a patient-level scope restricts to.
func granular(p auth.Principal, i auth.Interaction, typ string, bodies ...[]byte) (ok bool, patient string) {
	for _, level := range []string{auth.LevelSystem, auth.LevelUser, auth.LevelPatient} {
		for _, sc := range p.Scopes.Granular(level, typ, i) {
			if level == auth.LevelPatient && p.Patient == "" {
				continue
			}
			q, err := search.ParseQuery(typ, sc.Constraints)
			if err != nil {
				continue
			}
			match := true
			for _, b := range bodies {
				if b != nil {
					if ok, err := q.Match(b); err != nil || !ok {
						match = false
					}
				}
			}
			if !match {
				continue
			}
			if level == auth.LevelPatient {
				return true, p.Patient
			}
			return true, ""
		}
	}
	return false, ""
}

// visible is readable for filtering search results: whether the caller
// may see a body it is allowed to search for.
func visible(ctx context.Context, typ string, body []byte) bool {
	p, ok := auth.PrincipalFrom(ctx)
	return !ok || principalReadable(p, auth.Search, typ, body) == nil
}

// checkSubscriptionGrant decides whether the caller may create or change a
// Subscription that notifies about the types sub covers: it must be able to
// read each of them.
func (s *Service) checkSubscriptionGrant(ctx context.Context, sub *Subscription) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	for _, typ := range sub.ResourceTypes(s.topics) {
		allowed, _ := p.Can(typ, auth.Read)
		if !allowed {
			allowed, _ = granular(p, auth.Read, typ) // each event is then checked against the constraints
		}
		if !allowed {
			return forbidden("the granted scopes do not allow reading %s, which this Subscription notifies about", typ)
		}
	}
	return nil
}

// ScopeAuthorizer is the Authorizer of the auth modes jwt and introspect:
// an event is numbered only when the subscription's owner, with the scopes
// it had when it created the subscription, may read the focus (type scope
// or a granular scope whose constraints the focus matches, and Patient
// compartment for patient/ scopes). A subscription without an
// owner (created in auth mode none) is notified of nothing.
type ScopeAuthorizer struct{}

// MayRead implements Authorizer.
func (ScopeAuthorizer) MayRead(_ context.Context, sub *Subscription, typ string, body []byte) (bool, error) {
	if sub.Owner.IsZero() {
		return false, nil
	}
	p := auth.Principal{Kind: auth.KindUser, Subject: sub.Owner.Subject, ClientID: sub.Owner.Client, Scopes: sub.Owner.Scopes(), Patient: sub.Owner.Patient}
	allowed, patient := p.Can(typ, auth.Read)
	if !allowed {
		allowed, patient = granular(p, auth.Read, typ, body)
	}
	if !allowed {
		return false, nil
	}
	switch {
	case typ == "Subscription":
		// Someone else's Subscription is not the owner's to see, even
		// with Subscription read scopes: only admins see them all.
		o, err := ownerOf(body)
		return err == nil && o.MayManage(p), nil
	case patient != "" && !ownedTypes(typ):
		return InCompartment(typ, body, patient), nil
	}
	return true, nil
}
