package subscription

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Conditional interactions decide on a search and then write: create
// unless the criteria match (If-None-Exist), update or delete what they
// match, resolve a conditional reference in a transaction. The search is
// the Service's (Search: the caller's access applies, and whatever index
// the store has), and the decision and the write run under Store.Lock on
// the criteria, so two requests with the same criteria are serialised and
// the second sees what the first wrote, whether or not the search is
// indexed and on whichever node each runs.

// Criteria is the search of a conditional interaction.
type Criteria struct {
	Type  string
	Query url.Values
}

// DefaultMaxConditionalDeletes caps how many resources one conditional
// delete removes; more matches answer 412.
const DefaultMaxConditionalDeletes = 100

// ParseCriteria reads the criteria of a conditional interaction on typ:
// raw is a query string ("identifier=sys|v"), optionally prefixed by the
// type ("Patient?identifier=…", as conditional references and some
// clients write it). Criteria must filter: result parameters (_count,
// _sort…) alone would match everything.
func ParseCriteria(typ, raw string) (Criteria, error) {
	if t, rest, ok := strings.Cut(raw, "?"); ok {
		if t != typ && t != "" {
			return Criteria{}, fhir.Invalid("", fmt.Sprintf("criteria %q are for %s, not %s", raw, t, typ))
		}
		raw = rest
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return Criteria{}, fhir.Invalid("", fmt.Sprintf("criteria %q are not a query string: %v", raw, err))
	}
	for _, k := range []string{"_count", "_offset", "_sort", "_summary", "_elements", "_format", "_pretty", "_total", "_include", "_revinclude"} {
		delete(q, k)
	}
	if len(q) == 0 {
		return Criteria{}, fhir.Invalid("", fmt.Sprintf("criteria %q name no search parameter; a conditional interaction needs at least one", raw))
	}
	if _, err := search.ParseQuery(typ, q); err != nil {
		return Criteria{}, err
	}
	return Criteria{Type: typ, Query: q}, nil
}

// String is the criteria as a reader writes them: Type?k=v&…, keys
// sorted, values unescaped.
func (c Criteria) String() string {
	s, err := url.QueryUnescape(c.Query.Encode())
	if err != nil {
		s = c.Query.Encode()
	}
	return c.Type + "?" + s
}

// lockKey is the criteria in canonical form (keys sorted, escaped).
func (c Criteria) lockKey() string { return "criteria:" + c.Type + "?" + c.Query.Encode() }

// PreconditionFailed returns an error that is ErrPreconditionFailed with
// msg as its whole message.
func PreconditionFailed(msg string) error { return &preconditionError{msg} }

// preconditionError is an ErrPreconditionFailed with its own message.
type preconditionError struct{ msg string }

func (e *preconditionError) Error() string { return e.msg }
func (e *preconditionError) Unwrap() error { return ErrPreconditionFailed }

// Match returns the current resources c matches that the caller may see,
// every one of them: it follows the index search (Search) page by page,
// so criteria that select a few resources cost a few index lookups.
func (s *Service) Match(ctx context.Context, c Criteria) ([]Resource, error) {
	q, err := search.ParseQuery(c.Type, c.Query)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for {
		res, err := s.Search(ctx, q, search.MaxCount)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Matches...)
		if res.Next == "" {
			return out, nil
		}
		q.Cursor = res.Next
	}
}

// Locked runs fn while holding the locks of every criteria in cs, so that
// what fn decides from Match and writes is atomic against every other
// conditional interaction on the same criteria.
func (s *Service) Locked(ctx context.Context, cs []Criteria, fn func() error) error {
	if len(cs) == 0 {
		return fn()
	}
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.lockKey()
	}
	unlock, err := s.store.Lock(ctx, keys)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// tooMany is the 412 of criteria matching more than one resource.
func tooMany(c Criteria, n int) error {
	return &preconditionError{fmt.Sprintf("%d %s resources match %s; the criteria must select one", n, c.Type, c)}
}

// ConditionalCreate creates r unless c matches: no match creates it
// (created true); one match returns that resource and writes nothing; more
// fail with ErrPreconditionFailed.
func (s *Service) ConditionalCreate(ctx context.Context, r *fhir.Resource, c Criteria) (res Resource, created bool, err error) {
	err = s.Locked(ctx, []Criteria{c}, func() error {
		found, err := s.Match(ctx, c)
		if err != nil {
			return err
		}
		switch len(found) {
		case 0:
			res, err = s.Create(ctx, r)
			created = true
			return err
		case 1:
			res = found[0]
			return nil
		}
		return tooMany(c, len(found))
	})
	return res, created, err
}

// ResolveUpdate decides what a conditional update of r on c updates: the
// one match (r's id, if any, must be its id), or, with no match, r's own
// id or a new one (created true). More matches fail with
// ErrPreconditionFailed. Call it under Locked.
func (s *Service) ResolveUpdate(ctx context.Context, r *fhir.Resource, c Criteria) (id string, created bool, err error) {
	found, err := s.Match(ctx, c)
	if err != nil {
		return "", false, err
	}
	switch len(found) {
	case 0:
		if r.ID != "" {
			return r.ID, true, nil
		}
		return s.newID(), true, nil
	case 1:
		if r.ID != "" && r.ID != found[0].ID {
			return "", false, fhir.Invalid("id", fmt.Sprintf("the body id %q is not the id %q of the resource %s matches", r.ID, found[0].ID, c))
		}
		return found[0].ID, false, nil
	}
	return "", false, tooMany(c, len(found))
}

// ConditionalUpdate updates the resource c matches with r, or creates r
// when none does (see ResolveUpdate). ifMatch as in Update.
func (s *Service) ConditionalUpdate(ctx context.Context, r *fhir.Resource, c Criteria, ifMatch int64) (res Resource, created bool, err error) {
	err = s.Locked(ctx, []Criteria{c}, func() error {
		id, _, err := s.ResolveUpdate(ctx, r, c)
		if err != nil {
			return err
		}
		r.ID = id
		r.Obj.Set("id", id)
		res, created, err = s.Update(ctx, r, ifMatch)
		return err
	})
	return res, created, err
}

// ResolveDelete returns the ids of the resources a conditional delete on
// c removes: every match, at most max (more fail with
// ErrPreconditionFailed). Call it under Locked.
func (s *Service) ResolveDelete(ctx context.Context, c Criteria, max int) ([]string, error) {
	found, err := s.Match(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(found) > max {
		return nil, &preconditionError{fmt.Sprintf("%d %s resources match %s; a conditional delete removes at most %d", len(found), c.Type, c, max)}
	}
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	slices.Sort(ids)
	return ids, nil
}

// ConditionalDelete deletes every resource c matches, at most max, in one
// transaction, and returns the deletion versions (none when nothing
// matches).
func (s *Service) ConditionalDelete(ctx context.Context, c Criteria, max int) (deleted []Resource, err error) {
	err = s.Locked(ctx, []Criteria{c}, func() error {
		ids, err := s.ResolveDelete(ctx, c, max)
		if err != nil || len(ids) == 0 {
			return err
		}
		return s.Transaction(ctx, func(w *Writer) error {
			deleted = deleted[:0]
			for _, id := range ids {
				res, err := w.Delete(ctx, c.Type, id, 0)
				if err != nil {
					return err
				}
				deleted = append(deleted, res)
			}
			return nil
		})
	})
	return deleted, err
}
