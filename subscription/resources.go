// Reads and writes of resources of every type: the Writer and its
// transaction, create, update, delete, read, vread, history and search.
// Every REST interaction and Bundle entry goes through here.

package subscription

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Writer performs writes inside one transaction; see Service.Transaction.
type Writer struct {
	svc *Service
	tx  Tx
	// Set by the writes, applied or published after commit.
	after []func()
	refs  []EventRef
	evs   []Event // the events appended, for an EventsPublisher
	// pending are the events of the writes not yet appended
	// (appendPending, at the end of the transaction).
	pending []Event
	// Ids of the Subscription and SubscriptionTopic resources written,
	// broadcast to other nodes after commit (cluster.go).
	subIDs, topicIDs []string
}

// Transaction runs fn with a Writer whose writes commit together when fn
// returns nil, and not at all otherwise. fn may run more than once (see
// Store.Tx); only the last run's effects count.
func (s *Service) Transaction(ctx context.Context, fn func(w *Writer) error) error {
	var last *Writer
	err := s.store.Tx(ctx, func(tx Tx) error {
		last = &Writer{svc: s, tx: tx}
		if err := fn(last); err != nil {
			return err
		}
		return last.appendPending(ctx)
	})
	if err != nil {
		return err
	}
	for _, f := range last.after {
		f()
	}
	if len(last.refs) > 0 {
		if ep, ok := s.pub.(EventsPublisher); ok {
			ep.PublishEvents(last.evs)
		} else {
			s.pub.Publish(last.refs)
		}
	}
	s.broadcast(last)
	return nil
}

// Create stores r under a new server-assigned id (any id in the body is
// replaced, as FHIR create requires).
func (w *Writer) Create(ctx context.Context, r *fhir.Resource) (Resource, error) {
	return w.CreateWithID(ctx, r, w.svc.newID())
}

// CreateWithID stores r as version 1 under id, which the caller assigned
// (a transaction Bundle assigns ids before it rewrites urn:uuid references).
func (w *Writer) CreateWithID(ctx context.Context, r *fhir.Resource, id string) (Resource, error) {
	r.ID = id
	r.Obj.Set("id", id)
	if err := checkAccess(ctx, auth.Create, r.Type, nil, r.Obj.Bytes()); err != nil {
		return Resource{}, err
	}
	if err := w.prepare(ctx, r, nil); err != nil {
		return Resource{}, err
	}
	res, err := w.tx.Create(ctx, r)
	if err != nil {
		return Resource{}, fmt.Errorf("create %s: %w", r.Type, err)
	}
	if err := w.written(ctx, InteractionCreate, nil, res); err != nil {
		return Resource{}, err
	}
	return res, nil
}

// Update stores the next version of r (r.ID must be set), creating it if it
// has no live version. ifMatch > 0 requires the current version to be
// ifMatch.
func (w *Writer) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (Resource, bool, error) {
	if r.ID == "" {
		return Resource{}, false, fhir.Invalid("id", "update needs an id")
	}
	prev, err := w.tx.Read(ctx, r.Type, r.ID)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrGone) {
		return Resource{}, false, fmt.Errorf("update %s/%s: %w", r.Type, r.ID, err)
	}
	if prev.Body == nil {
		err = checkAccess(ctx, auth.Create, r.Type, nil, r.Obj.Bytes())
	} else {
		err = checkAccess(ctx, auth.Update, r.Type, prev.Body, r.Obj.Bytes())
	}
	if err != nil {
		return Resource{}, false, err
	}
	if err := w.prepare(ctx, r, prev.Body); err != nil {
		return Resource{}, false, err
	}
	res, created, err := w.tx.Put(ctx, r, ifMatch)
	if err != nil {
		return Resource{}, false, fmt.Errorf("update %s/%s: %w", r.Type, r.ID, err)
	}
	interaction := InteractionUpdate
	if created {
		interaction, prev.Body = InteractionCreate, nil
	}
	if err := w.written(ctx, interaction, prev.Body, res); err != nil {
		return Resource{}, false, err
	}
	return res, created, nil
}

// Delete records the deletion of typ/id.
func (w *Writer) Delete(ctx context.Context, typ, id string, ifMatch int64) (Resource, error) {
	prev, err := w.tx.Read(ctx, typ, id)
	if err != nil && !errors.Is(err, ErrGone) {
		return Resource{}, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	alreadyGone := errors.Is(err, ErrGone)
	if err := checkAccess(ctx, auth.Delete, typ, prev.Body, nil); err != nil {
		return Resource{}, err
	}
	if !alreadyGone {
		if err := w.prepareDelete(typ, id, prev.Body); err != nil {
			return Resource{}, err
		}
	}
	res, err := w.tx.Delete(ctx, typ, id, ifMatch)
	if err != nil {
		return Resource{}, fmt.Errorf("delete %s/%s: %w", typ, id, err)
	}
	if alreadyGone {
		return res, nil // nothing changed: no event
	}
	if err := w.written(ctx, InteractionDelete, prev.Body, res); err != nil {
		return Resource{}, err
	}
	return res, nil
}

// Read returns the current version of typ/id as this transaction sees it.
func (w *Writer) Read(ctx context.Context, typ, id string) (Resource, error) {
	return w.tx.Read(ctx, typ, id)
}

// prepare validates the resource against R4 (validateWrite) and the types
// the engine owns against their own rules, and arranges for the
// in-memory state to follow after commit. prev is the current live body,
// nil when there is none.
func (w *Writer) prepare(ctx context.Context, r *fhir.Resource, prev []byte) error {
	s := w.svc
	if err := validateWrite(r); err != nil {
		return err
	}
	switch r.Type {
	case "Subscription":
		// The owner is the server's to write: the creator, kept across
		// updates (an admin editing someone's subscription does not take it).
		owner := Owner{}
		if p, ok := auth.PrincipalFrom(ctx); ok {
			owner = OwnerOf(p)
		}
		if prev != nil {
			o, err := ownerOf(prev)
			if err != nil {
				return err
			}
			owner = o
		}
		if err := withOwner(r, owner); err != nil {
			return err
		}
		if err := rejectCrossVersion(r.Obj.Bytes()); err != nil {
			return err
		}
		sub, err := ParseSubscription(r.Obj.Bytes(), s.topics, s.now())
		if err != nil {
			return err
		}
		if err := s.checkSubscriptionGrant(ctx, sub); err != nil {
			return err
		}
		sub.ID = r.ID
		if err := s.prepareRestHook(ctx, sub, prev); err != nil {
			return err
		}
		body, err := ActivatedBody(r.Obj.Bytes(), sub)
		if err != nil {
			return err
		}
		nr, err := fhir.ParseResource(body)
		if err != nil {
			return err
		}
		*r = *nr
		noteChanged(&w.subIDs, sub.ID)
		w.after = append(w.after, func() {
			if sub.live() {
				s.index.put(sub, s.topics)
			} else {
				s.index.remove(sub.ID)
			}
		})
	case "Basic":
		if err := w.checkBasic(ctx, r); err != nil {
			return err
		}
	case "SubscriptionTopic":
		if builtinID(r.ID) {
			return &fhir.ValidationError{Path: "SubscriptionTopic.id", Code: fhir.IssueNotSupported, Msg: fmt.Sprintf("%s is a built-in topic and cannot be changed", r.ID)}
		}
		t, err := ParseTopic(r.Obj.Bytes())
		if err != nil {
			return err
		}
		if old, ok := s.topics.Topic(t.URL); ok && old.ID != r.ID {
			if builtinID(old.ID) {
				return &fhir.ValidationError{Path: "SubscriptionTopic.url", Code: fhir.IssueConflict, Msg: fmt.Sprintf("%s is the canonical of a built-in topic", t.URL)}
			}
		}
		noteChanged(&w.topicIDs, r.ID)
		w.after = append(w.after, func() {
			s.topics.Add(t)
			s.reindex()
		})
	}
	return nil
}

// prepareDelete refuses deletions that would break the engine's state and
// arranges for the in-memory state to follow after commit.
func (w *Writer) prepareDelete(typ, id string, prev []byte) error {
	s := w.svc
	switch typ {
	case "Subscription":
		noteChanged(&w.subIDs, id)
		w.after = append(w.after, func() { s.index.remove(id) })
	case "SubscriptionTopic":
		if builtinID(id) {
			return &fhir.ValidationError{Path: "SubscriptionTopic.id", Code: fhir.IssueNotSupported, Msg: fmt.Sprintf("%s is a built-in topic and cannot be deleted", id)}
		}
		t, err := ParseTopic(prev)
		if err != nil {
			return nil // not a topic the engine knows
		}
		for _, sub := range s.index.all() {
			if sub.Kind == KindTopic && sub.TopicURL == t.URL {
				return fmt.Errorf("delete topic %s: active Subscription/%s uses it: %w", t.URL, sub.ID, ErrConflict)
			}
		}
		noteChanged(&w.topicIDs, id)
		w.after = append(w.after, func() {
			s.topics.Remove(t.URL)
			s.reindex()
		})
	}
	return nil
}

func builtinID(id string) bool {
	return slices.ContainsFunc(BuiltinTopics(), func(t *Topic) bool { return t.ID == id })
}

// Create stores r under a new id in its own transaction.
func (s *Service) Create(ctx context.Context, r *fhir.Resource) (res Resource, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, err = w.Create(ctx, r)
		return err
	})
	return res, err
}

// Update stores the next version of r in its own transaction.
func (s *Service) Update(ctx context.Context, r *fhir.Resource, ifMatch int64) (res Resource, created bool, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, created, err = w.Update(ctx, r, ifMatch)
		return err
	})
	return res, created, err
}

// Delete records the deletion of typ/id in its own transaction.
func (s *Service) Delete(ctx context.Context, typ, id string, ifMatch int64) (res Resource, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, err = w.Delete(ctx, typ, id, ifMatch)
		return err
	})
	return res, err
}

// Read returns the current version of typ/id (see Store.Read), if the
// caller may read it; what it may not read is ErrNotFound (readable), a
// deleted resource judged by its last live version.
func (s *Service) Read(ctx context.Context, typ, id string) (Resource, error) {
	res, err := s.store.Read(ctx, typ, id)
	if typ == "Basic" && errors.Is(err, ErrNotFound) {
		res, err = s.topicBasic(ctx, id) // a topic's R4 form (topic_basic.go)
	}
	if err != nil && !errors.Is(err, ErrGone) {
		return res, err
	}
	if aerr := readable(ctx, typ, s.judged(ctx, res)); aerr != nil {
		return Resource{}, aerr
	}
	return res, err
}

// VRead returns version vid of typ/id (see Store.VRead), if the caller may
// read it (as Read).
func (s *Service) VRead(ctx context.Context, typ, id string, vid int64) (Resource, error) {
	res, err := s.store.VRead(ctx, typ, id, vid)
	if err != nil && !errors.Is(err, ErrGone) {
		return res, err
	}
	if aerr := readable(ctx, typ, s.judged(ctx, res)); aerr != nil {
		return Resource{}, aerr
	}
	return res, err
}

// judged is the body a version is judged by: its own, or for a deletion
// the last live version before it (nil when there is none, or it cannot be
// read; readable then shows it only to an unrestricted caller).
func (s *Service) judged(ctx context.Context, v Resource) []byte {
	if !v.Deleted {
		return v.Body
	}
	if p, ok := auth.PrincipalFrom(ctx); !ok || unrestricted(p, auth.Read, v.Type) {
		return nil // not needed: skip the read
	}
	return s.liveBody(ctx, v.Type, v.ID, v.VersionID-1)
}

// liveBody returns the newest live version of typ/id at or before vid, nil
// when there is none or it cannot be read.
func (s *Service) liveBody(ctx context.Context, typ, id string, vid int64) []byte {
	for ; vid >= 1; vid-- {
		prev, err := s.store.VRead(ctx, typ, id, vid)
		if err == nil {
			return prev.Body
		}
		if !errors.Is(err, ErrGone) {
			return nil
		}
	}
	return nil
}

// History returns the versions of typ/id the caller may read, newest
// first: each is judged on its own (a deletion by the version it
// deleted), so a resource that moved between compartments shows each
// caller only its versions. None visible is ErrNotFound.
func (s *Service) History(ctx context.Context, typ, id string) ([]Resource, error) {
	versions, err := s.store.History(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	out := versions[:0:0]
	for i, v := range versions {
		body := v.Body
		if v.Deleted {
			body = nil
			for _, older := range versions[i+1:] {
				if !older.Deleted {
					body = older.Body
					break
				}
			}
		}
		switch err := readable(ctx, typ, body); {
		case err == nil:
			out = append(out, v)
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// SearchResult is one page of a search (Service.Search).
type SearchResult struct {
	Matches  []Resource // the page, in the search's order
	Included []Resource // what _include and _revinclude added, each once, none of them a match
	// Next and Prev are the _cursor values of the following and preceding
	// pages ("" when there is none): repeat the search with Query.Cursor
	// set to one of them.
	Next, Prev string
	Total      int // the number of matches, or -1 when not counted (see Store.Find)
}

// maxIncluded bounds the resources _include and _revinclude add to a page.
const maxIncluded = 1000

// Search runs q through the store's index and returns the page of at most
// count matches after q.Cursor (count 0 or _summary=count: the total
// only), with the resources q's _include and _revinclude name, among those
// the caller may see. This is the one search entry point: REST searches,
// conditional create/update/delete (search with count 2 to tell none, one
// and several apart) and internal lookups all call it, e.g.
//
//	q, err := search.ParseQuery("Patient", url.Values{"identifier": {"urn:x|42"}})
//	res, err := svc.Search(ctx, q, 2)
//	// len(res.Matches) is 0, 1 or 2 (2: several match)
//
// Results the caller may not see (granular SMART scopes) are removed from
// the page after the store has paged, so a page may hold fewer than count
// matches and Total counts what the store matched.
func (s *Service) Search(ctx context.Context, q *search.Query, count int) (SearchResult, error) {
	return s.search(ctx, q, count, true)
}

// search is Search; topics says whether a search of Basic includes the
// topics' R4 forms, which $everything leaves out (no topic is in a
// compartment, and deriving them is the dearest part of its Basic
// searches).
func (s *Service) search(ctx context.Context, q *search.Query, count int, topics bool) (SearchResult, error) {
	if err := checkAccess(ctx, auth.Search, q.Type, nil, nil); err != nil {
		return SearchResult{}, err
	}
	page, err := s.store.Find(ctx, q, count)
	if err != nil {
		return SearchResult{}, err
	}
	out := SearchResult{Next: page.Next, Prev: page.Prev, Total: page.Total}
	for _, r := range page.Matches {
		if visible(ctx, r.Type, r.Body) {
			out.Matches = append(out.Matches, r)
		}
	}
	if topics && q.Type == "Basic" && q.Cursor == "" && q.Offset == 0 {
		// Topics in their R4 form are Basic resources too (topic_basic.go);
		// they are few, and come on the first page.
		tb, err := s.topicBasics(ctx, q)
		if err != nil {
			return SearchResult{}, err
		}
		out.Matches = append(out.Matches, tb...)
		if out.Total >= 0 {
			out.Total += len(tb)
		}
	}
	if p, ok := auth.PrincipalFrom(ctx); ok && !unrestricted(p, auth.Search, q.Type) && out.Total >= 0 {
		// The store counted what the caller may not see too; a total must
		// not reveal that. Count the visible ones when asked to, or when
		// this page is the whole result; otherwise leave the total out.
		// A caller who may see every resource of the type (auth none,
		// system/*.rs) keeps the store's count: walking every match to
		// recount it took seconds for 10,000 matches.
		switch {
		case q.Summary == "count" || q.Total == search.TotalAccurate || q.Total == search.TotalEstimate:
			if out.Total, err = s.countVisible(ctx, q); err != nil {
				return SearchResult{}, err
			}
		case page.Next == "" && page.Prev == "" && q.Cursor == "" && q.Offset == 0:
			out.Total = len(out.Matches)
		default:
			out.Total = -1
		}
	}
	if len(q.Include) > 0 && len(out.Matches) > 0 {
		if out.Included, err = s.include(ctx, q.Include, out.Matches); err != nil {
			return SearchResult{}, err
		}
	}
	return out, nil
}

// countVisible counts the matches of q the caller may see, page by page.
func (s *Service) countVisible(ctx context.Context, q *search.Query) (int, error) {
	walk := *q
	walk.Summary, walk.Total, walk.Cursor, walk.Offset, walk.Include = "", search.TotalNone, "", 0, nil
	n := 0
	for {
		page, err := s.store.Find(ctx, &walk, search.MaxCount)
		if err != nil {
			return 0, err
		}
		for _, r := range page.Matches {
			if visible(ctx, r.Type, r.Body) {
				n++
			}
		}
		if page.Next == "" {
			return n, nil
		}
		walk.Cursor = page.Next
	}
}

// include returns what includes add to matches: _include follows the
// references of parameter Param of the resources of Type; _revinclude
// finds the resources of Type that refer through Param to them. The
// plain ones apply to the matches, the :iterate ones also to what was
// included, until nothing new comes (at most maxIncluded resources, and
// three rounds).
func (s *Service) include(ctx context.Context, incs []search.Include, matches []Resource) ([]Resource, error) {
	seen := map[string]bool{}
	for _, m := range matches {
		seen[m.Type+"/"+m.ID] = true
	}
	var out []Resource
	frontier := matches
	for round := 0; round < 3 && len(frontier) > 0 && len(out) < maxIncluded; round++ {
		var next []Resource
		for _, in := range incs {
			if round > 0 && !in.Iterate {
				continue
			}
			found, err := s.includeOne(ctx, in, frontier)
			if err != nil {
				return nil, err
			}
			for _, r := range found {
				k := r.Type + "/" + r.ID
				if seen[k] || len(out) >= maxIncluded || !visible(ctx, r.Type, r.Body) {
					continue
				}
				seen[k] = true
				out = append(out, r)
				next = append(next, r)
			}
		}
		frontier = next
	}
	return out, nil
}

// includeOne applies one include to from, with searches on the index.
func (s *Service) includeOne(ctx context.Context, in search.Include, from []Resource) ([]Resource, error) {
	var refs []string
	byType := map[string][]string{}
	for _, r := range from {
		if in.Reverse {
			if in.TargetType == "" || in.TargetType == r.Type {
				refs = append(refs, r.Type+"/"+r.ID)
			}
			continue
		}
		if r.Type != in.Type {
			continue
		}
		keys, err := search.NewTarget(r.Body).IndexKeys(in.Type, in.Param)
		if err != nil {
			continue
		}
		for _, k := range keys {
			typ, id, ok := strings.Cut(k, "/")
			if ok && isTypedRef(k) && (in.TargetType == "" || in.TargetType == typ) && !slices.Contains(byType[typ], id) {
				byType[typ] = append(byType[typ], id)
			}
		}
	}
	var out []Resource
	run := func(typ string, params url.Values) error {
		q, err := search.ParseQuery(typ, params)
		if err != nil {
			return fmt.Errorf("include %s: %w", in, err)
		}
		page, err := s.store.Find(ctx, q, maxIncluded)
		if err != nil {
			return err
		}
		out = append(out, page.Matches...)
		return nil
	}
	if in.Reverse {
		for chunk := range slices.Chunk(refs, maxIncluded) {
			if err := run(in.Type, url.Values{in.Param: {strings.Join(chunk, ",")}}); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for _, typ := range slices.Sorted(maps.Keys(byType)) {
		for chunk := range slices.Chunk(byType[typ], maxIncluded) {
			if err := run(typ, url.Values{"_id": {strings.Join(chunk, ",")}}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
