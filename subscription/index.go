package subscription

import (
	"slices"
	"strings"
	"sync"

	"github.com/fhirbell/fhirbell/fhir/search"
)

// index holds the active subscriptions, arranged so that a write looks at
// only those that can match it: by resource type, then, for subscriptions
// that pin an equality (code, subject, identifier, status, …), by the
// pinned value. A write of type T costs one lookup per distinct pinned
// parameter of T plus the unpinned subscriptions of T, whatever the number
// of subscriptions pinned to other values.
type index struct {
	mu    sync.RWMutex
	subs  map[string]*Subscription // by ID; guarded by mu
	types map[string]*typeIndex    // by resource type; guarded by mu
	// filed is where each subscription is filed, so that removing one
	// visits its own entries only: a walk of every pinned value made a
	// reload of 50,000 subscriptions with distinct codes quadratic
	// (docs/benchmarks.md). Guarded by mu.
	filed map[string][]filing
}

// filing is one entry of a subscription in the index: under typ, pinned
// to param = value, or unpinned when param is "".
type filing struct{ typ, param, value string }

type typeIndex struct {
	unpinned map[string]*Subscription                       // by ID
	pinned   map[string]map[string]map[string]*Subscription // param → value → ID → sub
}

func newIndex() *index {
	return &index{subs: map[string]*Subscription{}, types: map[string]*typeIndex{}, filed: map[string][]filing{}}
}

// choosePin picks the pin to file a subscription under: any pin will do for
// correctness (each must hold for a match), so prefer one that is likely to
// be selective, avoiding low-cardinality parameters such as status.
func choosePin(pins []search.Pin) search.Pin {
	for _, p := range pins {
		switch p.Param {
		case "status", "gender", "active", "intent", "priority", "class":
			continue
		}
		return p
	}
	return pins[0]
}

// put files sub under every type its writes can come from, replacing any
// earlier entry with the same ID.
func (ix *index) put(sub *Subscription, topics TopicSet) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(sub.ID)
	ix.subs[sub.ID] = sub
	for _, typ := range sub.ResourceTypes(topics) {
		ti := ix.types[typ]
		if ti == nil {
			ti = &typeIndex{unpinned: map[string]*Subscription{}, pinned: map[string]map[string]map[string]*Subscription{}}
			ix.types[typ] = ti
		}
		pins := sub.Pins(typ)
		if len(pins) == 0 {
			ti.unpinned[sub.ID] = sub
			ix.filed[sub.ID] = append(ix.filed[sub.ID], filing{typ: typ})
			continue
		}
		p := choosePin(pins)
		ix.filed[sub.ID] = append(ix.filed[sub.ID], filing{typ, p.Param, p.Value})
		byValue := ti.pinned[p.Param]
		if byValue == nil {
			byValue = map[string]map[string]*Subscription{}
			ti.pinned[p.Param] = byValue
		}
		if byValue[p.Value] == nil {
			byValue[p.Value] = map[string]*Subscription{}
		}
		byValue[p.Value][sub.ID] = sub
	}
}

func (ix *index) remove(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(id)
}

func (ix *index) removeLocked(id string) {
	if _, ok := ix.subs[id]; !ok {
		return
	}
	delete(ix.subs, id)
	for _, f := range ix.filed[id] {
		ti := ix.types[f.typ]
		if ti == nil {
			continue
		}
		if f.param == "" {
			delete(ti.unpinned, id)
		} else if byValue := ti.pinned[f.param]; byValue != nil {
			if m := byValue[f.value]; m != nil {
				delete(m, id)
				if len(m) == 0 {
					delete(byValue, f.value)
				}
			}
			if len(byValue) == 0 {
				delete(ti.pinned, f.param)
			}
		}
		if len(ti.unpinned) == 0 && len(ti.pinned) == 0 {
			delete(ix.types, f.typ)
		}
	}
	delete(ix.filed, id)
}

// all returns every indexed subscription, sorted by ID.
func (ix *index) all() []*Subscription {
	ix.mu.RLock()
	out := make([]*Subscription, 0, len(ix.subs))
	for _, s := range ix.subs {
		out = append(out, s)
	}
	ix.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Subscription) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (ix *index) get(id string) (*Subscription, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s, ok := ix.subs[id]
	return s, ok
}

// candidates returns, in no particular order, the subscriptions that may match a
// write of type typ whose focus version is focus: the unpinned ones and
// those whose pinned value is among the focus's index keys.
func (ix *index) candidates(typ string, focus *search.Target) ([]*Subscription, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ti := ix.types[typ]
	if ti == nil {
		return nil, nil
	}
	out := make([]*Subscription, 0, len(ti.unpinned))
	for _, s := range ti.unpinned {
		out = append(out, s)
	}
	if len(ti.pinned) > 0 && focus != nil {
		seen := map[string]bool{}
		for param, byValue := range ti.pinned {
			keys, err := focus.IndexKeys(typ, param)
			if err != nil {
				return nil, err
			}
			for _, k := range keys {
				for id, s := range byValue[k] {
					if !seen[id] {
						seen[id] = true
						out = append(out, s)
					}
				}
			}
		}
	}
	return out, nil
}
