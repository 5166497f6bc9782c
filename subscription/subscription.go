package subscription

import (
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// Kind says how a Subscription chooses its events.
type Kind int

// Subscription kinds.
const (
	// KindCriteria: criteria is a search URL such as
	// "Observation?code=http://loinc.org|8867-4" or a bare "Observation"
	// (legacy R4 and Medplum style).
	KindCriteria Kind = iota + 1
	// KindTopic: criteria is the canonical URL of a SubscriptionTopic, with
	// filters in backport-filter-criteria extensions (Backport IG style).
	KindTopic
)

// String returns "criteria" or "topic".
func (k Kind) String() string {
	switch k {
	case KindCriteria:
		return "criteria"
	case KindTopic:
		return "topic"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Subscription status codes (R4 http://hl7.org/fhir/subscription-status).
const (
	StatusRequested = "requested"
	StatusActive    = "active"
	StatusError     = "error"
	StatusOff       = "off"
)

// Notification content levels (backport-payload-content, R5
// Subscription.content).
const (
	ContentEmpty        = "empty"
	ContentIDOnly       = "id-only"
	ContentFullResource = "full-resource"
)

// ChannelWebsocket is the channel on which clients bind a socket and
// fhirbell pushes notifications over it (package notify).
const ChannelWebsocket = "websocket"

// Defaults for what a Subscription does not say.
const (
	// DefaultHeartbeatPeriod: load balancers commonly drop sockets idle for
	// 60 s, so heartbeats come well inside that even when the client asked
	// for none.
	DefaultHeartbeatPeriod = 30 * time.Second
	// DefaultTimeout bounds one notification write, as the WebSocket
	// writer's own write deadline does.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxCount is one event per notification: every client copes
	// with it, and one that wants batches asks with backport-max-count.
	DefaultMaxCount = 1
)

// Extension URLs of the Subscriptions Backport IG that fhirbell reads.
const (
	backportSD           = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
	ExtFilterCriteria    = backportSD + "backport-filter-criteria"
	ExtHeartbeatPeriod   = backportSD + "backport-heartbeat-period"
	ExtTimeout           = backportSD + "backport-timeout"
	ExtMaxCount          = backportSD + "backport-max-count"
	ExtPayloadContent    = backportSD + "backport-payload-content"
	ExtCustomChannelType = backportSD + "backport-channel-type"
)

// Subscription is the validated, typed view of a Subscription resource.
// The raw JSON stays the source of truth (the samply structs drop
// _criteria and _payload); this view is what matching and delivery need.
// A Subscription is immutable once parsed and safe for concurrent use.
type Subscription struct {
	ID       string
	Status   string    // the status to store: active, error or off (see ParseSubscription)
	End      time.Time // zero when there is no end
	Reason   string
	Error    string // Subscription.error; "" unless Status is error
	Criteria string // as sent
	Kind     Kind

	TopicURL string        // KindTopic: the topic canonical, without |version
	Query    *search.Query // KindCriteria: the parsed criteria
	Filters  []Filter      // KindTopic: backport-filter-criteria, one per parameter, each with a concrete ResourceType

	ChannelType     string        // ChannelWebsocket or ChannelRestHook
	Payload         string        // channel.payload MIME type as sent, or ""
	Version         fhir.Version  // the fhirVersion channel.payload asks notifications in (R4 when it asks none)
	VersionAsked    bool          // channel.payload names a fhirVersion
	Content         string        // empty | id-only | full-resource, defaulted as ParseSubscription says
	HeartbeatPeriod time.Duration // backport-heartbeat-period, or DefaultHeartbeatPeriod
	HeartbeatSet    bool          // the client gave backport-heartbeat-period (rest-hook beats only then)
	Timeout         time.Duration // backport-timeout, or DefaultTimeout
	MaxCount        int           // backport-max-count, or DefaultMaxCount

	// ChannelRestHook only (resthook.go).
	Endpoint string   // channel.endpoint, an absolute http(s) URL
	Headers  []Header // channel.header, sent with every POST, never logged
	Secret   string   // Medplum subscription-secret: sign each body with HMAC-SHA256

	Owner Owner // who created it, from the server-written owner extension

	filterQueries map[string]*search.Query // KindTopic: every filter on a type ANDed into one query
	sent          string                   // the status the body carried
}

// Filter is one backport-filter-criteria term: a search parameter of
// ResourceType that the focus resource must satisfy.
type Filter struct {
	ResourceType string
	Param        string
	Modifier     string // "" when none
	Value        string
	Query        *search.Query // this term alone as a search on ResourceType
}

// ParseSubscription parses and validates a Subscription body in any of the
// three accepted styles (legacy R4 criteria, Backport IG topic, Medplum
// plain criteria) against the known topics. Every error is a
// *fhir.ValidationError whose Path names the offending element, e.g.
// "Subscription.channel.type" or "Subscription._criteria.extension[1]";
// its Code is not-supported for things fhirbell does not do (unknown
// topics, channels other than websocket and rest-hook, XML, fhirVersion other than 4.0,
// disallowed filters) and invalid or required otherwise.
//
// Status: the client may send requested, active, off or error. The returned
// Status is what fhirbell stores (see ActivatedBody): requested and active
// become active (and Error is cleared: a client re-activating a
// subscription is its recovery from error), except that a rest-hook
// subscription sent as requested stays requested until its handshake
// succeeds (the Service also makes a new one, or one whose endpoint
// changed, requested); off stays off; error stays
// error with the client's error text (the server never silently resets an
// error); and any status becomes off when End is not after now.
//
// Defaults: Content comes from the backport-payload-content extension;
// without it, a topic subscription gets full-resource when channel.payload
// is set and empty when it is not (R4: "omit for no payload"), and a
// criteria subscription gets full-resource (the Medplum dialect expects the
// resource; the legacy bind/ping dialect carries none anyway).
// HeartbeatPeriod, Timeout and MaxCount default to DefaultHeartbeatPeriod,
// DefaultTimeout and DefaultMaxCount; when given they must be at least 1.
// Subscription.reason is optional (R4 makes it 1..1; clients often omit it).
func ParseSubscription(body []byte, topics TopicSet, now time.Time) (*Subscription, error) {
	r, err := fhir.ParseResource(body)
	if err != nil {
		return nil, err
	}
	if r.Type != "Subscription" {
		return nil, fhir.Invalid("resourceType", fmt.Sprintf("must be Subscription, not %q", r.Type))
	}
	root, err := parseNode(body, "Subscription")
	if err != nil {
		return nil, err
	}
	s := &Subscription{ID: r.ID}
	if s.Owner, err = ownerOf(body); err != nil {
		return nil, err
	}
	if err := rejectModifierExtensions(root); err != nil {
		return nil, err
	}
	if err := s.parseStatus(root, now); err != nil {
		return nil, err
	}
	if s.Reason, _, err = root.str("reason"); err != nil {
		return nil, err
	}
	if err := s.parseCriteria(root, topics); err != nil {
		return nil, err
	}
	if err := s.parseChannel(root); err != nil {
		return nil, err
	}
	if s.ChannelType == ChannelRestHook && s.sent == StatusRequested && s.Status == StatusActive {
		// A rest-hook subscription becomes active only when its endpoint
		// answers the handshake (Backport IG channels page).
		s.Status = StatusRequested
	}
	return s, nil
}

// parseStatus reads status, end and error and settles the stored status.
func (s *Subscription) parseStatus(n node, now time.Time) error {
	status, present, err := n.str("status")
	if err != nil {
		return err
	}
	if !present {
		return &fhir.ValidationError{Path: n.at("status"), Msg: "is required (requested | active | error | off)", Code: fhir.IssueRequired}
	}
	s.sent = status
	if s.Error, _, err = n.str("error"); err != nil {
		return err
	}
	if end, present, err := n.str("end"); err != nil {
		return err
	} else if present {
		t, err := time.Parse(time.RFC3339Nano, end)
		if err != nil || !strings.Contains(end, "T") {
			return fhir.Invalid(n.at("end"), fmt.Sprintf("%q is not an instant (e.g. 2031-01-01T00:00:00Z)", end))
		}
		s.End = t
	}
	switch status {
	case StatusRequested, StatusActive:
		s.Status, s.Error = StatusActive, ""
	case StatusError, StatusOff:
		s.Status = status
	default:
		return fhir.Invalid(n.at("status"), fmt.Sprintf("unknown status %q (requested | active | error | off)", status))
	}
	if s.Status != StatusError {
		s.Error = ""
	}
	if s.Expired(now) {
		s.Status = StatusOff
	}
	return nil
}

// parseCriteria reads criteria and _criteria: a topic canonical with
// filters, or a search URL.
func (s *Subscription) parseCriteria(n node, topics TopicSet) error {
	crit, err := n.requiredStr("criteria")
	if err != nil {
		if n.has("topic") && !n.has("criteria") {
			// An R5 Subscription (example E1 of the protocol notes) sent to
			// this R4 server: say how to write it instead.
			return &fhir.ValidationError{Path: n.at("criteria"), Msg: "is required: this is an R4 server; put the topic canonical in criteria and filters in _criteria backport-filter-criteria extensions (Subscriptions Backport IG) instead of R5 topic/filterBy", Code: fhir.IssueRequired}
		}
		return err
	}
	s.Criteria = crit
	var exts []extension
	if cn, present, err := n.obj("_criteria"); err != nil {
		return err
	} else if present {
		if exts, err = cn.extensions("extension"); err != nil {
			return err
		}
	}
	if !isCanonical(crit) {
		s.Kind = KindCriteria
		q, err := search.ParseCriteria(crit)
		if err == nil {
			err = matchable(q)
		}
		if err != nil {
			return rePath(err, n.at("criteria"))
		}
		s.Query = q
		for _, e := range exts {
			if e.url == ExtFilterCriteria {
				return fhir.Invalid(e.path, "filter criteria need a topic-based subscription (criteria set to a SubscriptionTopic canonical URL)")
			}
		}
		return nil
	}
	s.Kind = KindTopic
	var topic *Topic
	if topics != nil {
		topic, _ = topics.Topic(crit)
	}
	if topic == nil {
		msg := fmt.Sprintf("unknown SubscriptionTopic %q", crit)
		if strings.Contains(crit, "?") {
			msg += "; criteria searches must be relative, such as Observation?code=1234-5"
		}
		return &fhir.ValidationError{Path: n.at("criteria"), Msg: msg, Code: fhir.IssueNotSupported}
	}
	s.TopicURL = topic.URL
	for _, e := range exts {
		if e.url != ExtFilterCriteria {
			continue
		}
		str, err := e.stringValue("valueString")
		if err != nil {
			return err
		}
		fs, err := parseFilters(str, topic)
		if err != nil {
			return rePath(err, e.path)
		}
		s.Filters = append(s.Filters, fs...)
	}
	return s.compileFilters()
}

// isCanonical reports whether criteria names a topic rather than a search:
// topic canonicals are absolute URLs (or URNs), searches are relative.
func isCanonical(criteria string) bool {
	c := strings.TrimSpace(criteria)
	return strings.HasPrefix(c, "http://") || strings.HasPrefix(c, "https://") || strings.HasPrefix(c, "urn:")
}

// compileFilters ANDs the filters of each resource type into one query.
func (s *Subscription) compileFilters() error {
	byType := map[string]url.Values{}
	for _, f := range s.Filters {
		if byType[f.ResourceType] == nil {
			byType[f.ResourceType] = url.Values{}
		}
		byType[f.ResourceType].Add(f.key(), f.Value)
	}
	s.filterQueries = map[string]*search.Query{}
	for typ, vals := range byType {
		q, err := search.ParseQuery(typ, vals)
		if err != nil {
			// Each filter parsed alone, so this cannot happen short of a
			// search-engine bug; report it rather than match wrongly.
			return rePath(err, "Subscription._criteria.extension")
		}
		s.filterQueries[typ] = q
	}
	return nil
}

// key returns the filter's query key, param[:modifier].
func (f Filter) key() string {
	if f.Modifier == "" {
		return f.Param
	}
	return f.Param + ":" + f.Modifier
}

// parseFilters parses one backport-filter-criteria string against topic.
// Accepted forms, several joined by & (ANDed):
//
//	param=value, param:modifier=value,
//	Type.param=value, Type.param:modifier=value (backport syntax),
//	Type?param=value&… (search-URL form, as the IG examples write it).
//
// Values are URL-decoded as in a search URL. A filter without a type
// applies to every trigger type of the topic whose canFilterBy allows the
// parameter and that has such a search parameter (a canFilterBy without
// resource may name a parameter only some trigger types have), and is
// returned once per such type.
func parseFilters(s string, topic *Topic) ([]Filter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fhir.Invalid("", "filter criteria are empty")
	}
	urlType := ""
	if before, after, ok := strings.Cut(s, "?"); ok && !strings.Contains(before, "=") {
		if !fhir.IsResourceType(before) {
			return nil, fhir.Invalid("", fmt.Sprintf("unknown resource type %q in filter %q", before, s))
		}
		urlType, s = before, after
	}
	var out []Filter
	for term := range strings.SplitSeq(s, "&") {
		if term == "" {
			continue
		}
		rawKey, rawVal, ok := strings.Cut(term, "=")
		if !ok || rawKey == "" {
			return nil, fhir.Invalid("", fmt.Sprintf("filter %q is not param=value", term))
		}
		key, err1 := url.QueryUnescape(rawKey)
		val, err2 := url.QueryUnescape(rawVal)
		if err1 != nil || err2 != nil {
			return nil, fhir.Invalid("", fmt.Sprintf("filter %q has a malformed %%-escape", term))
		}
		if strings.TrimSpace(val) == "" {
			return nil, fhir.Invalid("", fmt.Sprintf("filter %q has no value", term))
		}
		typ := urlType
		if t, rest, ok := strings.Cut(key, "."); ok && fhir.IsResourceType(t) {
			if urlType != "" && t != urlType {
				return nil, fhir.Invalid("", fmt.Sprintf("filter %q names %s inside a filter on %s", term, t, urlType))
			}
			typ, key = t, rest
		}
		param, mod, _ := strings.Cut(key, ":")
		if param == "" {
			return nil, fhir.Invalid("", fmt.Sprintf("filter %q has no parameter", term))
		}
		types := []string{typ}
		if typ == "" {
			types = nil
			for _, t := range topic.ResourceTypes() {
				if allowedFilter(topic, t, param) != nil && hasSearchParam(t, param) {
					types = append(types, t)
				}
			}
		}
		if len(types) == 0 {
			return nil, notAllowed(topic, "", param)
		}
		for _, t := range types {
			cf := allowedFilter(topic, t, param)
			if cf == nil {
				return nil, notAllowed(topic, t, param)
			}
			if mod != "" && len(cf.Modifiers) > 0 && !slices.Contains(cf.Modifiers, mod) {
				return nil, &fhir.ValidationError{
					Msg:  fmt.Sprintf("topic %s does not allow modifier :%s on %s.%s (allowed: %s)", topic.URL, mod, t, param, strings.Join(cf.Modifiers, ", ")),
					Code: fhir.IssueNotSupported,
				}
			}
			f := Filter{ResourceType: t, Param: param, Modifier: mod, Value: val}
			q, err := search.ParseQuery(t, url.Values{f.key(): {val}})
			if err == nil {
				err = matchable(q)
			}
			if err != nil {
				return nil, err
			}
			f.Query = q
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fhir.Invalid("", "filter criteria are empty")
	}
	return out, nil
}

// allowedFilter returns the canFilterBy of topic that allows filtering typ
// by param, or nil.
func allowedFilter(topic *Topic, typ, param string) *CanFilterBy {
	for _, cf := range topic.filtersFor(typ) {
		if cf.FilterParameter == param {
			return &cf
		}
	}
	return nil
}

// notAllowed is the error for a filter parameter the topic does not offer.
func notAllowed(topic *Topic, typ, param string) error {
	var allowed []string
	for _, cf := range topic.CanFilterBy {
		if typ == "" || cf.Resource == typ || cf.Resource == "" {
			allowed = append(allowed, cf.FilterParameter)
		}
	}
	slices.Sort(allowed)
	allowed = slices.Compact(allowed)
	on := ""
	if typ != "" {
		on = " on " + typ
	}
	list := "none"
	if len(allowed) > 0 {
		list = strings.Join(allowed, ", ")
	}
	return &fhir.ValidationError{
		Msg:  fmt.Sprintf("topic %s does not allow filtering%s by %q (canFilterBy: %s)", topic.URL, on, param, list),
		Code: fhir.IssueNotSupported,
	}
}

// parseChannel reads channel: type, payload and the backport extensions.
func (s *Subscription) parseChannel(root node) error {
	ch, present, err := root.obj("channel")
	if err != nil {
		return err
	}
	if !present {
		return &fhir.ValidationError{Path: root.at("channel"), Msg: "is required", Code: fhir.IssueRequired}
	}
	if err := rejectModifierExtensions(ch); err != nil {
		return err
	}
	typ, err := ch.requiredStr("type")
	if err != nil {
		return err
	}
	if tn, present, err := ch.obj("_type"); err != nil {
		return err
	} else if present {
		exts, err := tn.extensions("extension")
		if err != nil {
			return err
		}
		for _, e := range exts {
			if e.url == ExtCustomChannelType {
				return &fhir.ValidationError{Path: e.path, Msg: "custom channel types are not supported; fhirbell delivers websocket and rest-hook only", Code: fhir.IssueNotSupported}
			}
		}
	}
	switch typ {
	case ChannelWebsocket:
	case ChannelRestHook:
		if err := s.parseRestHook(root, ch); err != nil {
			return err
		}
	default:
		return &fhir.ValidationError{
			Path: ch.at("type"),
			Msg:  fmt.Sprintf("channel type %q is not supported; fhirbell delivers notifications over websocket and rest-hook only", typ),
			Code: fhir.IssueNotSupported,
		}
	}
	s.ChannelType = typ

	if s.Payload, _, err = ch.str("payload"); err != nil {
		return err
	}
	if s.Payload != "" {
		if s.Version, s.VersionAsked, err = checkPayloadMIME(s.Payload, ch.at("payload")); err != nil {
			return err
		}
	}
	if pn, present, err := ch.obj("_payload"); err != nil {
		return err
	} else if present {
		exts, err := pn.extensions("extension")
		if err != nil {
			return err
		}
		for _, e := range exts {
			if e.url != ExtPayloadContent {
				continue
			}
			if s.Content != "" {
				return fhir.Invalid(e.path, "backport-payload-content appears twice")
			}
			code, err := e.stringValue("valueCode")
			if err != nil {
				return err
			}
			switch code {
			case ContentEmpty, ContentIDOnly, ContentFullResource:
				s.Content = code
			default:
				return fhir.Invalid(e.at("valueCode"), fmt.Sprintf("unknown content %q (empty | id-only | full-resource)", code))
			}
		}
	}
	if s.Content == "" {
		s.Content = ContentFullResource
		if s.Kind == KindTopic && s.Payload == "" {
			s.Content = ContentEmpty
		}
	}

	exts, err := ch.extensions("extension")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range exts {
		switch e.url {
		case ExtHeartbeatPeriod, ExtTimeout, ExtMaxCount:
		default:
			continue // extensions fhirbell does not use are kept, not rejected
		}
		if seen[e.url] {
			return fhir.Invalid(e.path, shortURL(e.url)+" appears twice")
		}
		seen[e.url] = true
		switch e.url {
		case ExtHeartbeatPeriod:
			n, err := e.intValue("valueUnsignedInt", 1)
			if err != nil {
				return err
			}
			s.HeartbeatPeriod = time.Duration(n) * time.Second
			s.HeartbeatSet = true
		case ExtTimeout:
			n, err := e.intValue("valueUnsignedInt", 1)
			if err != nil {
				return err
			}
			s.Timeout = time.Duration(n) * time.Second
		case ExtMaxCount:
			n, err := e.intValue("valuePositiveInt", 1)
			if err != nil {
				return err
			}
			s.MaxCount = int(n)
		}
	}
	if s.HeartbeatPeriod == 0 {
		s.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MaxCount == 0 {
		s.MaxCount = DefaultMaxCount
	}
	return nil
}

// checkPayloadMIME accepts FHIR JSON MIME types whose fhirVersion, if
// any, is one fhirbell writes notifications in (4.0, 4.3 or 5.0, with or
// without a patch number), and returns it; asked is false when the MIME
// type names none. The Backport IG says a server SHALL NOT accept a version
// it cannot produce.
func checkPayloadMIME(payload, path string) (v fhir.Version, asked bool, err error) {
	mt, params, err := mime.ParseMediaType(payload)
	if err != nil {
		return v, false, fhir.Invalid(path, fmt.Sprintf("%q is not a MIME type: %v", payload, err))
	}
	switch mt {
	case "application/fhir+json", "application/json", "application/json+fhir":
	case "application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml":
		return v, false, &fhir.ValidationError{Path: path, Msg: fmt.Sprintf("payload %q is not supported; fhirbell sends JSON only (application/fhir+json)", mt), Code: fhir.IssueNotSupported}
	default:
		return v, false, &fhir.ValidationError{Path: path, Msg: fmt.Sprintf("payload %q is not supported (application/fhir+json)", mt), Code: fhir.IssueNotSupported}
	}
	if s, ok := params["fhirversion"]; ok { // mime lowercases parameter names
		if v, ok = fhir.ParseVersion(s); !ok {
			return v, false, &fhir.ValidationError{Path: path, Msg: fmt.Sprintf("fhirVersion %q is not supported; fhirbell notifies in FHIR 4.0 (R4), 4.3 (R4B) or 5.0 (R5)", s), Code: fhir.IssueNotSupported}
		}
		return v, true, nil
	}
	return fhir.R4, false, nil
}

// Expired reports whether the subscription's end has come by now.
func (s *Subscription) Expired(now time.Time) bool {
	return !s.End.IsZero() && !now.Before(s.End)
}

// ActivatedBody returns the body to store for a Subscription that
// ParseSubscription accepted as sub: the client's JSON with every member
// kept, status set to sub.Status, and error set to sub.Error (removed when
// empty).
func ActivatedBody(body []byte, sub *Subscription) ([]byte, error) {
	return WithStatus(body, sub.Status, sub.Error)
}

// WithStatus returns the Subscription body with status set and error set
// to errorText, or removed when errorText is empty; every other member is
// kept in place. The engine uses it to turn a subscription off at its end
// or to record a delivery error.
func WithStatus(body []byte, status, errorText string) ([]byte, error) {
	o, err := fhir.ParseObject(body)
	if err != nil {
		return nil, fmt.Errorf("set subscription status: %w", err)
	}
	o.Set("status", status)
	if errorText == "" {
		o.Delete("error")
	} else {
		o.Set("error", errorText)
	}
	return o.MarshalJSON()
}

// Matches reports whether a change fires the subscription, ignoring its
// Status and End (the engine only asks active subscriptions). interaction,
// previous and current are as in Topic.Triggered.
//
// KindCriteria: the current version matches Query, on create and update
// only; deletions do not fire criteria subscriptions (as in HAPI: R4
// applies criteria to "the new version of created or updated resources").
// KindTopic: the topic is Triggered and the focus (current, or previous on
// delete) satisfies every filter on its resource type; filters on other
// types do not apply. A topic missing from topics is ErrUnknownTopic.
func (s *Subscription) Matches(interaction string, previous, current []byte, topics TopicSet) (bool, error) {
	return s.MatchesTarget(interaction, target(previous), target(current), topics)
}

// MatchesTarget is Matches on prepared versions (nil for none): the engine
// prepares a write once and tries every candidate subscription on it.
func (s *Subscription) MatchesTarget(interaction string, previous, current *search.Target, topics TopicSet) (bool, error) {
	switch s.Kind {
	case KindCriteria:
		switch interaction {
		case InteractionCreate, InteractionUpdate:
		case InteractionDelete:
			return false, nil
		default:
			return false, fmt.Errorf("unknown interaction %q", interaction)
		}
		if current == nil {
			return false, nil
		}
		ok, err := s.Query.MatchTarget(current)
		if err != nil {
			return false, fmt.Errorf("match subscription %s: %w", s.ID, err)
		}
		return ok, nil
	case KindTopic:
		topic, ok := topics.Topic(s.TopicURL)
		if !ok {
			return false, fmt.Errorf("match subscription %s: %w: %s", s.ID, ErrUnknownTopic, s.TopicURL)
		}
		_, fired, err := topic.TriggeredTarget(interaction, previous, current)
		if err != nil || !fired {
			return false, err
		}
		focus := current
		if focus == nil {
			focus = previous
		}
		typ, err := resourceTypeOf(bytesOf(focus))
		if err != nil {
			return false, err
		}
		q := s.filterQueries[typ]
		if q == nil {
			return true, nil
		}
		ok, err = q.MatchTarget(focus)
		if err != nil {
			return false, fmt.Errorf("match subscription %s filters: %w", s.ID, err)
		}
		return ok, nil
	}
	return false, fmt.Errorf("subscription %s has no kind", s.ID)
}

// ResourceTypes returns the sorted resource types whose writes may fire
// the subscription: the criteria's type, or the topic's trigger types
// (none when the topic is unknown). An engine indexes subscriptions by
// these so that a write costs nothing for subscriptions on other types.
func (s *Subscription) ResourceTypes(topics TopicSet) []string {
	switch s.Kind {
	case KindCriteria:
		return []string{s.Query.Type}
	case KindTopic:
		if topics == nil {
			return nil
		}
		if t, ok := topics.Topic(s.TopicURL); ok {
			return t.ResourceTypes()
		}
	}
	return nil
}

// Pins returns the equalities a resource of type resourceType must satisfy
// to fire the subscription (see search.Query.Pins): the criteria's pins, or
// the pins of the topic filters on that type. None means every write of
// the type must be tried. Pins hold for the focus: the current version, or
// on a delete the previous one (criteria subscriptions never fire on
// delete), so an index looks a delete up by the deleted version's keys.
// Topic query criteria are not pinned, since a trigger may pass on its
// previous-state test alone.
func (s *Subscription) Pins(resourceType string) []search.Pin {
	switch s.Kind {
	case KindCriteria:
		if s.Query.Type == resourceType {
			return s.Query.Pins()
		}
	case KindTopic:
		if q := s.filterQueries[resourceType]; q != nil {
			return q.Pins()
		}
	}
	return nil
}

// FilterStrings returns the filters as backport-filter-criteria strings in
// the canonical Type.param[:modifier]=value form, for logs and tests.
func (s *Subscription) FilterStrings() []string {
	out := make([]string, 0, len(s.Filters))
	for _, f := range s.Filters {
		out = append(out, f.ResourceType+"."+f.key()+"="+f.Value)
	}
	return out
}

// matchable rejects the searches a write cannot be matched against on its
// own: chained parameters and _has refer to other resources.
func matchable(q *search.Query) error {
	if q.NeedsStore() {
		return &fhir.ValidationError{Code: fhir.IssueNotSupported,
			Msg: "chained parameters and _has cannot be used in subscription criteria or filters: a write is matched on its own"}
	}
	return nil
}
