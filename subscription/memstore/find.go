package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// This file is the in-memory search index: for each type, the live
// resources with their extracted search values, and an inverted index from
// (parameter, key) to the ids holding it for token and reference
// parameters (keys as search.ParamValues.Keys gives them). A search
// intersects the id sets of its lookup terms (search.Query.Lookups) and
// checks each candidate with search.Query.MatchValues, the matcher on the
// same values; a page of a search with no such term walks the type's
// entries in sort order instead (ordered.go).

// entry is a live resource and its search values.
type entry struct {
	res  subscription.Resource
	vals *search.Values
}

// typeIndex indexes the live resources of one type; guarded by Store.mu.
type typeIndex struct {
	live map[string]*entry                         // id → entry
	keys map[string]map[string]map[string]struct{} // param → key → ids

	// gen counts the writes to the type; orders caches every live entry
	// sorted by a list of sort keys, valid while its gen is current (see
	// findOrdered). Readers hold Store.mu for reading, so the cache has a
	// lock of its own.
	gen     uint64
	orderMu sync.Mutex
	orders  map[string]*order

	// written logs the writes since generation written0: the write that
	// made generation written0+i+1 is written[i]. A cached order of a
	// generation the log still covers is brought up to date by re-placing
	// those entries (rePlace) rather than by sorting every entry again.
	written  []write
	written0 uint64
}

// write is one put: the id, and the entry it replaced (nil for a create).
type write struct {
	id  string
	old *entry
}

// order is every live entry of a type in the order of some sort keys, as
// of generation gen.
type order struct {
	gen uint64
	rs  []ranked
}

// ranked is an entry with the values it sorts by.
type ranked struct {
	e    *entry
	vals []search.SortValue
}

func (s *Store) typeIndex(typ string) *typeIndex {
	ti := s.index[typ]
	if ti == nil {
		ti = &typeIndex{live: map[string]*entry{}, keys: map[string]map[string]map[string]struct{}{}}
		s.index[typ] = ti
	}
	return ti
}

// put makes r (with vals; nil vals for a deletion) the indexed version.
func (ti *typeIndex) put(r subscription.Resource, vals *search.Values) {
	ti.gen++
	if len(ti.written) >= maxRePlaced(len(ti.live)) {
		ti.written, ti.written0 = ti.written[:0], ti.gen-1 // older orders are sorted again
	}
	old := ti.live[r.ID]
	ti.written = append(ti.written, write{r.ID, old})
	if old != nil {
		ti.unkey(old)
		delete(ti.live, r.ID)
	}
	if r.Deleted || vals == nil {
		return
	}
	e := &entry{res: r, vals: vals}
	e.res.Target = nil // the matcher's parse is not kept: it is large
	ti.live[r.ID] = e
	for _, pv := range vals.Params {
		for _, k := range pv.Keys() {
			byKey := ti.keys[pv.Code]
			if byKey == nil {
				byKey = map[string]map[string]struct{}{}
				ti.keys[pv.Code] = byKey
			}
			ids := byKey[k]
			if ids == nil {
				ids = map[string]struct{}{}
				byKey[k] = ids
			}
			ids[r.ID] = struct{}{}
		}
	}
}

func (ti *typeIndex) unkey(e *entry) {
	for _, pv := range e.vals.Params {
		for _, k := range pv.Keys() {
			if ids := ti.keys[pv.Code][k]; ids != nil {
				delete(ids, e.res.ID)
				if len(ids) == 0 {
					delete(ti.keys[pv.Code], k)
				}
			}
		}
	}
}

// idSet is the ids the index gives one term of a search: how many (an
// upper bound: a resource filed under two of a term's keys counts twice),
// a membership test, and a walk over them. Sets are views of the index,
// never copies, so that narrowing by a common code costs nothing until
// its ids are walked or tested.
type idSet struct {
	size int
	has  func(id string) bool
	each func(yield func(id string))
}

// keySet is the set of ids filed under any of pins.
func (ti *typeIndex) keySet(pins []search.Pin) idSet {
	var maps []map[string]struct{}
	n := 0
	for _, p := range pins {
		if ids := ti.keys[p.Param][p.Value]; len(ids) > 0 {
			maps = append(maps, ids)
			n += len(ids)
		}
	}
	return idSet{
		size: n,
		has: func(id string) bool {
			for _, m := range maps {
				if _, ok := m[id]; ok {
					return true
				}
			}
			return false
		},
		each: func(yield func(string)) {
			var seen map[string]struct{} // a resource filed under two keys is walked once
			if len(maps) > 1 {
				seen = map[string]struct{}{}
			}
			for _, m := range maps {
				for id := range m {
					if seen != nil {
						if has(seen, id) {
							continue
						}
						seen[id] = struct{}{}
					}
					yield(id)
				}
			}
		},
	}
}

// narrowing returns the id sets the index gives q's terms (each lookup
// term, an _id term, each resolved chain term), smallest first; none
// when q must be checked against every live entry.
func (ti *typeIndex) narrowing(q *search.Query, refs search.Refs) []idSet {
	var sets []idSet
	for _, pins := range q.Lookups() {
		sets = append(sets, ti.keySet(pins))
	}
	for _, t := range q.Terms() {
		code, _, _ := t.Param()
		switch {
		case code == "_id" && t.Modifier() == "":
			ids := map[string]struct{}{}
			for _, v := range t.Values() {
				if system, id, hasSystem := v.Token(); !hasSystem || system == "" {
					ids[id] = struct{}{}
				}
			}
			sets = append(sets, idSet{
				size: len(ids),
				has:  func(id string) bool { return has(ids, id) },
				each: func(yield func(string)) {
					for id := range ids {
						yield(id)
					}
				},
			})
		case t.Chain() != nil && refs != nil:
			pins := make([]search.Pin, 0, len(refs[t]))
			for ref := range refs[t] {
				pins = append(pins, search.Pin{Param: code, Value: ref})
			}
			sets = append(sets, ti.keySet(pins))
		}
	}
	slices.SortStableFunc(sets, func(a, b idSet) int { return a.size - b.size })
	return sets
}

// candidates returns the entries in the smallest of sets that every other
// set holds too.
func (ti *typeIndex) candidates(sets []idSet) []*entry {
	var out []*entry
	sets[0].each(func(id string) {
		for _, o := range sets[1:] {
			if !o.has(id) {
				return
			}
		}
		if e := ti.live[id]; e != nil {
			out = append(out, e)
		}
	})
	return out
}

// inAll reports whether every set holds e's id.
func inAll(sets []idSet, e *entry) bool {
	for _, s := range sets {
		if !s.has(e.res.ID) {
			return false
		}
	}
	return true
}

func has(m map[string]struct{}, k string) bool { _, ok := m[k]; return ok }

// matches returns every live resource q matches, unordered; the caller
// holds mu (read).
func (s *Store) matches(ctx context.Context, q *search.Query) ([]*entry, error) {
	refs, err := s.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.matchesRefs(ctx, q, refs)
}

// matchesRefs is matches with q's chains and _has already resolved.
func (s *Store) matchesRefs(ctx context.Context, q *search.Query, refs search.Refs) ([]*entry, error) {
	ti := s.index[q.Type]
	if ti == nil {
		return nil, nil
	}
	var cands []*entry
	if sets := ti.narrowing(q, refs); len(sets) > 0 {
		cands = ti.candidates(sets)
	} else {
		cands = make([]*entry, 0, len(ti.live))
		for _, e := range ti.live {
			cands = append(cands, e)
		}
	}
	var out []*entry
	for i, e := range cands {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if q.MatchValues(e.vals, refs) {
			out = append(out, e)
		}
	}
	return out, nil
}

// resolve finds what the chained and _has terms of q refer to.
func (s *Store) resolve(ctx context.Context, q *search.Query) (search.Refs, error) {
	var refs search.Refs
	for _, t := range q.Terms() {
		set := map[string]bool{}
		switch {
		case t.Chain() != nil:
			for _, sub := range t.Chain() {
				es, err := s.matches(ctx, sub)
				if err != nil {
					return nil, err
				}
				for _, e := range es {
					set[e.res.Type+"/"+e.res.ID] = true
				}
			}
		case t.Has() != nil:
			h := t.Has()
			es, err := s.matches(ctx, h.Query)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				if pv := e.vals.Param(h.Param); pv != nil {
					for _, r := range pv.Refs {
						if typ, id, ok := search.SplitReference(r); ok && typ == q.Type {
							set[typ+"/"+id] = true
						}
					}
				}
			}
		default:
			continue
		}
		if refs == nil {
			refs = search.Refs{}
		}
		refs[t] = set
	}
	return refs, nil
}

// sortValues returns the values an entry sorts by for keys.
func sortValues(e *entry, keys []search.SortKey) []search.SortValue {
	out := make([]search.SortValue, len(keys))
	for i, k := range keys {
		switch k.Param {
		case "_id":
			out[i] = search.SortValue{Str: e.res.ID}
		case "_lastUpdated":
			out[i] = search.SortValue{Time: e.res.LastUpdated}
		default:
			out[i] = search.SortValueOf(e.vals, k)
		}
	}
	return out
}

// compare orders two positions (sort values, id) as the search sorts:
// each key ascending or descending, a missing value last either way, then
// id ascending.
func compare(keys []search.SortKey, a []search.SortValue, aID string, b []search.SortValue, bID string) int {
	for i, k := range keys {
		c := a[i].Compare(b[i])
		if k.Descending && !a[i].Null && !b[i].Null {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(aID, bID)
}

// Find runs q over the in-memory index; see subscription.Store.Find.
func (s *Store) Find(ctx context.Context, q *search.Query, count int) (subscription.SearchPage, error) {
	page := subscription.SearchPage{Total: -1}
	keys := q.SortKeys()
	var cur *search.Cursor
	var curVals []search.SortValue
	if q.Cursor != "" {
		c, err := search.DecodeCursor(q.Cursor, q.Type, keys)
		if err != nil {
			return page, err
		}
		cur = &c
		for i, k := range keys {
			typ := "text"
			switch k.Param {
			case "_lastUpdated":
				typ = "date"
			case "_id":
			default:
				typ = search.SortParam(q.Type, k)
			}
			v, _ := c.Keys[i].Value(typ) // DecodeCursor checked it
			curVals = append(curVals, v)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return page, errClosed
	}
	refs, err := s.resolve(ctx, q)
	if err != nil {
		return page, err
	}
	// A page of a search the index cannot narrow, or narrows only to many
	// candidates (a common code), walks the type's entries in sort order
	// (findOrdered) rather than matching and sorting them all; an exact
	// count needs them all anyway.
	if ti := s.index[q.Type]; ti != nil && count > 0 && !subscription.WantsTotal(q) {
		if sets := ti.narrowing(q, refs); len(sets) == 0 || sets[0].size > orderedMinCandidates {
			return ti.findOrdered(ctx, q, refs, sets, keys, cur, curVals, count)
		}
	}
	found, err := s.matchesRefs(ctx, q, refs)
	if err != nil {
		return page, err
	}
	if subscription.WantsTotal(q) {
		page.Total = len(found)
	}
	if q.Summary == "count" || count <= 0 {
		return page, nil
	}
	rs := make([]ranked, len(found))
	for i, e := range found {
		rs[i] = ranked{e, sortValues(e, keys)}
	}
	slices.SortFunc(rs, byKeys(keys))
	page, err = pageOf(ctx, q, rs, nil, keys, cur, curVals, count)
	if subscription.WantsTotal(q) {
		page.Total = len(found)
	}
	return page, err
}

// cursor encodes the position of r, for the next page (back false) or the
// previous one.
func cursor(r ranked, back bool) string {
	ks := make([]search.CursorKey, len(r.vals))
	for i, v := range r.vals {
		ks[i] = v.Key()
	}
	return search.Cursor{Keys: ks, ID: r.e.res.ID, Back: back}.Encode()
}
