package subscription

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
)

// OwnerExtension is the meta.extension under which a stored Subscription
// records who created it and with which authorization: sub-extensions
// subject, client, scope (the granted scopes, space-separated) and patient
// (the SMART launch context). The server writes it; whatever a client sends
// under this URL is replaced.
const OwnerExtension = "https://fhirbell.dev/fhir/StructureDefinition/subscription-owner"

// Owner is the principal a Subscription belongs to and the authorization
// it was created with. The zero Owner is a subscription created with
// authentication off (auth mode none).
type Owner struct {
	Subject string
	Client  string
	Scope   string // space-separated scopes, as granted
	Patient string // the SMART patient context, "" when none

	scopes auth.Scopes // Scope parsed; set by ownerOf and OwnerOf
}

// IsZero reports whether no owner is recorded.
func (o Owner) IsZero() bool { return o.Subject == "" && o.Client == "" }

// Scopes returns the scopes the subscription was created with.
func (o Owner) Scopes() auth.Scopes { return o.scopes }

// OwnerOf returns the Owner a principal's subscriptions get; the anonymous
// principal of auth mode none owns nothing (zero Owner).
func OwnerOf(p auth.Principal) Owner {
	if p.Kind == auth.KindAnonymous {
		return Owner{}
	}
	o := Owner{Subject: p.Subject, Client: p.ClientID, Scope: p.Scopes.String(), Patient: p.Patient}
	o.scopes = p.Scopes
	return o
}

// OwnedBy reports whether p is the owner (same subject and client). An
// ownerless subscription is owned by nobody in particular: any principal
// matches it only in auth mode none, where every caller is anonymous.
func (o Owner) OwnedBy(p auth.Principal) bool {
	if o.IsZero() {
		return p.Kind == auth.KindAnonymous
	}
	return o.Subject == p.Subject && o.Client == p.ClientID
}

// MayManage reports whether p may see, change, or get tokens and tickets
// for a subscription owned by o: the owner, or an admin
// (system/Subscription.* scopes).
func (o Owner) MayManage(p auth.Principal) bool {
	return p.Scopes.IsAdmin() || o.OwnedBy(p)
}

type ownerExt struct {
	URL         string     `json:"url"`
	ValueString string     `json:"valueString,omitempty"`
	Extension   []ownerExt `json:"extension,omitempty"`
}

// ownerOf reads the owner extension of a resource body.
func ownerOf(body []byte) (Owner, error) {
	var r struct {
		Meta struct {
			Extension []ownerExt `json:"extension"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Owner{}, fhir.Invalid("Subscription.meta.extension", "not valid: "+err.Error())
	}
	var o Owner
	for _, e := range r.Meta.Extension {
		if e.URL != OwnerExtension {
			continue
		}
		for _, sub := range e.Extension {
			switch sub.URL {
			case "subject":
				o.Subject = sub.ValueString
			case "client":
				o.Client = sub.ValueString
			case "scope":
				o.Scope = sub.ValueString
			case "patient":
				o.Patient = sub.ValueString
			}
		}
	}
	o.scopes = auth.ParseScopes(o.Scope)
	return o, nil
}

// withOwner returns the resource body with its owner extension replaced by
// o (removed when o is zero), every other member kept in place.
func withOwner(r *fhir.Resource, o Owner) error {
	meta, _ := fhir.ParseObject([]byte("{}"))
	if raw, ok := r.Obj.Get("meta"); ok {
		m, err := fhir.ParseObject(raw)
		if err != nil {
			return fmt.Errorf("meta: %w", err)
		}
		meta = m
	}
	var exts []json.RawMessage
	if raw, ok := meta.Get("extension"); ok {
		if err := json.Unmarshal(raw, &exts); err != nil {
			return fhir.Invalid("Subscription.meta.extension", "must be an array")
		}
	}
	exts = slices.DeleteFunc(exts, func(raw json.RawMessage) bool {
		var e ownerExt
		return json.Unmarshal(raw, &e) == nil && e.URL == OwnerExtension
	})
	if !o.IsZero() {
		own := ownerExt{URL: OwnerExtension}
		for _, kv := range [][2]string{{"subject", o.Subject}, {"client", o.Client}, {"scope", o.Scope}, {"patient", o.Patient}} {
			if kv[1] != "" {
				own.Extension = append(own.Extension, ownerExt{URL: kv[0], ValueString: kv[1]})
			}
		}
		b, _ := json.Marshal(own) // plain strings: cannot fail
		exts = append(exts, b)
	}
	if len(exts) == 0 {
		meta.Delete("extension")
	} else {
		meta.Set("extension", exts)
	}
	r.Obj.SetRaw("meta", meta.Bytes())
	return nil
}
