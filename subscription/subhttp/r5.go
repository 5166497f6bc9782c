package subhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// The R5 endpoint (Config.Version R5, mounted at endpoint.R5FHIRPath) is
// this same API with its Subscriptions translated at the edge: a
// Subscription body is read as R5 (subscription.SubscriptionFromR5) and
// every Subscription the API answers with is written as R5
// (subscription.SubscriptionToR5), in reads, searches and histories alike;
// $status and $events answer SubscriptionStatus-based R5 Bundles. Other
// resources are the server's R4 resources, as stored.

// versionOf returns the wire version of the request that ctx belongs to.
func versionOf(ctx context.Context) fhir.Version {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri.version
	}
	return fhir.R4
}

// outBody returns the body of a stored resource of type typ as the
// request's version writes it.
func outBody(ctx context.Context, typ string, body []byte) []byte {
	if typ != "Subscription" || len(body) == 0 || versionOf(ctx) != fhir.R5 {
		return body
	}
	out, err := subscription.SubscriptionToR5(body)
	if err != nil {
		// A stored Subscription was valid when written; answering with the
		// stored form beats failing a read.
		if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
			ri.log.Error("write Subscription as R5", "err", err)
		}
		return body
	}
	return out
}

// readResource reads the body of a create or update of typ and parses it;
// at the R5 endpoint a Subscription is translated to the stored form first,
// and paths, non-nil then, names the R5 elements for the errors that the
// write reports.
func readResource(w http.ResponseWriter, r *http.Request, typ string) (*fhir.Resource, *subscription.R5Paths, error) {
	body, err := readJSONBody(w, r)
	if err != nil {
		return nil, nil, err
	}
	var paths *subscription.R5Paths
	if typ == "Subscription" && versionOf(r.Context()) == fhir.R5 {
		if body, paths, err = subscription.SubscriptionFromR5(body); err != nil {
			return nil, nil, err
		}
	}
	res, err := parseBody(body, typ)
	return res, paths, err
}

// refuseR5Subscriptions refuses, at the R5 endpoint, a transaction or batch
// with an entry that carries or names a Subscription: entries are not
// translated.
func refuseR5Subscriptions(ctx context.Context, raws []json.RawMessage) error {
	if versionOf(ctx) != fhir.R5 {
		return nil
	}
	for i, raw := range raws {
		var e struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		_ = json.Unmarshal(raw, &e) // a malformed entry is reported later
		if e.Resource.ResourceType == "Subscription" || strings.HasPrefix(strings.TrimPrefix(e.Request.URL, "/"), "Subscription") {
			return &fhir.ValidationError{Path: "Bundle.entry[" + strconv.Itoa(i) + "]", Code: fhir.IssueNotSupported,
				Msg: "Subscriptions in a transaction or batch are not translated at the R5 endpoint; read and write each with its own request"}
		}
	}
	return nil
}

// R5 core canonicals of the Subscription operations.
const r5OperationBase = "http://hl7.org/fhir/OperationDefinition/Subscription-"

// r5Capability turns the statement into the R5 endpoint's: fhirVersion
// 5.0.0 (R5 clients check it before they subscribe), its own URL, the core
// Subscription profile and operation definitions instead of the Backport
// IG's. The other resource types are listed as they are, since they are
// served as stored.
func r5Capability(cs *CapabilityStatement, serverBase string) {
	cs.FHIRVersion = fhir.R5.Release()
	cs.Implementation = &Implementation{
		Description: "fhirbell: R5 Subscriptions over the R4 resources of the server",
		URL:         serverBase + endpoint.R5FHIRPath,
	}
	cs.Instantiates = slices.DeleteFunc(cs.Instantiates, func(s string) bool { return s == backportServerProfile })
	sub := cs.Resource("Subscription")
	if sub == nil {
		return
	}
	sub.Profile = "http://hl7.org/fhir/StructureDefinition/Subscription"
	sub.SupportedProfile = nil
	for i := range sub.Operation {
		switch op := &sub.Operation[i]; op.Name {
		case "status", "events", "get-ws-binding-token":
			op.Definition = r5OperationBase + op.Name
		}
	}
}
