package subscription

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// The R5 form of a Subscription. fhirbell has one subscription model, the
// R4 Backport IG form that ParseSubscription reads and the stores keep; an
// R5 client's Subscription is translated into it on the way in
// (SubscriptionFromR5) and back on the way out (SubscriptionToR5). The
// translation is pure (no topic lookup), so validation stays in one place:
// ParseSubscription judges the translated body, and R5Paths names the R5
// element each of its error paths came from.
//
// R5 element           stored R4 (Backport IG) element
// topic                criteria
// filterBy[i]          _criteria.extension[i] backport-filter-criteria "Type.param[:modifier]=[prefix]value"
// channelType          channel.type (the code; only the subscription-channel-type system)
// endpoint             channel.endpoint
// parameter[i]         channel.header[i] "name: value"
// heartbeatPeriod      channel.extension backport-heartbeat-period
// timeout              channel.extension backport-timeout
// maxCount             channel.extension backport-max-count
// contentType          channel.payload, with fhirVersion=5.0 added unless it names a version
// content              channel._payload.extension backport-payload-content
// name, identifier,    extension https://fhirbell.dev/fhir/StructureDefinition/r5-Subscription.name, .identifier,
// managingEntity       .managingEntity (fhirbell's: the Backport IG says an R4 Subscription SHOULD NOT carry
//                      cross-version extensions, and fhirbell refuses them from clients, see rejectCrossVersion)
// status, end, reason, contact, and the resource and domain-resource elements are the same in both.

const (
	// ChannelTypeSystem is the code system of R5 Subscription.channelType.
	ChannelTypeSystem = "http://terminology.hl7.org/CodeSystem/subscription-channel-type"
	// channelTypeSystemR4 is R4's code system for the same codes, which
	// clients also send.
	channelTypeSystemR4 = "http://hl7.org/fhir/subscription-channel-type"
	// r5Element prefixes the extensions that keep, in the stored form, the
	// R5 Subscription elements R4 has no place for.
	r5Element = "https://fhirbell.dev/fhir/StructureDefinition/r5-Subscription."
	// ExtCriteria carries, in the R5 form of a criteria Subscription (which
	// R5 cannot express: it has no criteria), the R4 criteria search.
	ExtCriteria = "https://fhirbell.dev/fhir/StructureDefinition/subscription-criteria"
)

// r5Elements are the members an R5 Subscription may have.
var r5Elements = []string{
	"resourceType", "id", "meta", "implicitRules", "_implicitRules", "language", "_language", "text", "contained",
	"extension", "modifierExtension", "identifier", "name", "status", "_status", "topic", "_topic", "contact",
	"end", "_end", "managingEntity", "reason", "_reason", "filterBy", "channelType", "endpoint", "parameter",
	"heartbeatPeriod", "timeout", "contentType", "content", "maxCount",
}

// r5Comparators are the R5 filterBy.comparator codes, which are the search
// prefixes of ordered parameters.
var r5Comparators = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

// R5Paths maps the element paths of a translated body back to the R5
// elements they came from, so that an error ParseSubscription reports on
// the stored form names what the R5 client sent.
type R5Paths struct {
	pairs [][2]string // stored-form path prefix, R5 path
}

func (p *R5Paths) add(stored, r5 string) { p.pairs = append(p.pairs, [2]string{stored, r5}) }

// Path returns the R5 path of a stored-form path: the R5 element of the
// longest mapped prefix (the rest of the path is dropped, since below the
// mapped element the two forms differ), or path itself when nothing maps.
func (p *R5Paths) Path(path string) string {
	best, r5 := -1, path
	for _, pr := range p.pairs {
		pre := pr[0]
		if !strings.HasPrefix(path, pre) || len(pre) <= best {
			continue
		}
		if rest := path[len(pre):]; rest != "" && rest[0] != '.' && rest[0] != '[' {
			continue
		}
		best, r5 = len(pre), pr[1]
	}
	return r5
}

// Error returns err with the path of every validation error it holds
// translated by Path; other errors are returned as they are.
func (p *R5Paths) Error(err error) error {
	if p == nil || err == nil {
		return err
	}
	es, ok := fhir.AsValidation(err)
	if !ok {
		return err
	}
	out := make(fhir.ValidationErrors, len(es))
	for i, e := range es {
		out[i] = &fhir.ValidationError{Path: p.Path(e.Path), Msg: e.Msg, Code: e.Code}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// SubscriptionFromR5 translates an R5 Subscription body into the stored R4
// form (see the table above) and returns the paths to report its errors
// with. It checks what the translation needs: the JSON types of the R5
// elements, that no R4-only element (criteria, channel, error) or unknown
// member is present, filterBy's rules (filterParameter and value 1..1, not
// both comparator and modifier, a comparator other than eq only on a number,
// date or quantity parameter of a named resource type), and that
// channelType is from the subscription-channel-type system. Everything else
// (status, the topic, the filters against it, the channel, the numbers) is
// ParseSubscription's to judge. Errors are *fhir.ValidationError with R5
// paths.
func SubscriptionFromR5(body []byte) ([]byte, *R5Paths, error) {
	in, err := fhir.ParseObject(body)
	if err != nil {
		return nil, nil, err
	}
	root, err := parseNode(body, "Subscription")
	if err != nil {
		return nil, nil, err
	}
	if rt, _, _ := root.str("resourceType"); rt != "Subscription" {
		return nil, nil, fhir.Invalid("resourceType", fmt.Sprintf("must be Subscription, not %q", rt))
	}
	for _, k := range in.Keys() {
		switch {
		case slices.Contains(r5Elements, k):
		case k == "criteria" || k == "channel" || k == "error" || k == "_criteria":
			return nil, nil, fhir.Invalid(root.at(k), "is an R4 element, and this is the R5 endpoint: give topic, filterBy, channelType, endpoint, contentType and content (R5), or send this Subscription to the R4 endpoint")
		default:
			return nil, nil, fhir.Invalid(root.at(k), "is not an element of an R5 Subscription")
		}
	}
	paths := &R5Paths{}
	out, _ := fhir.ParseObject([]byte(`{"resourceType":"Subscription"}`))
	for _, k := range []string{"id", "meta", "implicitRules", "_implicitRules", "language", "_language", "text", "contained", "modifierExtension"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}
	// Root extensions: the client's, then fhirbell's for the R5 elements R4
	// lacks.
	var exts []json.RawMessage
	if _, err := root.arr("extension"); err != nil {
		return nil, nil, err
	}
	if v, ok := in.Get("extension"); ok {
		_ = json.Unmarshal(v, &exts) // an array, checked above
	}
	r5Only := func(elem, valueKey string, v json.RawMessage) {
		paths.add(fmt.Sprintf("Subscription.extension[%d]", len(exts)), "Subscription."+elem)
		exts = append(exts, mustJSON(map[string]json.RawMessage{"url": mustJSON(r5Element + elem), valueKey: v}))
	}
	if v, ok := in.Get("name"); ok {
		if _, _, err := root.str("name"); err != nil {
			return nil, nil, err
		}
		r5Only("name", "valueString", v)
	}
	if _, err := root.objs("identifier"); err != nil {
		return nil, nil, err
	}
	if v, ok := in.Get("identifier"); ok {
		var ids []json.RawMessage
		_ = json.Unmarshal(v, &ids)
		for _, id := range ids {
			r5Only("identifier", "valueIdentifier", id)
		}
	}
	if v, ok := in.Get("managingEntity"); ok {
		if _, _, err := root.obj("managingEntity"); err != nil {
			return nil, nil, err
		}
		r5Only("managingEntity", "valueReference", v)
	}
	if len(exts) > 0 {
		out.SetRaw("extension", mustJSON(exts))
	}
	for _, k := range []string{"status", "_status", "contact", "end", "_end", "reason", "_reason"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}

	// topic and filterBy → criteria and _criteria.
	topic, present, err := root.str("topic")
	if err != nil {
		return nil, nil, err
	}
	if !present || strings.TrimSpace(topic) == "" {
		return nil, nil, &fhir.ValidationError{Path: "Subscription.topic", Code: fhir.IssueRequired,
			Msg: "is required: the canonical URL of a SubscriptionTopic (GET [base]/SubscriptionTopic lists them)"}
	}
	out.Set("criteria", topic)
	paths.add("Subscription.criteria", "Subscription.topic")
	paths.add("Subscription._criteria", "Subscription.filterBy")
	filters, err := root.objs("filterBy")
	if err != nil {
		return nil, nil, err
	}
	var critExts []json.RawMessage
	for i, f := range filters {
		s, err := filterFromR5(f)
		if err != nil {
			return nil, nil, err
		}
		paths.add(fmt.Sprintf("Subscription._criteria.extension[%d]", i), f.path)
		critExts = append(critExts, mustJSON(map[string]string{"url": ExtFilterCriteria, "valueString": s}))
	}
	if tn, present, err := root.obj("_topic"); err != nil {
		return nil, nil, err
	} else if present {
		if len(tn.m) != 1 || !tn.has("extension") {
			return nil, nil, fhir.Invalid("Subscription._topic", "may hold extensions only")
		}
		te, err := tn.arr("extension")
		if err != nil {
			return nil, nil, err
		}
		for j := range te {
			paths.add(fmt.Sprintf("Subscription._criteria.extension[%d]", len(critExts)), fmt.Sprintf("Subscription._topic.extension[%d]", j))
			critExts = append(critExts, te[j])
		}
	}
	if len(critExts) > 0 {
		out.SetRaw("_criteria", mustJSON(map[string]any{"extension": critExts}))
	}

	// The channel elements → channel.
	ch, err := channelFromR5(root, paths)
	if err != nil {
		return nil, nil, err
	}
	out.SetRaw("channel", ch.Bytes())
	return out.Bytes(), paths, nil
}

// filterFromR5 returns one R5 filterBy as a backport-filter-criteria string.
func filterFromR5(f node) (string, error) {
	for k := range f.m {
		switch k {
		case "id", "extension", "modifierExtension", "resourceType", "resource", "filterParameter", "comparator", "modifier", "value":
		default:
			return "", fhir.Invalid(f.at(k), "is not an element of Subscription.filterBy")
		}
	}
	if f.has("modifierExtension") {
		return "", &fhir.ValidationError{Path: f.at("modifierExtension"), Code: fhir.IssueNotSupported, Msg: "modifier extensions are not supported"}
	}
	typ, _, err := f.str("resourceType")
	if err != nil {
		return "", err
	}
	if typ == "" { // the R6 name of the element
		if typ, _, err = f.str("resource"); err != nil {
			return "", err
		}
	}
	if typ != "" {
		if typ, err = resourceName(typ, f.at("resourceType")); err != nil {
			return "", err
		}
	}
	param, err := f.requiredStr("filterParameter")
	if err != nil {
		return "", err
	}
	value, present, err := f.str("value")
	if err != nil {
		return "", err
	}
	if !present || value == "" {
		return "", &fhir.ValidationError{Path: f.at("value"), Code: fhir.IssueRequired, Msg: "is required"}
	}
	comparator, _, err := f.str("comparator")
	if err != nil {
		return "", err
	}
	modifier, _, err := f.str("modifier")
	if err != nil {
		return "", err
	}
	if comparator != "" && modifier != "" {
		return "", fhir.Invalid(f.path, "has both comparator and modifier (R5 scr-1 allows one)")
	}
	if comparator != "" && !slices.Contains(r5Comparators, comparator) {
		return "", fhir.Invalid(f.at("comparator"), fmt.Sprintf("unknown comparator %q (%s)", comparator, strings.Join(r5Comparators, " | ")))
	}
	if comparator == "eq" {
		comparator = ""
	}
	if comparator != "" {
		if typ == "" {
			return "", &fhir.ValidationError{Path: f.at("comparator"), Code: fhir.IssueNotSupported,
				Msg: "a comparator needs filterBy.resourceType, to know that " + param + " is a number, date or quantity"}
		}
		if !orderedParam(typ, param) {
			return "", &fhir.ValidationError{Path: f.at("comparator"), Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("comparator %s applies to number, date and quantity parameters, and %s.%s is none", comparator, typ, param)}
		}
	}
	key := url.QueryEscape(param)
	if typ != "" {
		key = typ + "." + key
	}
	if modifier != "" {
		key += ":" + url.QueryEscape(modifier)
	}
	return key + "=" + comparator + url.QueryEscape(value), nil
}

// orderedParam reports whether param is a search parameter of typ that
// takes comparison prefixes (number, date, quantity).
func orderedParam(typ, param string) bool {
	for _, p := range search.SearchParams(typ) {
		if p.Code == param {
			return p.Type == "number" || p.Type == "date" || p.Type == "quantity"
		}
	}
	return false
}

// channelFromR5 builds the stored channel from the R5 channel elements.
func channelFromR5(root node, paths *R5Paths) (*fhir.Object, error) {
	ch, _ := fhir.ParseObject([]byte(`{}`))
	var exts []json.RawMessage
	for _, e := range []struct{ elem, url, valueKey string }{
		{"heartbeatPeriod", ExtHeartbeatPeriod, "valueUnsignedInt"},
		{"timeout", ExtTimeout, "valueUnsignedInt"},
		{"maxCount", ExtMaxCount, "valuePositiveInt"},
	} {
		v, ok := root.m[e.elem]
		if !ok {
			continue
		}
		if t := strings.TrimSpace(string(v)); t == "" || t[0] == '"' || t[0] == '{' || t[0] == '[' {
			return nil, fhir.Invalid(root.at(e.elem), "must be a JSON integer")
		}
		paths.add(fmt.Sprintf("Subscription.channel.extension[%d]", len(exts)), root.at(e.elem))
		exts = append(exts, mustJSON(map[string]json.RawMessage{"url": mustJSON(e.url), e.valueKey: v}))
	}
	if len(exts) > 0 {
		ch.SetRaw("extension", mustJSON(exts))
	}

	ct, present, err := root.obj("channelType")
	if err != nil {
		return nil, err
	}
	if !present {
		return nil, &fhir.ValidationError{Path: "Subscription.channelType", Code: fhir.IssueRequired,
			Msg: "is required, e.g. {\"system\":\"" + ChannelTypeSystem + "\",\"code\":\"websocket\"}"}
	}
	sys, _, err := ct.str("system")
	if err != nil {
		return nil, err
	}
	code, err := ct.requiredStr("code")
	if err != nil {
		return nil, err
	}
	if sys != "" && sys != ChannelTypeSystem && sys != channelTypeSystemR4 {
		return nil, &fhir.ValidationError{Path: "Subscription.channelType", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("custom channel type %s|%s is not supported; fhirbell delivers websocket and rest-hook (%s) only", sys, code, ChannelTypeSystem)}
	}
	ch.Set("type", code)
	paths.add("Subscription.channel.type", "Subscription.channelType")
	paths.add("Subscription.channel._type", "Subscription.channelType")
	paths.add("Subscription.channel", "Subscription.channelType")

	if v, ok := root.m["endpoint"]; ok {
		if _, _, err := root.str("endpoint"); err != nil {
			return nil, err
		}
		ch.SetRaw("endpoint", v)
	}
	paths.add("Subscription.channel.endpoint", "Subscription.endpoint")

	contentType, ctPresent, err := root.str("contentType")
	if err != nil {
		return nil, err
	}
	payload := contentType
	if !ctPresent {
		payload = "application/fhir+json"
	}
	if _, params, err := mime.ParseMediaType(payload); err == nil {
		if _, named := params["fhirversion"]; !named {
			payload += "; fhirVersion=" + fhir.R5.String()
		}
	} // a MIME type that does not parse is ParseSubscription's to refuse
	ch.Set("payload", payload)
	paths.add("Subscription.channel.payload", "Subscription.contentType")
	content, present, err := root.str("content")
	if err != nil {
		return nil, err
	}
	if !present {
		// R5 leaves the default open; fhirbell's R4 rule for a topic
		// Subscription: a payload type asks for the resource, none for none.
		content = ContentEmpty
		if ctPresent {
			content = ContentFullResource
		}
	}
	ch.SetRaw("_payload", mustJSON(map[string]any{"extension": []map[string]string{{"url": ExtPayloadContent, "valueCode": content}}}))
	paths.add("Subscription.channel._payload", "Subscription.content")

	params, err := root.objs("parameter")
	if err != nil {
		return nil, err
	}
	var headers []string
	for i, p := range params {
		name, err := p.requiredStr("name")
		if err != nil {
			return nil, err
		}
		value, _, err := p.str("value")
		if err != nil {
			return nil, err
		}
		paths.add(fmt.Sprintf("Subscription.channel.header[%d]", i), p.path)
		headers = append(headers, name+": "+value)
	}
	if len(headers) > 0 {
		ch.Set("header", headers)
	}
	paths.add("Subscription.channel.header", "Subscription.parameter")
	return ch, nil
}

// SubscriptionToR5 returns the R5 form of a stored Subscription body (the
// inverse of SubscriptionFromR5 for what it wrote). A criteria
// Subscription, which R5 cannot express, has no topic and carries its
// criteria in an ExtCriteria extension. Subscription.error has no R5
// element and is left out ($status reports it); channel extensions other
// than the Backport IG's are left out too.
func SubscriptionToR5(body []byte) ([]byte, error) {
	in, err := fhir.ParseObject(body)
	if err != nil {
		return nil, err
	}
	root, err := parseNode(body, "Subscription")
	if err != nil {
		return nil, err
	}
	out, _ := fhir.ParseObject([]byte(`{"resourceType":"Subscription"}`))
	for _, k := range []string{"id", "meta", "implicitRules", "_implicitRules", "language", "_language", "text", "contained"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}
	var exts, ids []json.RawMessage
	var name, managing json.RawMessage
	rootExts, err := root.objs("extension")
	if err != nil {
		return nil, err
	}
	for _, e := range rootExts {
		u, _, _ := e.str("url")
		switch u {
		case r5Element + "name":
			name = e.m["valueString"]
		case r5Element + "identifier":
			ids = append(ids, e.m["valueIdentifier"])
		case r5Element + "managingEntity":
			managing = e.m["valueReference"]
		default:
			exts = append(exts, mustJSON(e.m))
		}
	}
	criteria, _, err := root.str("criteria")
	if err != nil {
		return nil, err
	}
	if !isCanonical(criteria) {
		exts = append(exts, mustJSON(map[string]string{"url": ExtCriteria, "valueString": criteria}))
	}
	if len(exts) > 0 {
		out.SetRaw("extension", mustJSON(exts))
	}
	if v, ok := in.Get("modifierExtension"); ok {
		out.SetRaw("modifierExtension", v)
	}
	if len(ids) > 0 {
		out.SetRaw("identifier", mustJSON(ids))
	}
	if name != nil {
		out.SetRaw("name", name)
	}
	for _, k := range []string{"status", "_status"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}
	var filterBy []map[string]string
	var topicExts []json.RawMessage
	if isCanonical(criteria) {
		out.Set("topic", criteria)
		if cn, present, err := root.obj("_criteria"); err != nil {
			return nil, err
		} else if present {
			ces, err := cn.objs("extension")
			if err != nil {
				return nil, err
			}
			for _, e := range ces {
				if u, _, _ := e.str("url"); u != ExtFilterCriteria {
					topicExts = append(topicExts, mustJSON(e.m))
					continue
				}
				s, _, _ := e.str("valueString")
				filterBy = append(filterBy, filtersToR5(s)...)
			}
		}
		if len(topicExts) > 0 {
			out.SetRaw("_topic", mustJSON(map[string]any{"extension": topicExts}))
		}
	}
	for _, k := range []string{"contact", "end", "_end"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}
	if managing != nil {
		out.SetRaw("managingEntity", managing)
	}
	for _, k := range []string{"reason", "_reason"} {
		if v, ok := in.Get(k); ok {
			out.SetRaw(k, v)
		}
	}
	if len(filterBy) > 0 {
		out.Set("filterBy", filterBy)
	}
	ch, _, err := root.obj("channel")
	if err != nil {
		return nil, err
	}
	typ, _, _ := ch.str("type")
	out.Set("channelType", map[string]string{"system": ChannelTypeSystem, "code": typ})
	if v, ok := ch.m["endpoint"]; ok {
		out.SetRaw("endpoint", v)
	}
	headers, _ := ch.strs("header")
	var params []map[string]string
	for _, h := range headers {
		n, v, _ := strings.Cut(h, ":")
		params = append(params, map[string]string{"name": strings.TrimSpace(n), "value": strings.TrimSpace(v)})
	}
	if len(params) > 0 {
		out.Set("parameter", params)
	}
	chExts, _ := ch.extensions("extension")
	for _, e := range chExts {
		switch e.url {
		case ExtHeartbeatPeriod:
			if v, ok := e.m["valueUnsignedInt"]; ok {
				out.SetRaw("heartbeatPeriod", v)
			}
		case ExtTimeout:
			if v, ok := e.m["valueUnsignedInt"]; ok {
				out.SetRaw("timeout", v)
			}
		}
	}
	payload, _, _ := ch.str("payload")
	if payload != "" {
		out.Set("contentType", r5ContentType(payload))
	}
	out.Set("content", storedContent(ch, isCanonical(criteria), payload))
	for _, e := range chExts {
		if e.url == ExtMaxCount {
			if v, ok := e.m["valuePositiveInt"]; ok {
				out.SetRaw("maxCount", v)
			}
		}
	}
	return out.Bytes(), nil
}

// r5ContentType is channel.payload as R5 contentType: without the
// fhirVersion=5.0 that SubscriptionFromR5 added (an R5 client did not
// write it), with any other fhirVersion kept (the notifications are in
// that version).
func r5ContentType(payload string) string {
	mt, params, err := mime.ParseMediaType(payload)
	if err != nil {
		return payload
	}
	if v, ok := fhir.ParseVersion(params["fhirversion"]); !ok || v != fhir.R5 {
		return payload
	}
	delete(params, "fhirversion")
	return mime.FormatMediaType(mt, params)
}

// storedContent is the content level a stored channel gives, with
// ParseSubscription's defaults.
func storedContent(ch node, topic bool, payload string) string {
	if pn, present, _ := ch.obj("_payload"); present {
		exts, _ := pn.extensions("extension")
		for _, e := range exts {
			if e.url == ExtPayloadContent {
				if c, err := e.stringValue("valueCode"); err == nil {
					return c
				}
			}
		}
	}
	if topic && payload == "" {
		return ContentEmpty
	}
	return ContentFullResource
}

// filtersToR5 reads one backport-filter-criteria string (any form
// parseFilters accepts) as R5 filterBy elements. A value with a comparison
// prefix on an ordered parameter of a named type gives comparator and the
// bare value.
func filtersToR5(s string) []map[string]string {
	s = strings.TrimSpace(s)
	urlType := ""
	if before, after, ok := strings.Cut(s, "?"); ok && !strings.Contains(before, "=") {
		urlType, s = before, after
	}
	var out []map[string]string
	for term := range strings.SplitSeq(s, "&") {
		rawKey, rawVal, ok := strings.Cut(term, "=")
		if !ok || rawKey == "" {
			continue
		}
		key, err1 := url.QueryUnescape(rawKey)
		val, err2 := url.QueryUnescape(rawVal)
		if err1 != nil || err2 != nil {
			continue
		}
		typ := urlType
		if t, rest, ok := strings.Cut(key, "."); ok && fhir.IsResourceType(t) {
			typ, key = t, rest
		}
		param, mod, _ := strings.Cut(key, ":")
		f := map[string]string{"filterParameter": param}
		if typ != "" {
			f["resourceType"] = typ
		}
		if mod != "" {
			f["modifier"] = mod
		}
		if len(val) > 2 && typ != "" && slices.Contains(r5Comparators, val[:2]) && orderedParam(typ, param) {
			f["comparator"], val = val[:2], val[2:]
		}
		f["value"] = val
		out = append(out, f)
	}
	return out
}

// mustJSON marshals values built here from decoded JSON, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("subscription: marshal: " + err.Error())
	}
	return b
}
