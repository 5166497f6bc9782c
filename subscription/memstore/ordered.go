package memstore

// Pages of searches the inverted index cannot narrow (a date or quantity
// range, a sort alone, a :missing or :not term), or narrows to many
// candidates (a common code): instead of matching every candidate and
// sorting the matches, walk the type's entries in the search's sort order
// and stop once the page and the next-page probe are known. The order is
// built once per sort-key list and kept; after writes to the type
// (typeIndex.gen) the next page re-places the entries written since
// (rePlace), one binary search each and a copy of the rest, so a search
// after a write does not sort every entry again. The results are those of
// Find's full path by construction: the same comparator, the same cursor
// positions, the same matcher.

import (
	"context"
	"slices"
	"strconv"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// maxOrders bounds the sort-key lists cached per type.
const maxOrders = 8

// orderedMinCandidates is how many candidates the inverted index must
// leave for a page to walk the order rather than sort them.
const orderedMinCandidates = 2048

// ordered returns every live entry sorted by keys. The caller holds
// Store.mu for reading (no put runs meanwhile).
func (ti *typeIndex) ordered(keys []search.SortKey) []ranked {
	sig := ""
	for _, k := range keys {
		sig += k.Param + ":" + strconv.FormatBool(k.Descending) + ","
	}
	ti.orderMu.Lock()
	defer ti.orderMu.Unlock()
	if o := ti.orders[sig]; o != nil && o.gen >= ti.written0 {
		if o.gen < ti.gen {
			// A new slice: pages being walked keep the one they have.
			o.rs, o.gen = ti.rePlace(o.rs, ti.written[o.gen-ti.written0:], keys), ti.gen
		}
		return o.rs
	}
	rs := make([]ranked, 0, len(ti.live))
	for _, e := range ti.live {
		rs = append(rs, ranked{e, sortValues(e, keys)})
	}
	slices.SortFunc(rs, byKeys(keys))
	if ti.orders == nil || (len(ti.orders) >= maxOrders && ti.orders[sig] == nil) {
		ti.orders = map[string]*order{}
	}
	ti.orders[sig] = &order{gen: ti.gen, rs: rs}
	return rs
}

// byKeys orders entries by their sort values, then id, as searches sort.
func byKeys(keys []search.SortKey) func(a, b ranked) int {
	return func(a, b ranked) int { return compare(keys, a.vals, a.e.res.ID, b.vals, b.e.res.ID) }
}

// maxRePlaced is how many writes a cached order of n entries may be behind
// and still be re-placed rather than sorted again: re-placing costs a
// binary search per write and a copy of the order, sorting n log n
// comparisons.
func maxRePlaced(n int) int { return n/8 + 64 }

// rePlace returns rs (sorted by keys, as of some generation) with the
// writes since then applied: each replaced or deleted entry taken out,
// each live entry written put in its place.
func (ti *typeIndex) rePlace(rs []ranked, writes []write, keys []search.SortKey) []ranked {
	less := byKeys(keys)
	var gone []int // positions in rs of the entries the writes replaced
	var fresh []ranked
	seen := make(map[string]bool, len(writes))
	for _, w := range writes {
		// An entry that an earlier of these writes made is not in rs.
		if w.old != nil {
			old := ranked{w.old, sortValues(w.old, keys)}
			if i, ok := slices.BinarySearchFunc(rs, old, less); ok && rs[i].e == w.old {
				gone = append(gone, i)
			}
		}
		if e := ti.live[w.id]; e != nil && !seen[w.id] {
			fresh = append(fresh, ranked{e, sortValues(e, keys)})
		}
		seen[w.id] = true
	}
	slices.Sort(gone)
	slices.SortFunc(fresh, less)
	at := make([]int, len(fresh)) // where each fresh entry goes in rs
	for i, f := range fresh {
		at[i], _ = slices.BinarySearchFunc(rs, f, less)
	}
	out := make([]ranked, 0, len(rs)-len(gone)+len(fresh))
	from, g, f := 0, 0, 0
	for {
		next := len(rs)
		if g < len(gone) {
			next = min(next, gone[g])
		}
		if f < len(fresh) {
			next = min(next, at[f])
		}
		out = append(out, rs[from:next]...)
		from = next
		switch {
		case f < len(fresh) && at[f] == next:
			out = append(out, fresh[f])
			f++
		case g < len(gone) && gone[g] == next:
			from = next + 1
			g++
		default:
			return out
		}
	}
}

// findOrdered is Find for a q the index cannot narrow, or narrows to the
// entries every one of sets holds (none: every entry); see the file
// comment. count > 0, and q wants no total.
func (ti *typeIndex) findOrdered(ctx context.Context, q *search.Query, refs search.Refs, sets []idSet, keys []search.SortKey,
	cur *search.Cursor, curVals []search.SortValue, count int) (subscription.SearchPage, error) {
	return pageOf(ctx, q, ti.ordered(keys), func(e *entry) bool {
		return inAll(sets, e) && q.MatchValues(e.vals, refs)
	}, keys, cur, curVals, count)
}

// pageOf is the page of q in rs (sorted by keys) after cur: the count
// entries accept takes (nil: every one) from the cursor's position on, or
// before it for a previous-page cursor, the cursors of the pages either
// side, and the total subscription.DefaultTotal gives. Both of Find's
// paths page through it: the full path with the sorted matches, the
// ordered walk with the cached order and the matcher.
func pageOf(ctx context.Context, q *search.Query, rs []ranked, accept func(*entry) bool, keys []search.SortKey,
	cur *search.Cursor, curVals []search.SortValue, count int) (subscription.SearchPage, error) {
	page := subscription.SearchPage{Total: -1}
	steps := 0
	match := func(i int) (bool, error) {
		if accept == nil {
			return true, nil
		}
		if steps++; steps%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		return accept(rs[i].e), nil
	}
	// seek returns the first matching index from i in direction dir (±1),
	// or -1.
	seek := func(i, dir int) (int, error) {
		for ; i >= 0 && i < len(rs); i += dir {
			ok, err := match(i)
			if err != nil || ok {
				return i, err
			}
		}
		return -1, nil
	}

	// pos is where the cursor's row is or would be.
	pos := 0
	if cur != nil {
		pos, _ = slices.BinarySearchFunc(rs, cur, func(r ranked, c *search.Cursor) int {
			return compare(keys, r.vals, r.e.res.ID, curVals, c.ID)
		})
	}
	var got []int // indexes of the page's matches, in order
	if cur != nil && cur.Back {
		// The count matches before pos, nearest last.
		for i := pos - 1; len(got) < count; i-- {
			j, err := seek(i, -1)
			if err != nil {
				return page, err
			}
			if j < 0 {
				break
			}
			got = append(got, j)
			i = j
		}
		slices.Reverse(got)
	} else {
		i := pos
		if cur != nil && i < len(rs) && compare(keys, rs[i].vals, rs[i].e.res.ID, curVals, cur.ID) == 0 {
			i++ // the cursor's own row was on the previous page
		}
		for skip := q.Offset; len(got) < count; {
			j, err := seek(i, 1)
			if err != nil {
				return page, err
			}
			if j < 0 {
				break
			}
			i = j + 1
			if skip > 0 {
				skip--
				continue
			}
			got = append(got, j)
		}
	}
	if len(got) == 0 {
		page.Total = subscription.DefaultTotal(q, count, page)
		return page, nil
	}
	for _, j := range got {
		page.Matches = append(page.Matches, rs[j].e.res)
	}
	first, last := got[0], got[len(got)-1]
	if next, err := seek(last+1, 1); err != nil {
		return page, err
	} else if next >= 0 {
		page.Next = cursor(rs[last], false)
	}
	if prev, err := seek(first-1, -1); err != nil {
		return page, err
	} else if prev >= 0 {
		page.Prev = cursor(rs[first], true)
	}
	page.Total = subscription.DefaultTotal(q, count, page)
	return page, nil
}
