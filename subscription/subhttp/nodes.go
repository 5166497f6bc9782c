package subhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// The cluster view over FHIR: who is listening to a subscription and how
// far behind, from the reports every node publishes (subscription.NodeReport).
// $status carries one fhirbell-node parameter per node that binds the
// subscription; GET /Subscription/$nodes answers a Parameters resource with
// one node parameter per live node. Both share the parts below, so that a
// client parses one shape:
//
//	node: node-id, address, started, reported, sockets, bindings,
//	      subscription* (the node's subscriptions the caller may manage)
//	subscription / fhirbell-node: subscription (or node-id, address,
//	      reported), head, binding-count, max-lag, oldest-undelivered?,
//	      binding* (connection, dialect, auth, cursor, lag, since)
//
// Event numbers and lags are strings, as events-since-subscription-start
// is (they are 64-bit). The parts are fhirbell's own, outside the IG.

// param is one Parameters.parameter.
type param struct {
	Name          string  `json:"name"`
	ValueString   *string `json:"valueString,omitempty"`
	ValueInstant  *string `json:"valueInstant,omitempty"`
	ValueUnsigned *int    `json:"valueUnsignedInt,omitempty"`
	ValueCode     *string `json:"valueCode,omitempty"`
	ValueURL      *string `json:"valueUrl,omitempty"`
	ValueRef      *ref    `json:"valueReference,omitempty"`
	Part          []param `json:"part,omitempty"`
}

type ref struct {
	Reference string `json:"reference"`
}

func pString(name, v string) param { return param{Name: name, ValueString: &v} }
func pCode(name, v string) param   { return param{Name: name, ValueCode: &v} }
func pURL(name, v string) param    { return param{Name: name, ValueURL: &v} }
func pInt(name string, v int) param {
	return param{Name: name, ValueUnsigned: &v}
}
func pNumber(name string, v int64) param { return pString(name, strconv.FormatInt(v, 10)) }
func pInstant(name string, t time.Time) param {
	v := t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	return param{Name: name, ValueInstant: &v}
}

// subscriptionParts are the parts describing one node's bindings of a
// subscription.
func subscriptionParts(ns subscription.NodeSubscription) []param {
	parts := []param{
		pNumber("head", ns.Head),
		pInt("binding-count", ns.BindingCount),
		pNumber("max-lag", ns.MaxLag),
	}
	if !ns.OldestUndelivered.IsZero() {
		parts = append(parts, pInstant("oldest-undelivered", ns.OldestUndelivered))
	}
	for _, b := range ns.Bindings {
		parts = append(parts, param{Name: "binding", Part: []param{
			pNumber("connection", int64(b.Conn)),
			pCode("dialect", b.Dialect),
			pCode("auth", b.Auth),
			pNumber("cursor", b.Cursor),
			pNumber("lag", b.Lag),
			pInstant("since", b.Since),
		}})
	}
	return parts
}

func nodeHeader(id, address string, reported time.Time) []param {
	parts := []param{pString("node-id", id)}
	if address != "" {
		parts = append(parts, pURL("address", address))
	}
	return append(parts, pInstant("reported", reported))
}

// clusterParameters returns the fhirbell-node parameters of $status for
// each subscription in ids.
func (a *api) clusterParameters(r *http.Request, ids []string) (map[string][]json.RawMessage, error) {
	nodes, err := a.svc.NodesOf(r.Context(), ids...)
	if err != nil {
		return nil, err
	}
	out := map[string][]json.RawMessage{}
	for id, ns := range nodes {
		for _, n := range ns {
			p := param{Name: "fhirbell-node", Part: append(nodeHeader(n.NodeID, n.Address, n.Reported), subscriptionParts(n.NodeSubscription)...)}
			b, err := fhir.Marshal(p)
			if err != nil {
				return nil, fmt.Errorf("encode cluster view: %w", err)
			}
			out[id] = append(out[id], b)
		}
	}
	return out, nil
}

// nodesOp is GET /Subscription/$nodes: every live node with its sockets
// and, of its subscriptions, those the caller may manage (owner or admin,
// as for $status), as a Parameters resource.
func (a *api) nodesOp(w http.ResponseWriter, r *http.Request) error {
	if _, err := opParams(w, r); err != nil {
		return err
	}
	nodes, err := a.svc.Nodes(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}{ResourceType: "Parameters", Parameter: []param{}}
	for _, n := range nodes {
		parts := append(nodeHeader(n.NodeID, n.Address, n.Reported),
			pInstant("started", n.Started), pInt("sockets", n.Sockets), pInt("bindings", n.Bindings))
		for _, ns := range n.Subscriptions {
			parts = append(parts, param{Name: "subscription", Part: append([]param{
				{Name: "subscription", ValueRef: &ref{Reference: "Subscription/" + ns.ID}},
			}, subscriptionParts(ns)...)})
		}
		out.Parameter = append(out.Parameter, param{Name: "node", Part: parts})
	}
	return writeJSON(w, r, http.StatusOK, out)
}
