package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// This file is the history index: every version of every resource, as a
// reference kept sorted in the history order (LastUpdated, type, id,
// version), once for all types and once per type. A history page is a
// binary search for its upper bound and a walk down from there, so its
// cost is the page, not the store. Writes nearly always append: a version
// is stamped with the time of its write, so only versions of one
// millisecond land out of order, and only among the last few.

// histRef names one version in the history order.
type histRef struct {
	at  time.Time
	typ string
	id  string
	vid int64
}

func compareRef(a, b histRef) int {
	return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.typ, b.typ), cmp.Compare(a.id, b.id), cmp.Compare(a.vid, b.vid))
}

// insertRef puts r into the sorted list and returns it.
func insertRef(list []histRef, r histRef) []histRef {
	if n := len(list); n == 0 || compareRef(list[n-1], r) < 0 {
		return append(list, r)
	}
	i, _ := slices.BinarySearchFunc(list, r, compareRef)
	return slices.Insert(list, i, r)
}

// recordHistory files committed versions; the caller holds mu for writing.
func (s *Store) recordHistory(vs []subscription.Resource) {
	if s.histByType == nil {
		s.histByType = map[string][]histRef{}
	}
	for _, v := range vs {
		r := histRef{at: v.LastUpdated, typ: v.Type, id: v.ID, vid: v.VersionID}
		s.hist = insertRef(s.hist, r)
		s.histByType[v.Type] = insertRef(s.histByType[v.Type], r)
	}
}

// Versions returns a page of type- or system-level history; see
// subscription.Store.Versions.
func (s *Store) Versions(ctx context.Context, q subscription.HistoryQuery, count int) (subscription.HistoryPage, error) {
	var cur *subscription.HistoryCursor
	if q.Cursor != "" {
		c, err := subscription.DecodeHistoryCursor(q.Cursor, q.Type)
		if err != nil {
			return subscription.HistoryPage{}, err
		}
		cur = &c
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return subscription.HistoryPage{}, errClosed
	}
	list := s.hist
	if q.Type != "" {
		list = s.histByType[q.Type]
	}
	// end is the index of the first reference not on this page's side of
	// the cursor and the _at bound.
	end := len(list)
	if cur != nil {
		end, _ = slices.BinarySearchFunc(list, *cur, func(r histRef, c subscription.HistoryCursor) int {
			if c.Before(r.at, r.typ, r.id, r.vid) {
				return -1
			}
			return 1
		})
	}
	if !q.AtHi.IsZero() {
		hi, _ := slices.BinarySearchFunc(list, q.AtHi, func(r histRef, t time.Time) int {
			if r.at.Before(t) {
				return -1
			}
			return 1
		})
		end = min(end, hi)
	}
	var page subscription.HistoryPage
	for i := end - 1; i >= 0 && count > 0; i-- {
		r := list[i]
		if !q.Since.IsZero() && r.at.Before(q.Since) {
			break
		}
		vs := s.versions[r.typ][r.id]
		if !q.AtHi.IsZero() && r.vid < int64(len(vs)) && !vs[r.vid].LastUpdated.After(q.AtLo) {
			continue // replaced before the _at period began
		}
		if len(page.Versions) == count {
			page.Next = subscription.CursorOf(page.Versions[count-1].Resource).Encode()
			break
		}
		hv := subscription.HistoryVersion{Resource: vs[r.vid-1]}
		if r.vid > 1 {
			prev := vs[r.vid-2]
			hv.Recreated = prev.Deleted
			if hv.Deleted {
				hv.Was = prev.Body
			}
		}
		page.Versions = append(page.Versions, hv)
	}
	return page, ctx.Err()
}
