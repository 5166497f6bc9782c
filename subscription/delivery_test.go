package subscription_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

func TestRestHookEngineMemstore(t *testing.T) {
	runRestHookEngineTests(t, func(t *testing.T) subscription.Store { return memstore.New() })
}

func TestRestHookEnginePostgres(t *testing.T) {
	runRestHookEngineTests(t, openPostgres)
}

// refuseHost is an EndpointPolicy that refuses one host.
type refuseHost string

func (h refuseHost) CheckEndpoint(_ context.Context, endpoint string) error {
	if strings.Contains(endpoint, string(h)) {
		return errors.New("endpoint " + string(h) + " is refused")
	}
	return nil
}

func restHookSub(id, status, endpoint string) string {
	return `{"resourceType":"Subscription",` + idMember(id) + `"status":"` + status + `","reason":"r",
 "criteria":"Observation?code=http://loinc.org|8867-4",
 "channel":{"type":"rest-hook","endpoint":"` + endpoint + `","payload":"application/fhir+json"}}`
}

func storedStatus(t *testing.T, svc *subscription.Service, id string) (string, string) {
	t.Helper()
	r, err := svc.Read(t.Context(), "Subscription", id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fhir.ParseResource(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := res.Obj.String("status")
	e, _ := res.Obj.String("error")
	return st, e
}

func runRestHookEngineTests(t *testing.T, newStore func(*testing.T) subscription.Store) {
	t.Run("new subscription waits for its handshake and numbers events meanwhile", func(t *testing.T) {
		e := newEnv(t, newStore)
		res := e.create(restHookSub("", "active", "https://hooks.example.org/a"))
		if st, _ := storedStatus(t, e.svc, res.ID); st != subscription.StatusRequested {
			t.Fatalf("stored status = %s, want requested", st)
		}
		if _, ok := e.svc.ActiveSubscription(res.ID); ok {
			t.Error("a socket could bind a rest-hook subscription")
		}
		if _, ok := e.svc.RestHookSubscription(res.ID); !ok {
			t.Fatal("RestHookSubscription does not know it")
		}
		e.create(obs("", "8867-4", "p1"))
		wantNumbers(t, e.events(res.ID), 1)

		wrote, err := e.svc.SetDeliveryStatus(t.Context(), res.ID, "https://hooks.example.org/a", subscription.StatusActive, "")
		if err != nil || !wrote {
			t.Fatalf("SetDeliveryStatus(active) = %v, %v", wrote, err)
		}
		if st, _ := storedStatus(t, e.svc, res.ID); st != subscription.StatusActive {
			t.Fatalf("after the handshake: %s", st)
		}
		if wrote, _ := e.svc.SetDeliveryStatus(t.Context(), res.ID, "https://hooks.example.org/a", subscription.StatusActive, ""); wrote {
			t.Error("SetDeliveryStatus wrote an unchanged status")
		}
		// In error the log goes on.
		if _, err := e.svc.SetDeliveryStatus(t.Context(), res.ID, "https://hooks.example.org/a", subscription.StatusError, "no-response since x"); err != nil {
			t.Fatal(err)
		}
		if st, msg := storedStatus(t, e.svc, res.ID); st != subscription.StatusError || msg != "no-response since x" {
			t.Fatalf("after failures: %s %q", st, msg)
		}
		e.create(obs("", "8867-4", "p1"))
		wantNumbers(t, e.events(res.ID), 1, 2)
		info, err := e.svc.Status(t.Context(), res.ID)
		if err != nil || info.Status != subscription.StatusError || info.Head.Last != 2 || info.Delivery == nil {
			t.Fatalf("Status = %+v, %v", info, err)
		}
	})
	t.Run("a new endpoint needs a new handshake; a stale status write is dropped", func(t *testing.T) {
		e := newEnv(t, newStore)
		res := e.create(restHookSub("", "requested", "https://hooks.example.org/a"))
		if _, err := e.svc.SetDeliveryStatus(t.Context(), res.ID, "https://hooks.example.org/a", subscription.StatusActive, ""); err != nil {
			t.Fatal(err)
		}
		e.update(restHookSub(res.ID, "active", "https://hooks.example.org/b"))
		if st, _ := storedStatus(t, e.svc, res.ID); st != subscription.StatusRequested {
			t.Fatalf("after changing the endpoint: %s, want requested", st)
		}
		if wrote, err := e.svc.SetDeliveryStatus(t.Context(), res.ID, "https://hooks.example.org/a", subscription.StatusActive, ""); err != nil || wrote {
			t.Fatalf("a status for the old endpoint was written: %v, %v", wrote, err)
		}
		// The owner turning it off takes it out of delivery.
		e.update(restHookSub(res.ID, "off", "https://hooks.example.org/b"))
		if _, ok := e.svc.RestHookSubscription(res.ID); ok {
			t.Error("an off subscription is still delivered")
		}
	})
	t.Run("the endpoint policy refuses at create and update", func(t *testing.T) {
		e := newEnv(t, newStore, subscription.WithEndpointPolicy(refuseHost("169.254.169.254")))
		r, _ := fhir.ParseResource([]byte(restHookSub("", "requested", "http://169.254.169.254/latest")))
		_, err := e.svc.Create(t.Context(), r)
		var ve *fhir.ValidationError
		if !errors.As(err, &ve) || ve.Path != "Subscription.channel.endpoint" || ve.Code != fhir.IssueSecurity {
			t.Fatalf("create = %v, want a security error on the endpoint", err)
		}
		res := e.create(restHookSub("", "requested", "https://hooks.example.org/a"))
		r, _ = fhir.ParseResource([]byte(restHookSub(res.ID, "requested", "http://169.254.169.254/latest")))
		if _, _, err := e.svc.Update(t.Context(), r, 0); !errors.As(err, &ve) {
			t.Fatalf("update = %v, want a validation error", err)
		}
	})
}
