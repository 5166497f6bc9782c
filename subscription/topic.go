package subscription

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/buger/jsonparser"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/gofhir/fhirpath"
	"github.com/gofhir/fhirpath/types"
)

// Interactions a resource trigger can react to
// (http://hl7.org/fhir/ValueSet/interaction-trigger).
const (
	InteractionCreate = "create"
	InteractionUpdate = "update"
	InteractionDelete = "delete"
)

// Results a query criterion takes for a create (no previous version) or a
// delete (no current version): SubscriptionTopic.resourceTrigger.
// queryCriteria.resultForCreate and resultForDelete.
const (
	TestPasses = "test-passes"
	TestFails  = "test-fails"
)

// ErrUnknownTopic is returned by Subscription.Matches when the
// subscription's topic is no longer in the TopicSet (it was removed after
// the subscription was accepted).
var ErrUnknownTopic = errors.New("unknown subscription topic")

// Topic is a SubscriptionTopic in its R4B/R5 JSON shape: what triggers a
// notification, which filters a Subscription may apply, and what a
// notification carries. A Topic is immutable once parsed and safe for
// concurrent use.
type Topic struct {
	URL         string // canonical URL, without a |version suffix
	Version     string
	ID          string
	Title       string
	Status      string // draft | active | retired | unknown; may be empty
	Triggers    []Trigger
	CanFilterBy []CanFilterBy
	Shapes      []NotificationShape
	Raw         json.RawMessage // the JSON the topic was parsed from
}

// Trigger is one resourceTrigger: the resource type and interactions it
// watches and the criteria a change must meet.
type Trigger struct {
	Resource     string         // a resource type name (a StructureDefinition URL is normalised to it)
	Interactions []string       // create | update | delete; empty means all three
	Query        *QueryCriteria // nil when the trigger has no queryCriteria
	FHIRPath     string         // fhirPathCriteria over %previous and %current; "" when absent

	fhirPath *fhirpath.Expression // compiled FHIRPath, nil when FHIRPath is ""
}

// QueryCriteria is resourceTrigger.queryCriteria: search tests applied to
// the previous and current version of the resource.
type QueryCriteria struct {
	Previous        string // a search query such as "status:not=in-progress" (an "Encounter?" prefix is allowed); "" for none
	Current         string // likewise, applied to the current version
	ResultForCreate string // test-passes | test-fails | "" (the previous test is skipped on create)
	ResultForDelete string // test-passes | test-fails | "" (the current test is skipped on delete)
	RequireBoth     bool   // both tests must pass; otherwise either one suffices

	previous, current *search.Query // compiled Previous and Current, nil when empty
}

// CanFilterBy is one filter a topic allows Subscriptions to apply.
type CanFilterBy struct {
	Resource         string // resource type the filter applies to; "" means every trigger resource
	FilterParameter  string // a search parameter code of Resource
	FilterDefinition string // optional SearchParameter canonical; fhirbell evaluates the code
	Comparators      []string
	Modifiers        []string // allowed modifiers; empty allows any modifier the search supports
}

// NotificationShape says which resources accompany a notification whose
// focus is of type Resource.
type NotificationShape struct {
	Resource   string
	Include    []string
	RevInclude []string
}

// ParseTopic parses and validates a SubscriptionTopic body. It requires a
// url and at least one resourceTrigger whose resource is a type fhirbell
// serves, supportedInteraction codes from create|update|delete, query
// criteria that parse as searches on that type, a fhirPathCriteria that
// compiles, and canFilterBy parameters that are search parameters fhirbell
// can evaluate. Topics defined only by eventTrigger are not supported,
// since fhirbell has no business events. Errors are *fhir.ValidationError
// whose Path names the offending element.
func ParseTopic(body []byte) (*Topic, error) {
	root, err := parseNode(body, "")
	if err != nil {
		return nil, err
	}
	rt, err := root.requiredStr("resourceType")
	if err != nil {
		return nil, err
	}
	if rt != "SubscriptionTopic" {
		return nil, fhir.Invalid("resourceType", fmt.Sprintf("must be SubscriptionTopic, not %q", rt))
	}
	n := node{path: "SubscriptionTopic", m: root.m}
	t := &Topic{Raw: append(json.RawMessage(nil), body...)}
	if t.ID, _, err = n.str("id"); err != nil {
		return nil, err
	}
	if t.ID != "" && !fhir.ValidID(t.ID) {
		return nil, fhir.Invalid(n.at("id"), fmt.Sprintf("%q is not a valid id", t.ID))
	}
	canonical, err := n.requiredStr("url")
	if err != nil {
		return nil, err
	}
	t.URL, t.Version = splitCanonical(canonical)
	if u, err := url.Parse(t.URL); err != nil || !u.IsAbs() {
		return nil, fhir.Invalid(n.at("url"), fmt.Sprintf("%q is not an absolute URL", canonical))
	}
	if v, present, err := n.str("version"); err != nil {
		return nil, err
	} else if present {
		t.Version = v
	}
	if t.Title, _, err = n.str("title"); err != nil {
		return nil, err
	}
	if t.Status, _, err = n.str("status"); err != nil {
		return nil, err
	}
	switch t.Status {
	case "", "draft", "active", "retired", "unknown":
	default:
		return nil, fhir.Invalid(n.at("status"), fmt.Sprintf("unknown status %q (draft | active | retired | unknown)", t.Status))
	}
	if err := rejectModifierExtensions(n); err != nil {
		return nil, err
	}

	triggers, err := n.objs("resourceTrigger")
	if err != nil {
		return nil, err
	}
	if len(triggers) == 0 {
		if n.has("eventTrigger") {
			return nil, &fhir.ValidationError{Path: n.at("eventTrigger"), Msg: "event triggers are not supported; fhirbell fires topics on resource triggers only", Code: fhir.IssueNotSupported}
		}
		return nil, &fhir.ValidationError{Path: n.at("resourceTrigger"), Msg: "at least one resourceTrigger is required", Code: fhir.IssueRequired}
	}
	for _, tn := range triggers {
		tr, err := parseTrigger(tn)
		if err != nil {
			return nil, err
		}
		t.Triggers = append(t.Triggers, tr)
	}

	filters, err := n.objs("canFilterBy")
	if err != nil {
		return nil, err
	}
	for _, fn := range filters {
		cf, err := parseCanFilterBy(fn, t)
		if err != nil {
			return nil, err
		}
		t.CanFilterBy = append(t.CanFilterBy, cf)
	}

	shapes, err := n.objs("notificationShape")
	if err != nil {
		return nil, err
	}
	for _, sn := range shapes {
		var s NotificationShape
		res, err := sn.requiredStr("resource")
		if err != nil {
			return nil, err
		}
		if s.Resource, err = resourceName(res, sn.at("resource")); err != nil {
			return nil, err
		}
		if s.Include, err = sn.strs("include"); err != nil {
			return nil, err
		}
		if s.RevInclude, err = sn.strs("revInclude"); err != nil {
			return nil, err
		}
		t.Shapes = append(t.Shapes, s)
	}
	return t, nil
}

// parseTrigger parses one resourceTrigger.
func parseTrigger(n node) (Trigger, error) {
	var tr Trigger
	res, err := n.requiredStr("resource")
	if err != nil {
		return tr, err
	}
	if tr.Resource, err = resourceName(res, n.at("resource")); err != nil {
		return tr, err
	}
	inter, err := n.strs("supportedInteraction")
	if err != nil {
		return tr, err
	}
	for i, code := range inter {
		switch code {
		case InteractionCreate, InteractionUpdate, InteractionDelete:
			if !slices.Contains(tr.Interactions, code) {
				tr.Interactions = append(tr.Interactions, code)
			}
		default:
			return tr, fhir.Invalid(fmt.Sprintf("%s[%d]", n.at("supportedInteraction"), i), fmt.Sprintf("unknown interaction %q (create | update | delete)", code))
		}
	}
	qn, present, err := n.obj("queryCriteria")
	if err != nil {
		return tr, err
	}
	if present {
		q := &QueryCriteria{}
		if q.Previous, _, err = qn.str("previous"); err != nil {
			return tr, err
		}
		if q.Current, _, err = qn.str("current"); err != nil {
			return tr, err
		}
		if q.previous, err = parseTriggerQuery(tr.Resource, q.Previous, qn.at("previous")); err != nil {
			return tr, err
		}
		if q.current, err = parseTriggerQuery(tr.Resource, q.Current, qn.at("current")); err != nil {
			return tr, err
		}
		for _, k := range []struct {
			key string
			dst *string
		}{{"resultForCreate", &q.ResultForCreate}, {"resultForDelete", &q.ResultForDelete}} {
			if *k.dst, _, err = qn.str(k.key); err != nil {
				return tr, err
			}
			if *k.dst != "" && *k.dst != TestPasses && *k.dst != TestFails {
				return tr, fhir.Invalid(qn.at(k.key), fmt.Sprintf("unknown code %q (test-passes | test-fails)", *k.dst))
			}
		}
		if q.RequireBoth, err = qn.boolean("requireBoth"); err != nil {
			return tr, err
		}
		tr.Query = q
	}
	if tr.FHIRPath, _, err = n.str("fhirPathCriteria"); err != nil {
		return tr, err
	}
	if strings.TrimSpace(tr.FHIRPath) != "" {
		if tr.fhirPath, err = compileFHIRPath(tr.FHIRPath); err != nil {
			return tr, fhir.Invalid(n.at("fhirPathCriteria"), "does not compile: "+err.Error())
		}
	} else {
		tr.FHIRPath = ""
	}
	return tr, nil
}

// compileFHIRPath compiles expr, turning a panic inside the third-party
// parser into an error: topics come from clients, and a malformed
// expression must be a 400, not a crashed server.
func compileFHIRPath(expr string) (e *fhirpath.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return fhirpath.Compile(expr)
}

// parseTriggerQuery parses a queryCriteria previous/current string: a
// search query on typ, optionally written as "Type?query".
func parseTriggerQuery(typ, s, path string) (*search.Query, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if before, after, ok := strings.Cut(s, "?"); ok {
		if before != typ {
			return nil, fhir.Invalid(path, fmt.Sprintf("criteria are on %s but the trigger is on %s", before, typ))
		}
		s = after
	}
	vals, err := url.ParseQuery(s)
	if err != nil {
		return nil, fhir.Invalid(path, fmt.Sprintf("malformed query %q: %v", s, err))
	}
	q, err := search.ParseQuery(typ, vals)
	if err == nil {
		err = matchable(q)
	}
	if err != nil {
		return nil, rePath(err, path)
	}
	return q, nil
}

// parseCanFilterBy parses one canFilterBy of topic t (whose triggers are
// already parsed).
func parseCanFilterBy(n node, t *Topic) (CanFilterBy, error) {
	var cf CanFilterBy
	res, _, err := n.str("resource")
	if err != nil {
		return cf, err
	}
	if res != "" {
		if cf.Resource, err = resourceName(res, n.at("resource")); err != nil {
			return cf, err
		}
	}
	if cf.FilterParameter, err = n.requiredStr("filterParameter"); err != nil {
		return cf, err
	}
	if cf.FilterDefinition, _, err = n.str("filterDefinition"); err != nil {
		return cf, err
	}
	if cf.Comparators, err = n.strs("comparator"); err != nil {
		return cf, err
	}
	if cf.Modifiers, err = n.strs("modifier"); err != nil {
		return cf, err
	}
	types := []string{cf.Resource}
	if cf.Resource == "" {
		types = t.ResourceTypes()
	}
	for _, typ := range types {
		if hasSearchParam(typ, cf.FilterParameter) {
			return cf, nil
		}
	}
	return cf, &fhir.ValidationError{
		Path: n.at("filterParameter"),
		Msg:  fmt.Sprintf("%q is not a search parameter fhirbell supports on %s", cf.FilterParameter, strings.Join(types, ", ")),
		Code: fhir.IssueNotSupported,
	}
}

// hasSearchParam reports whether code is a search parameter of typ.
func hasSearchParam(typ, code string) bool {
	for _, p := range search.SearchParams(typ) {
		if p.Code == code {
			return true
		}
	}
	return false
}

// resourceName normalises a trigger/filter resource, a type name or a
// core StructureDefinition URL, to the type name.
func resourceName(s, path string) (string, error) {
	name := strings.TrimPrefix(s, "http://hl7.org/fhir/StructureDefinition/")
	if !fhir.IsResourceType(name) {
		return "", &fhir.ValidationError{Path: path, Msg: fmt.Sprintf("unknown resource type %q", s), Code: fhir.IssueNotSupported}
	}
	return name, nil
}

// rejectModifierExtensions fails when n has a modifierExtension: fhirbell
// understands none, and FHIR forbids ignoring one.
func rejectModifierExtensions(n node) error {
	exts, err := n.extensions("modifierExtension")
	if err != nil {
		return err
	}
	if len(exts) > 0 {
		return &fhir.ValidationError{Path: exts[0].path, Msg: fmt.Sprintf("modifier extension %s is not supported", exts[0].url), Code: fhir.IssueNotSupported}
	}
	return nil
}

// rePath returns err with Path set to path when it is a validation error
// (keeping the inner path as context in the message), or err wrapped.
func rePath(err error, path string) error {
	var ve *fhir.ValidationError
	if errors.As(err, &ve) {
		msg := ve.Msg
		if ve.Path != "" {
			msg = ve.Path + ": " + msg
		}
		return &fhir.ValidationError{Path: path, Msg: msg, Code: ve.Code}
	}
	return fhir.Invalid(path, err.Error())
}

// splitCanonical splits "url|version".
func splitCanonical(c string) (u, version string) {
	u, version, _ = strings.Cut(strings.TrimSpace(c), "|")
	return u, version
}

// ResourceTypes returns the sorted, distinct resource types of the topic's
// triggers: the types whose writes can fire it.
func (t *Topic) ResourceTypes() []string {
	var out []string
	for _, tr := range t.Triggers {
		if !slices.Contains(out, tr.Resource) {
			out = append(out, tr.Resource)
		}
	}
	slices.Sort(out)
	return out
}

// filtersFor returns the canFilterBy entries that apply to resource type
// typ.
func (t *Topic) filtersFor(typ string) []CanFilterBy {
	var out []CanFilterBy
	for _, cf := range t.CanFilterBy {
		if cf.Resource == typ || (cf.Resource == "" && slices.Contains(t.ResourceTypes(), typ)) {
			out = append(out, cf)
		}
	}
	return out
}

// Triggered reports whether a change fires the topic and which trigger
// fired first. interaction is create, update or delete; previous is the
// version before the change (nil on create) and current the version after
// it (nil on delete, where previous is the deleted resource's last
// version). An update with a nil previous is treated like a create by the
// previous-state tests.
//
// Semantics (R5 SubscriptionTopic.resourceTrigger): the trigger's resource
// type and supportedInteraction must match. queryCriteria.previous is run
// on previous and current on current; on a create the previous test takes
// resultForCreate, on a delete the current test takes resultForDelete, and
// a test that is absent (or whose result code is absent for that
// interaction) is skipped. With requireBoth every remaining test must pass,
// otherwise one must; no remaining test means the interaction alone fires.
// fhirPathCriteria, when present, must also evaluate to true with
// %previous and %current bound (empty collections for a missing version).
// Errors come from evaluation (a malformed resource, a FHIRPath runtime
// error) and mean "could not decide", not "not triggered".
func (t *Topic) Triggered(interaction string, previous, current []byte) (trigger *Trigger, ok bool, err error) {
	return t.TriggeredTarget(interaction, target(previous), target(current))
}

// target prepares a version for matching; nil stays nil (no version).
func target(b []byte) *search.Target {
	if b == nil {
		return nil
	}
	return search.NewTarget(b)
}

// bytesOf is the JSON of a prepared version, nil for none.
func bytesOf(t *search.Target) []byte {
	if t == nil {
		return nil
	}
	return t.Bytes()
}

// TriggeredTarget is Triggered on prepared versions (nil for none), so that
// the engine parses a write once for all the topics and subscriptions it
// tries.
func (t *Topic) TriggeredTarget(interaction string, previous, current *search.Target) (trigger *Trigger, ok bool, err error) {
	switch interaction {
	case InteractionCreate, InteractionUpdate, InteractionDelete:
	default:
		return nil, false, fmt.Errorf("unknown interaction %q", interaction)
	}
	focus := current
	if focus == nil {
		focus = previous
	}
	typ, err := resourceTypeOf(bytesOf(focus))
	if err != nil {
		return nil, false, err
	}
	for i := range t.Triggers {
		tr := &t.Triggers[i]
		if tr.Resource != typ || !tr.supports(interaction) {
			continue
		}
		ok, err := tr.fires(interaction, previous, current)
		if err != nil {
			return nil, false, fmt.Errorf("topic %s: %w", t.URL, err)
		}
		if ok {
			return tr, true, nil
		}
	}
	return nil, false, nil
}

// supports reports whether the trigger reacts to interaction.
func (tr *Trigger) supports(interaction string) bool {
	return len(tr.Interactions) == 0 || slices.Contains(tr.Interactions, interaction)
}

// fires evaluates the trigger's criteria on a change; see Topic.Triggered.
func (tr *Trigger) fires(interaction string, previous, current *search.Target) (bool, error) {
	if q := tr.Query; q != nil {
		var results []bool
		if q.previous != nil {
			switch {
			case previous != nil:
				ok, err := q.previous.MatchTarget(previous)
				if err != nil {
					return false, fmt.Errorf("previous criteria: %w", err)
				}
				results = append(results, ok)
			case q.ResultForCreate != "":
				results = append(results, q.ResultForCreate == TestPasses)
			}
		}
		if q.current != nil {
			switch {
			case current != nil:
				ok, err := q.current.MatchTarget(current)
				if err != nil {
					return false, fmt.Errorf("current criteria: %w", err)
				}
				results = append(results, ok)
			case q.ResultForDelete != "":
				results = append(results, q.ResultForDelete == TestPasses)
			}
		}
		if len(results) > 0 {
			pass := results[0]
			for _, r := range results[1:] {
				if q.RequireBoth {
					pass = pass && r
				} else {
					pass = pass || r
				}
			}
			if !pass {
				return false, nil
			}
		}
	}
	if tr.fhirPath != nil {
		return evalFHIRPathCriteria(tr.fhirPath, bytesOf(previous), bytesOf(current))
	}
	return true, nil
}

// fhirPathTimeout bounds one fhirPathCriteria evaluation. Topics come from
// clients and run inside every matching write, so a pathological expression
// must fail (as an error the engine reports) rather than stall writes; a
// sane criterion over one resource takes microseconds.
const fhirPathTimeout = time.Second

// evalFHIRPathCriteria evaluates a fhirPathCriteria with %previous and
// %current bound; the evaluation context (%resource) is the current
// version, or the previous one on delete. Only a single boolean true
// passes.
func evalFHIRPathCriteria(expr *fhirpath.Expression, previous, current []byte) (bool, error) {
	prev, err := collection(previous)
	if err != nil {
		return false, fmt.Errorf("previous version: %w", err)
	}
	cur, err := collection(current)
	if err != nil {
		return false, fmt.Errorf("current version: %w", err)
	}
	root := current
	if root == nil {
		root = previous
	}
	res, err := expr.EvaluateWithOptions(root,
		fhirpath.WithTimeout(fhirPathTimeout),
		fhirpath.WithVariable("previous", prev),
		fhirpath.WithVariable("current", cur))
	if err != nil {
		return false, fmt.Errorf("fhirPathCriteria: %w", err)
	}
	if len(res) != 1 {
		return false, nil
	}
	b, ok := res[0].(types.Boolean)
	return ok && b.Bool(), nil
}

// collection converts a resource to a FHIRPath collection; nil is empty.
func collection(b []byte) (types.Collection, error) {
	if b == nil {
		return types.Collection{}, nil
	}
	return types.JSONToCollection(b)
}

// resourceTypeOf returns the resourceType of a resource body without
// decoding the rest of it.
func resourceTypeOf(b []byte) (string, error) {
	if b == nil {
		return "", errors.New("no resource version given")
	}
	rt, err := jsonparser.GetString(b, "resourceType")
	if err != nil || rt == "" {
		return "", errors.New("resource has no resourceType")
	}
	return rt, nil
}

// TopicSet looks topics up by canonical URL. Implementations are safe for
// concurrent use.
type TopicSet interface {
	// Topic returns the topic with canonical URL url (a "|version" suffix
	// is ignored).
	Topic(url string) (*Topic, bool)
}

// Topics is a TopicSet in memory: the built-in topics plus the ones users
// define. It is safe for concurrent use; the zero value is empty and ready.
type Topics struct {
	mu  sync.RWMutex
	m   map[string]*Topic // by URL, guarded by mu
	gen uint64            // bumped by every change, guarded by mu
}

// Generation returns a number that changes whenever the set changes, so
// that what is derived from it (the CapabilityStatement) can be cached.
func (s *Topics) Generation() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

var _ TopicSet = (*Topics)(nil)

// NewTopics returns a Topics holding ts.
func NewTopics(ts ...*Topic) *Topics {
	s := &Topics{}
	for _, t := range ts {
		s.Add(t)
	}
	return s
}

// Topic returns the topic with canonical URL url; see TopicSet.
func (s *Topics) Topic(url string) (*Topic, bool) {
	u, _ := splitCanonical(url)
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.m[u]
	return t, ok
}

// Add adds t, replacing any topic with the same URL.
func (s *Topics) Add(t *Topic) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*Topic{}
	}
	s.m[t.URL] = t
	s.gen++
}

// Remove removes the topic with canonical URL url and reports whether
// there was one.
func (s *Topics) Remove(url string) bool {
	u, _ := splitCanonical(url)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[u]
	delete(s.m, u)
	s.gen++
	return ok
}

// All returns every topic, sorted by URL.
func (s *Topics) All() []*Topic {
	s.mu.RLock()
	out := make([]*Topic, 0, len(s.m))
	for _, t := range s.m {
		out = append(out, t)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Topic) int { return strings.Compare(a.URL, b.URL) })
	return out
}
