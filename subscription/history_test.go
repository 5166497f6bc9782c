package subscription

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestHistoryCursorRoundTrip(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)
	c := HistoryCursor{At: at, Type: "Patient", ID: "a-1.b", Version: 7}
	got, err := DecodeHistoryCursor(c.Encode(), "Patient")
	if err != nil || got != c {
		t.Fatalf("DecodeHistoryCursor(Encode(%+v)) = %+v, %v", c, got, err)
	}
	if _, err := DecodeHistoryCursor(c.Encode(), ""); err != nil {
		t.Errorf("a type's cursor in the system history: %v", err)
	}
	if _, err := DecodeHistoryCursor(c.Encode(), "Observation"); !isInvalid(err) {
		t.Errorf("a Patient cursor for Observation: %v, want a validation error", err)
	}
	// Before is the newest-first order: older times, then smaller type,
	// id and version at the same time.
	for _, tc := range []struct {
		at      time.Time
		typ, id string
		v       int64
		before  bool
	}{
		{at.Add(-time.Millisecond), "Patient", "a-1.b", 7, true},
		{at.Add(time.Millisecond), "Patient", "a-1.b", 7, false},
		{at, "Observation", "z", 99, true},
		{at, "Patient", "a", 99, true},
		{at, "Patient", "a-1.b", 6, true},
		{at, "Patient", "a-1.b", 7, false},
		{at, "Patient", "b", 1, false},
	} {
		if got := c.Before(tc.at, tc.typ, tc.id, tc.v); got != tc.before {
			t.Errorf("Before(%v %s/%s/%d) = %v, want %v", tc.at, tc.typ, tc.id, tc.v, got, tc.before)
		}
	}
}

func isInvalid(err error) bool {
	_, ok := fhir.AsValidation(err)
	return ok
}

// FuzzDecodeHistoryCursor: a _cursor is client input. Anything decodes to
// a validation error or to a cursor that encodes back to itself.
func FuzzDecodeHistoryCursor(f *testing.F) {
	f.Add(HistoryCursor{At: time.UnixMicro(1).UTC(), Type: "Patient", ID: "x", Version: 1}.Encode(), "")
	f.Add("MTcwMDAwMDAwMDAwMDAwMCBQYXRpZW50IHggMQ", "Patient")
	f.Add("", "Observation")
	f.Add("!!!", "")
	f.Fuzz(func(t *testing.T, s, typ string) {
		c, err := DecodeHistoryCursor(s, typ)
		if err != nil {
			if !isInvalid(err) || errors.Is(err, ErrNotFound) {
				t.Fatalf("DecodeHistoryCursor(%q) = %v, want a validation error", s, err)
			}
			return
		}
		if typ != "" && c.Type != typ {
			t.Fatalf("cursor of %s accepted for %s", c.Type, typ)
		}
		again, err := DecodeHistoryCursor(c.Encode(), typ)
		if err != nil || again != c || strings.ContainsAny(c.Encode(), "+/=") {
			t.Fatalf("re-encoded cursor %+v → %q → %+v, %v", c, c.Encode(), again, err)
		}
	})
}

// FuzzDecodeEverythingCursor: likewise for $everything's cursor.
func FuzzDecodeEverythingCursor(f *testing.F) {
	f.Add(encodeEverythingCursor(3, "abc"), 10)
	f.Add("", 5)
	f.Add("LTEg", 5)
	f.Fuzz(func(t *testing.T, s string, n int) {
		seg, inner, err := decodeEverythingCursor(s, n)
		if err != nil {
			if !isInvalid(err) {
				t.Fatalf("decodeEverythingCursor(%q) = %v, want a validation error", s, err)
			}
			return
		}
		if seg < 1 || seg >= n {
			t.Fatalf("segment %d accepted of %d", seg, n)
		}
		if s2, i2, err := decodeEverythingCursor(encodeEverythingCursor(seg, inner), n); err != nil || s2 != seg || i2 != inner {
			t.Fatalf("round trip of %d %q: %d %q %v", seg, inner, s2, i2, err)
		}
	})
}
