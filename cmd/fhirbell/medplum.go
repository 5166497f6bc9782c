package main

import (
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
)

// medplumNamespace names the profile ids derived from subjects.
var medplumNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://fhirbell.dev/ns/medplum-profile"))

// medplumMe answers GET endpoint.MedplumMePath (/auth/me) with the Medplum session of the caller, so
// that a Medplum app works against fhirbell unchanged: the SDK (5.x)
// subscribes only once it has a profile, and fetches one here for every
// access token that carries a login_id claim (see docs/clients.md). The
// profile is the principal's fhirUser when it names a resource (such as
// Practitioner/123), else a Practitioner whose id is derived from the
// subject; project, membership and config are fhirbell's one project,
// with the websocket-subscriptions feature.
// Nothing here grants anything: the FHIR API and sockets check the access
// token as always.
func medplumMe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeOutcome(w, http.StatusMethodNotAllowed, fhir.NewOutcome(fhir.IssueNotSupported, "auth/me answers GET only"))
		return
	}
	p, _ := auth.PrincipalFrom(r.Context())
	typ, id, ok := strings.Cut(p.FHIRUser, "/")
	if !ok || !fhir.IsResourceType(typ) || !fhir.ValidID(id) {
		subject := p.Subject
		if subject == "" {
			subject = "anonymous"
		}
		typ, id = "Practitioner", uuid.NewSHA1(medplumNamespace, []byte(subject)).String()
	}
	name := p.Subject
	if name == "" {
		name = "anonymous (auth mode none)"
	}
	ref := map[string]string{"reference": typ + "/" + id, "display": name}
	project := map[string]string{"reference": "Project/fhirbell", "display": "fhirbell"}
	writeJSON(w, http.StatusOK, map[string]any{
		// Medplum React's useSubscription listens only in a project with
		// this feature.
		"project":    map[string]any{"resourceType": "Project", "id": "fhirbell", "name": "fhirbell", "features": []string{"websocket-subscriptions"}},
		"membership": map[string]any{"resourceType": "ProjectMembership", "id": id, "project": project, "profile": ref},
		"profile":    map[string]any{"resourceType": typ, "id": id, "name": []map[string]string{{"text": name}}},
		"config":     map[string]any{"resourceType": "UserConfiguration", "id": id, "name": "fhirbell"},
	})
}
