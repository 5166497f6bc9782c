// Patient/$everything: the Patient and every resource of its compartment,
// paged through the indexed search.

package subscription

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// EverythingQuery asks for a page of Patient/ID/$everything.
type EverythingQuery struct {
	Patient string
	// Types restricts the result to these types (_type); nil means every
	// type of the Patient compartment, and the Patient itself.
	Types []string
	// Since keeps the resources last updated at or after it (_since); zero
	// keeps all.
	Since time.Time
	// Cursor is EverythingPage.Next of the page before; "" is the first
	// page.
	Cursor string
}

// EverythingPage is one page of $everything.
type EverythingPage struct {
	Resources []Resource // the Patient first (on the first page), then by type
	Next      string     // the cursor of the next page; "" when there is none
}

// segment is one search of $everything: the resources of Type whose
// compartment parameter Param references the Patient. Earlier holds the
// type's parameters searched before this one: a resource they match was
// returned by an earlier segment and is skipped here, so each resource
// comes once.
type segment struct {
	Type, Param string
	Earlier     []string
}

// everythingSegments lists the searches of $everything in the order they
// are run: every type of the Patient CompartmentDefinition (auth's
// embedded table) in name order, each of its parameters in the table's
// order. The Patient itself is segment 0 (no Param).
func everythingSegments(types []string) []segment {
	out := []segment{{Type: "Patient"}}
	for _, typ := range auth.CompartmentTypes() {
		if types != nil && !slices.Contains(types, typ) {
			continue
		}
		params, _ := auth.CompartmentParams(typ)
		var earlier []string
		for _, p := range params {
			if p == auth.CompartmentSelf {
				continue
			}
			out = append(out, segment{Type: typ, Param: p, Earlier: slices.Clone(earlier)})
			earlier = append(earlier, p)
		}
	}
	return out
}

// everythingCursor is a position in $everything: the segment, and the
// search cursor within it.
func encodeEverythingCursor(seg int, inner string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(seg) + " " + inner))
}

func decodeEverythingCursor(s string, n int) (int, string, error) {
	bad := fhir.Invalid("_cursor", "not a cursor of this $everything; follow the Bundle's next link")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", bad
	}
	k, inner, _ := strings.Cut(string(raw), " ")
	seg, err := strconv.Atoi(k)
	if err != nil || seg < 1 || seg >= n {
		return 0, "", bad
	}
	return seg, inner, nil
}

// Everything returns a page of at most count resources of
// Patient/q.Patient/$everything: the Patient (which the caller must be
// able to read: ErrNotFound, or ErrGone when it is deleted), then the
// resources of its compartment, each found by the indexed search on one of
// its type's compartment parameters (subject=Patient/x, performer=…) and
// each judged by the search guard. Types the caller may not search are
// left out rather than refused, as in the system history. Resources the
// compartment members refer to outside the compartment (a Practitioner,
// an Organization) are not added.
func (s *Service) Everything(ctx context.Context, q EverythingQuery, count int) (EverythingPage, error) {
	segs := everythingSegments(q.Types)
	seg, inner := 0, ""
	if q.Cursor != "" {
		var err error
		if seg, inner, err = decodeEverythingCursor(q.Cursor, len(segs)); err != nil {
			return EverythingPage{}, err
		}
	}
	// The Patient decides whether there is anything at all, on every page.
	pat, err := s.Read(ctx, "Patient", q.Patient)
	if err != nil {
		return EverythingPage{}, err
	}
	var page EverythingPage
	if seg == 0 {
		if q.Types == nil || slices.Contains(q.Types, "Patient") {
			if q.Since.IsZero() || !pat.LastUpdated.Before(q.Since) {
				page.Resources = append(page.Resources, pat)
			}
		}
		seg = 1
	}
	ref := "Patient/" + q.Patient
	for ; seg < len(segs); seg, inner = seg+1, "" {
		sg := segs[seg]
		params := url.Values{sg.Param: {ref}}
		if !q.Since.IsZero() {
			params.Set("_lastUpdated", "ge"+fhir.FormatInstant(q.Since))
		}
		sq, err := search.ParseQuery(sg.Type, params)
		if err != nil {
			continue // a compartment parameter fhirbell does not index
		}
		sq.Total = search.TotalNone // a page, not a count
		for {
			want := count - len(page.Resources)
			if want <= 0 {
				page.Next = encodeEverythingCursor(seg, inner)
				return page, nil
			}
			sq.Cursor = inner
			res, err := s.search(ctx, sq, want, false)
			if errors.Is(err, auth.ErrForbidden) {
				break // a type the caller may not search: left out
			}
			if err != nil {
				return EverythingPage{}, fmt.Errorf("$everything %s?%s: %w", sg.Type, sg.Param, err)
			}
			for _, r := range res.Matches {
				if !matchedEarlier(sg, r.Body, ref) {
					page.Resources = append(page.Resources, r)
				}
			}
			if res.Next == "" {
				break
			}
			inner = res.Next
		}
	}
	return page, nil
}

// matchedEarlier reports whether an earlier parameter of the segment's
// type also references ref from body: that segment returned it already.
func matchedEarlier(sg segment, body []byte, ref string) bool {
	for _, p := range sg.Earlier {
		if keys, err := search.IndexKeys(sg.Type, p, body); err == nil && slices.Contains(keys, ref) {
			return true
		}
	}
	return false
}
