package memstore_test

import (
	"testing"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/fhirbell/fhirbell/subscription/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) subscription.Store {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
