package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
)

// In FHIR R4 SubscriptionTopic is not a resource type. The Backport IG
// (1.2) lets an R4 server publish each topic as a Basic resource whose code
// is fhir-types#SubscriptionTopic and whose elements are cross-version
// extensions: the R5 extension-SubscriptionTopic.<element> for the
// top-level primitives, the R4B extension-SubscriptionTopic.<element> for
// the backbone elements, status as a modifierExtension. fhirbell stores
// topics as SubscriptionTopic (for R4B/R5-aware clients) and derives their
// Basic form on read and search, so one stored resource has two views and
// no copy to keep in step.
const (
	// TopicBasicSystem and TopicBasicCode are Basic.code of a topic.
	TopicBasicSystem = "http://hl7.org/fhir/fhir-types"
	TopicBasicCode   = "SubscriptionTopic"
	// TopicBasicProfile is the profile such a Basic claims.
	TopicBasicProfile = "http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic"

	xver5  = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic."
	xver43 = "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic."
)

// topicPrimitives are the top-level SubscriptionTopic elements written as R5
// cross-version extensions, with their value[x] type; status is the
// modifierExtension.
var topicPrimitives = []struct{ name, value string }{
	{"url", "valueUri"},
	{"version", "valueString"},
	{"name", "valueString"},
	{"title", "valueString"},
	{"derivedFrom", "valueCanonical"},
	{"experimental", "valueBoolean"},
	{"date", "valueDateTime"},
	{"publisher", "valueString"},
	{"description", "valueMarkdown"},
	{"purpose", "valueMarkdown"},
	{"copyright", "valueMarkdown"},
	{"approvalDate", "valueDate"},
	{"lastReviewDate", "valueDate"},
}

// topicBackbones are the backbone elements written as R4B cross-version
// extensions, each sub-element with its value[x] type ("" for a nested
// backbone, whose sub-elements are in topicNested).
var topicBackbones = []struct {
	name  string
	parts map[string]string
}{
	{"resourceTrigger", map[string]string{"description": "valueMarkdown", "resource": "valueUri", "supportedInteraction": "valueCode", "queryCriteria": "", "fhirPathCriteria": "valueString"}},
	{"eventTrigger", map[string]string{"description": "valueMarkdown", "event": "valueCodeableConcept", "resource": "valueUri"}},
	{"canFilterBy", map[string]string{"description": "valueMarkdown", "resource": "valueUri", "filterParameter": "valueString", "filterDefinition": "valueUri", "comparator": "valueCode", "modifier": "valueCode"}},
	{"notificationShape", map[string]string{"resource": "valueUri", "include": "valueString", "revInclude": "valueString"}},
}

var topicNested = map[string]map[string]string{
	"queryCriteria": {"previous": "valueString", "resultForCreate": "valueCode", "current": "valueString", "resultForDelete": "valueCode", "requireBoth": "valueBoolean"},
}

type ext map[string]any

// TopicBasic returns the R4 Basic form of a stored SubscriptionTopic (its
// JSON, meta included): same id and meta (a profile added), code
// fhir-types#SubscriptionTopic, and every element the IG maps as an
// extension. Elements fhirbell does not know are left out. The error
// reports a body that is not a SubscriptionTopic object.
func TopicBasic(topic []byte) ([]byte, error) {
	var t map[string]json.RawMessage
	if err := json.Unmarshal(topic, &t); err != nil {
		return nil, fmt.Errorf("topic basic: %w", err)
	}
	var rt string
	if json.Unmarshal(t["resourceType"], &rt); rt != "SubscriptionTopic" {
		return nil, fmt.Errorf("topic basic: resourceType %q, want SubscriptionTopic", rt)
	}
	out := map[string]any{"resourceType": "Basic"}
	if id, ok := t["id"]; ok {
		out["id"] = id
	}
	meta := map[string]any{}
	if raw, ok := t["meta"]; ok {
		json.Unmarshal(raw, &meta)
	}
	profiles, _ := meta["profile"].([]any)
	meta["profile"] = append(slices.DeleteFunc(profiles, func(p any) bool { return p == TopicBasicProfile }), TopicBasicProfile)
	out["meta"] = meta
	var exts []ext
	for _, p := range topicPrimitives {
		raw, ok := t[p.name]
		if !ok {
			continue
		}
		var vals []any
		if json.Unmarshal(raw, &vals) != nil { // derivedFrom is 0..*; the rest 0..1
			var v any
			json.Unmarshal(raw, &v)
			vals = []any{v}
		}
		for _, v := range vals {
			exts = append(exts, ext{"url": xver5 + p.name, p.value: v})
		}
	}
	for _, bb := range topicBackbones {
		var items []map[string]any
		if raw, ok := t[bb.name]; ok {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("topic basic: %s: %w", bb.name, err)
			}
		}
		for _, item := range items {
			if e := backboneExt(item, bb.parts); len(e) > 0 {
				exts = append(exts, ext{"url": xver43 + bb.name, "extension": e})
			}
		}
	}
	if len(exts) > 0 {
		out["extension"] = exts
	}
	var status string
	if json.Unmarshal(t["status"], &status); status != "" {
		out["modifierExtension"] = []ext{{"url": xver5 + "status", "valueCode": status}}
	}
	out["code"] = map[string]any{"coding": []map[string]string{{"system": TopicBasicSystem, "code": TopicBasicCode}}}
	return json.Marshal(out)
}

// backboneExt writes one backbone element's sub-elements as extensions, in
// a stable order (the order of the R5 element definitions would need a
// table per element; sorted names are as stable and as valid).
func backboneExt(item map[string]any, parts map[string]string) []ext {
	names := make([]string, 0, len(item))
	for k := range item {
		if _, known := parts[k]; known {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var out []ext
	for _, k := range names {
		vals, ok := item[k].([]any)
		if !ok {
			vals = []any{item[k]}
		}
		for _, v := range vals {
			if parts[k] == "" {
				obj, _ := v.(map[string]any)
				if sub := backboneExt(obj, topicNested[k]); len(sub) > 0 {
					out = append(out, ext{"url": k, "extension": sub})
				}
				continue
			}
			out = append(out, ext{"url": k, parts[k]: v})
		}
	}
	return out
}

// topicBasic returns the Basic form of the stored SubscriptionTopic id.
func (s *Service) topicBasic(ctx context.Context, id string) (Resource, error) {
	res, err := s.store.Read(ctx, "SubscriptionTopic", id)
	if err != nil {
		if errors.Is(err, ErrGone) {
			return Resource{Type: "Basic", ID: id, VersionID: res.VersionID, LastUpdated: res.LastUpdated, Deleted: true}, err
		}
		return Resource{}, fmt.Errorf("read topic basic %s: %w", id, ErrNotFound)
	}
	return basicOf(res)
}

// topicBasics returns the Basic form of every stored SubscriptionTopic that
// q matches and the caller may see.
func (s *Service) topicBasics(ctx context.Context, q *search.Query) ([]Resource, error) {
	all, err := search.ParseQuery("SubscriptionTopic", nil)
	if err != nil {
		return nil, err
	}
	page, err := s.store.Find(ctx, all, maxTopicBasics)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, t := range page.Matches {
		b, err := basicOf(t)
		if err != nil {
			continue // not a topic fhirbell can map: it is served as SubscriptionTopic only
		}
		ok, err := q.Match(b.Body)
		if err != nil {
			return nil, err
		}
		if ok && visible(ctx, "Basic", b.Body) {
			out = append(out, b)
		}
	}
	return out, nil
}

// maxTopicBasics bounds the topics a Basic search lists.
const maxTopicBasics = 1000

func basicOf(t Resource) (Resource, error) {
	body, err := TopicBasic(t.Body)
	if err != nil {
		return Resource{}, err
	}
	return Resource{Type: "Basic", ID: t.ID, VersionID: t.VersionID, LastUpdated: t.LastUpdated, Body: body}, nil
}

// checkBasic refuses a Basic write that would stand for a topic: the Basic
// form of topics is derived, so a topic is written as SubscriptionTopic, and
// a stored Basic may not take a topic's id (it would hide its Basic form).
func (w *Writer) checkBasic(ctx context.Context, r *fhir.Resource) error {
	var b struct {
		Code struct {
			Coding []struct{ System, Code string } `json:"coding"`
		} `json:"code"`
	}
	json.Unmarshal(r.Obj.Bytes(), &b)
	for _, c := range b.Code.Coding {
		if c.System == TopicBasicSystem && c.Code == TopicBasicCode {
			return &fhir.ValidationError{Path: "Basic.code", Code: fhir.IssueNotSupported,
				Msg: "topics are written as SubscriptionTopic (POST /fhir/SubscriptionTopic); their Basic form is derived from it"}
		}
	}
	if r.ID != "" {
		if _, err := w.tx.Read(ctx, "SubscriptionTopic", r.ID); err == nil {
			return &fhir.ValidationError{Path: "Basic.id", Code: fhir.IssueConflict,
				Msg: fmt.Sprintf("Basic/%s is the Basic form of SubscriptionTopic/%s", r.ID, r.ID)}
		}
	}
	return nil
}
