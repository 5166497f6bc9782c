package subhttp

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// CapabilityStatement is the R4 CapabilityStatement, reduced to what
// fhirbell declares. Config.Capability receives it to add what later stages
// serve (operations, topic canonicals, the websocket extension, security).
type CapabilityStatement struct {
	ResourceType        string           `json:"resourceType"`
	Extension           []Extension      `json:"extension,omitempty"`
	URL                 string           `json:"url,omitempty"`
	Name                string           `json:"name,omitempty"`
	Title               string           `json:"title,omitempty"`
	Status              string           `json:"status"`
	Date                string           `json:"date"`
	Publisher           string           `json:"publisher,omitempty"`
	Description         string           `json:"description,omitempty"`
	Kind                string           `json:"kind"`
	Instantiates        []string         `json:"instantiates,omitempty"`
	Software            *Software        `json:"software,omitempty"`
	Implementation      *Implementation  `json:"implementation,omitempty"`
	FHIRVersion         string           `json:"fhirVersion"`
	Format              []string         `json:"format"`
	ImplementationGuide []string         `json:"implementationGuide,omitempty"`
	Rest                []CapabilityRest `json:"rest,omitempty"`
}

// Extension is a FHIR extension with the value types a CapabilityStatement
// needs; set exactly one value, or nested Extension.
type Extension struct {
	URL            string      `json:"url"`
	Extension      []Extension `json:"extension,omitempty"`
	ValueString    string      `json:"valueString,omitempty"`
	ValueURI       string      `json:"valueUri,omitempty"`
	ValueURL       string      `json:"valueUrl,omitempty"`
	ValueCanonical string      `json:"valueCanonical,omitempty"`
	ValueCode      string      `json:"valueCode,omitempty"`
	ValueBoolean   *bool       `json:"valueBoolean,omitempty"`
	ValueInteger   *int        `json:"valueInteger,omitempty"`
}

// Software is CapabilityStatement.software.
type Software struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Implementation is CapabilityStatement.implementation.
type Implementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is CapabilityStatement.rest.
type CapabilityRest struct {
	Extension     []Extension          `json:"extension,omitempty"`
	Mode          string               `json:"mode"`
	Documentation string               `json:"documentation,omitempty"`
	Security      json.RawMessage      `json:"security,omitempty"`
	Resource      []CapabilityResource `json:"resource,omitempty"`
	Interaction   []Interaction        `json:"interaction,omitempty"`
	SearchParam   []SearchParam        `json:"searchParam,omitempty"`
	Operation     []Operation          `json:"operation,omitempty"`
}

// CapabilityResource is CapabilityStatement.rest.resource.
type CapabilityResource struct {
	Extension         []Extension   `json:"extension,omitempty"`
	Type              string        `json:"type"`
	Profile           string        `json:"profile,omitempty"`
	SupportedProfile  []string      `json:"supportedProfile,omitempty"`
	Documentation     string        `json:"documentation,omitempty"`
	Interaction       []Interaction `json:"interaction"`
	Versioning        string        `json:"versioning"`
	ReadHistory       bool          `json:"readHistory"`
	UpdateCreate      bool          `json:"updateCreate"`
	ConditionalCreate bool          `json:"conditionalCreate"`
	ConditionalRead   string        `json:"conditionalRead"`
	ConditionalUpdate bool          `json:"conditionalUpdate"`
	ConditionalDelete string        `json:"conditionalDelete"`
	SearchParam       []SearchParam `json:"searchParam,omitempty"`
	Operation         []Operation   `json:"operation,omitempty"`
}

// Interaction is a rest or rest.resource interaction.
type Interaction struct {
	Code          string `json:"code"`
	Documentation string `json:"documentation,omitempty"`
}

// SearchParam is a rest.resource.searchParam.
type SearchParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// Operation is a rest or rest.resource operation.
type Operation struct {
	Extension     []Extension `json:"extension,omitempty"`
	Name          string      `json:"name"`
	Definition    string      `json:"definition"`
	Documentation string      `json:"documentation,omitempty"`
}

// Resource returns the rest[0].resource entry of typ, or nil.
func (cs *CapabilityStatement) Resource(typ string) *CapabilityResource {
	if len(cs.Rest) == 0 {
		return nil
	}
	for i := range cs.Rest[0].Resource {
		if cs.Rest[0].Resource[i].Type == typ {
			return &cs.Rest[0].Resource[i]
		}
	}
	return nil
}

// resourceInteractions are the instance and type interactions served for
// every resource type.
var resourceInteractions = []Interaction{
	{Code: "read"}, {Code: "vread"}, {Code: "update"}, {Code: "patch"}, {Code: "delete"},
	{Code: "history-instance"}, {Code: "history-type"}, {Code: "create"}, {Code: "search-type"},
}

// restDocumentation is rest.documentation: what a client would otherwise
// learn only by trying. Keep it in step with docs/decisions.md.
const restDocumentation = "JSON only (_format json, fhir+json, application/json, application/fhir+json; Accept with q-values " +
	"and fhirVersion=4.0); XML and other versions are 406. Responses put resourceType, id and meta first, then the " +
	"elements in the order the client sent them. Every write is validated against R4 (400 with every issue located); " +
	"$validate checks without writing (mode create, update, delete). Conditional create (If-None-Exist, " +
	"request.ifNoneExist), update (PUT [type]?criteria), delete (one or several matches, up to a server cap), patch " +
	"(PATCH [type]?criteria) and read (If-None-Match, If-Modified-Since: 304), and conditional references in " +
	"transactions. PATCH takes JSON Patch (application/json-patch+json) and FHIRPath Patch (Parameters), with If-Match. " +
	"Prefer: return=minimal, representation or OperationOutcome on every write and every transaction and batch entry. " +
	"_summary=true, text, data (by the R4 isSummary flags) and count, and _elements, on read, vread, search " +
	"(included entries too) and history; a subsetted resource is tagged SUBSETTED. Searches page by a keyset " +
	"cursor in the next and previous links, sort on any parameter with _sort, and support _include, _revinclude, " +
	"chains and _has; composite and special parameters are not supported. Type- and system-level history take " +
	"_since, _at, _count and page newest first with a keyset cursor (next links only). A transaction reads only by " +
	"id; searches, vreads and history go in a batch."

// validateOperation is $validate, served on every type and instance.
var validateOperation = Operation{Name: "validate", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
	Documentation: "Validates a resource against R4 without storing it (POST [type]/$validate, [type]/[id]/$validate; mode create, update or delete)"}

// shapingParams are the result parameters every search, read and history
// takes, declared at rest level as the parameters of every resource.
var shapingParams = []SearchParam{
	{Name: "_summary", Type: "token",
		Documentation: "true, text, data or false (by the R4 isSummary flags; subsetted resources are tagged SUBSETTED), or count (a search's total only)"},
	{Name: "_elements", Type: "string",
		Documentation: "Comma-separated top-level element names to keep (mandatory elements are always kept; tagged SUBSETTED)"},
}

// buildCapabilityStatement returns the statement of what this package
// serves, for a server whose base (without endpoint.FHIRPath) is serverBase. It does
// not apply Config.Capability.
func buildCapabilityStatement(serverBase, softwareVersion string, built time.Time) *CapabilityStatement {
	cs := &CapabilityStatement{
		ResourceType:   "CapabilityStatement",
		Name:           "FhirbellCapabilityStatement",
		Title:          "fhirbell capability statement",
		Status:         "active",
		Date:           fhir.FormatInstant(built),
		Kind:           "instance",
		Software:       &Software{Name: "fhirbell", Version: softwareVersion},
		Implementation: &Implementation{Description: "fhirbell FHIR R4 server", URL: serverBase + endpoint.FHIRPath},
		FHIRVersion:    "4.0.1",
		Format:         []string{"json", "application/fhir+json"},
	}
	rest := CapabilityRest{
		Mode:          "server",
		Documentation: restDocumentation,
		Interaction:   []Interaction{{Code: "transaction"}, {Code: "batch"}, {Code: "history-system"}},
		SearchParam:   shapingParams,
		Operation:     []Operation{validateOperation},
	}
	for _, typ := range fhir.ResourceTypes() {
		r := CapabilityResource{
			Type:              typ,
			Interaction:       resourceInteractions,
			Versioning:        "versioned",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalCreate: true,
			ConditionalUpdate: true,
			ConditionalRead:   "full-support",
			ConditionalDelete: "multiple",
		}
		if typ == "Patient" {
			r.Operation = append(r.Operation, Operation{Name: "everything",
				Definition:    "http://hl7.org/fhir/OperationDefinition/Patient-everything",
				Documentation: "The Patient and its compartment (GET, instance level), with _since, _type and _count; paged by a cursor in the next link. Referenced resources outside the compartment are not added."})
		}
		for _, p := range search.SearchParams(typ) {
			r.SearchParam = append(r.SearchParam, SearchParam{Name: p.Code, Type: p.Type, Documentation: p.Description})
		}
		rest.Resource = append(rest.Resource, r)
	}
	cs.Rest = []CapabilityRest{rest}
	return cs
}

// capCache holds the encoded statement per server base, since building and
// encoding it (every type, every search parameter) is far from free.
type capCache struct {
	mu      sync.Mutex
	entries map[string]capEntry // guarded by mu
}

type capEntry struct {
	generation uint64
	body       []byte
}

// maxCapEntries bounds the cache: with a derived base, the Host header picks
// the key, and a client must not grow the map without end.
const maxCapEntries = 16

func (a *api) capabilityJSON(serverBase string) ([]byte, error) {
	// The topics are part of the statement: a topic created or deleted
	// makes a new generation.
	gen := a.svc.Topics().Generation()
	a.caps.mu.Lock()
	e, ok := a.caps.entries[serverBase]
	a.caps.mu.Unlock()
	if ok && e.generation == gen {
		return e.body, nil
	}
	cs := buildCapabilityStatement(serverBase, a.cfg.SoftwareVersion, time.Now())
	a.subscriptionCapability(cs, serverBase)
	if a.cfg.Capability != nil {
		a.cfg.Capability(cs, serverBase)
	}
	if a.cfg.Version == fhir.R5 {
		r5Capability(cs, serverBase)
	}
	body, err := fhir.Marshal(cs)
	if err != nil {
		return nil, err
	}
	a.caps.mu.Lock()
	defer a.caps.mu.Unlock()
	if a.caps.entries == nil || len(a.caps.entries) >= maxCapEntries {
		a.caps.entries = map[string]capEntry{}
	}
	a.caps.entries[serverBase] = capEntry{generation: gen, body: body}
	return body, nil
}

func (a *api) metadata(w http.ResponseWriter, r *http.Request) error {
	body, err := a.capabilityJSON(serverBase(r))
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, body)
	return nil
}

// Canonicals of what fhirbell implements from the Subscriptions Backport IG.
const (
	backportBase      = "http://hl7.org/fhir/uv/subscriptions-backport/"
	topicCanonicalExt = backportBase + "StructureDefinition/capabilitystatement-subscriptiontopic-canonical"
	websocketExt      = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket"
	// channelTypeExt lists a channel type the server delivers, one per
	// extension: R4 and the Backport IG define no element for it, and
	// clients (and the Inferno test kit) otherwise learn it only by
	// trying.
	channelTypeExt        = "https://fhirbell.dev/fhir/StructureDefinition/capabilitystatement-subscription-channel"
	backportServerProfile = backportBase + "CapabilityStatement/backport-subscription-server-r4"
)

// subscriptionCapability adds what the Subscription engine and the socket
// hub support: the operations, every topic (built-in and user-defined) as
// a capabilitystatement-subscriptiontopic-canonical, and the WebSocket URL.
func (a *api) subscriptionCapability(cs *CapabilityStatement, serverBase string) {
	cs.Instantiates = append(cs.Instantiates, backportServerProfile)
	sub := cs.Resource("Subscription")
	if sub == nil {
		return
	}
	sub.SupportedProfile = append(sub.SupportedProfile, backportBase+"StructureDefinition/backport-subscription")
	for _, ch := range []string{subscription.ChannelRestHook, subscription.ChannelWebsocket} {
		sub.Extension = append(sub.Extension, Extension{URL: channelTypeExt, ValueCode: ch})
	}
	const channels = "Channels: rest-hook (POST of the notification Bundle to channel.endpoint, handshake on activation, at least once and in order, retried with backoff) and websocket (bind-with-token, $websocket-ticket, legacy bind)."
	if sub.Documentation == "" {
		sub.Documentation = channels
	} else {
		sub.Documentation += " " + channels
	}
	sub.Operation = append(sub.Operation,
		Operation{Name: "status", Definition: backportBase + "OperationDefinition/backport-subscription-status",
			Documentation: "Status of one or more Subscriptions (instance and type level)"},
		Operation{Name: "events", Definition: backportBase + "OperationDefinition/backport-subscription-events",
			Documentation: "Past events from the persisted event log (eventsSinceNumber, eventsUntilNumber, content)"},
		Operation{Name: "get-ws-binding-token", Definition: backportBase + "OperationDefinition/backport-subscription-get-ws-binding-token",
			Documentation: "A reusable token for bind-with-token on the WebSocket endpoint (instance, or type level with id)"},
		Operation{Name: "websocket-ticket", Definition: "https://fhirbell.dev/fhir/OperationDefinition/websocket-ticket",
			Documentation: "A single-use WebSocket URL, valid 60 s, that binds the Subscription on connect (for browsers)"},
	)
	for _, t := range a.svc.Topics().All() {
		sub.Extension = append(sub.Extension, Extension{URL: topicCanonicalExt, ValueCanonical: t.URL})
	}
	if len(cs.Rest) > 0 {
		ws := endpoint.WebSocketURL(serverBase)
		cs.Rest[0].Extension = append(cs.Rest[0].Extension, Extension{URL: websocketExt, ValueURI: ws})
	}
}
