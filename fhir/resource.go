package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Extra resource types fhirbell serves beside the R4 ones. SubscriptionTopic
// is an R4B/R5 resource; the Subscriptions Backport IG lets R4 servers carry
// it, and fhirbell accepts it in the R4B/R5 JSON shape.
var extraResourceTypes = []string{"SubscriptionTopic"}

// resourceTypes is the sorted list of every concrete resource type served:
// the R4 resource-types value set (from the samply R4 models) less the
// abstract Resource and DomainResource, plus extraResourceTypes.
var resourceTypes = func() []string {
	var out []string
	for i := models.ResourceType(0); ; i++ {
		code := i.Code()
		if code == "<unknown>" {
			break
		}
		if code != "Resource" && code != "DomainResource" {
			out = append(out, code)
		}
	}
	out = append(out, extraResourceTypes...)
	slices.Sort(out)
	return out
}()

// ResourceTypes returns the sorted names of every resource type fhirbell
// serves. The caller must not modify the slice.
func ResourceTypes() []string { return resourceTypes }

// IsResourceType reports whether name is a concrete resource type fhirbell
// serves.
func IsResourceType(name string) bool {
	_, ok := slices.BinarySearch(resourceTypes, name)
	return ok
}

// ValidID reports whether id matches the R4 id rule [A-Za-z0-9\-\.]{1,64}.
// (A loop, not a regexp: it runs for every reference in every notification.)
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Object is a JSON object that remembers the order of its members, so that
// rewriting a resource (assigning id and meta) keeps the client's layout.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// ParseObject decodes b, which must be exactly one JSON object meeting the
// text rules of CheckText.
func ParseObject(b []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, Invalid("", "body is not valid JSON: "+jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, Invalid("", "body must be a JSON object")
	}
	o := &Object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, Invalid("", "body is not valid JSON: "+jsonErr(err))
		}
		key := tok.(string) // the decoder guarantees object keys are strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, Invalid(key, "not valid JSON: "+jsonErr(err))
		}
		if _, dup := o.vals[key]; dup {
			return nil, Invalid(key, "duplicate property")
		}
		o.keys = append(o.keys, key)
		o.vals[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, Invalid("", "body is not valid JSON: "+jsonErr(err))
	}
	if _, err := dec.Token(); err == nil {
		return nil, Invalid("", "body has data after the JSON object")
	}
	if err := CheckText(b); err != nil {
		return nil, err
	}
	return o, nil
}

func jsonErr(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}

// Keys returns the member names in order. The caller must not modify the
// slice.
func (o *Object) Keys() []string { return o.keys }

// Get returns the raw value of member key and whether it is present.
func (o *Object) Get(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// String returns member key as a JSON string; ok is false when the member is
// missing or not a string.
func (o *Object) String(key string) (s string, ok bool) {
	v, present := o.vals[key]
	if !present {
		return "", false
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// Set sets member key to the encoding of v, appending it if new. resourceType
// and id are kept first when added.
func (o *Object) Set(key string, v any) {
	b, err := Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fhir: marshal %s: %v", key, err)) // only our own values are set
	}
	o.SetRaw(key, b)
}

// SetRaw sets member key to the raw JSON value b.
func (o *Object) SetRaw(key string, b json.RawMessage) {
	if o.vals == nil {
		o.vals = map[string]json.RawMessage{} // the zero Object is an empty one
	}
	if _, ok := o.vals[key]; !ok {
		pos := len(o.keys)
		switch key {
		case "resourceType":
			pos = 0
		case "id", "meta":
			pos = 0
			for pos < len(o.keys) && (o.keys[pos] == "resourceType" || o.keys[pos] == "id") {
				pos++
			}
		}
		o.keys = slices.Insert(o.keys, pos, key)
	}
	o.vals[key] = b
}

// leadKeys are the members every resource fhirbell writes starts with, in
// this order, as HAPI, Medplum and Blaze write them; the others follow in
// the order the client sent them.
var leadKeys = [...]string{"resourceType", "id", "meta"}

// lead moves the members of leadKeys that are present to the front, in
// leadKeys order, keeping the order of the others.
func (o *Object) lead() {
	keys := make([]string, 0, len(o.keys))
	for _, k := range leadKeys {
		if _, ok := o.vals[k]; ok {
			keys = append(keys, k)
		}
	}
	for _, k := range o.keys {
		if !slices.Contains(leadKeys[:], k) {
			keys = append(keys, k)
		}
	}
	o.keys = keys
}

// Delete removes member key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
}

// MarshalJSON encodes the object with its members in order, compacted.
func (o *Object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(appendString(nil, k))
		buf.WriteByte(':')
		if err := json.Compact(&buf, o.vals[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Bytes is MarshalJSON for callers that know the object came from
// ParseObject (whose values are valid JSON) and so cannot fail.
func (o *Object) Bytes() []byte {
	b, err := o.MarshalJSON()
	if err != nil {
		panic("fhir: object holds invalid JSON: " + err.Error())
	}
	return b
}

// Resource is a parsed resource body: its type, its id (empty when the body
// has none) and its members.
type Resource struct {
	Type string
	ID   string
	Obj  *Object
}

// ParseResource decodes and checks a resource body: a JSON object whose
// resourceType is a type fhirbell serves and whose id, if present, is a
// valid id. It does not validate the resource against its profile.
func ParseResource(b []byte) (*Resource, error) {
	o, err := ParseObject(b)
	if err != nil {
		return nil, err
	}
	rt, ok := o.String("resourceType")
	if !ok {
		return nil, &ValidationError{Path: "resourceType", Msg: "missing or not a string", Code: IssueRequired}
	}
	if !IsResourceType(rt) {
		return nil, &ValidationError{Path: "resourceType", Msg: fmt.Sprintf("unknown resource type %q", rt), Code: IssueNotSupported}
	}
	r := &Resource{Type: rt, Obj: o}
	if raw, present := o.Get("id"); present {
		id, ok := o.String("id")
		if !ok || !ValidID(id) {
			return nil, Invalid("id", fmt.Sprintf("%s is not a valid id ([A-Za-z0-9-.]{1,64})", raw))
		}
		r.ID = id
	}
	if raw, present := o.Get("meta"); present {
		if len(raw) == 0 || raw[0] != '{' {
			return nil, Invalid("meta", "must be a JSON object")
		}
	}
	return r, nil
}

// Stamp sets the resource's id, meta.versionId and meta.lastUpdated (UTC,
// millisecond precision, as Postgres and FHIR instant can both hold it),
// keeping any other meta members, and returns the encoded body in the wire
// layout (WireResource): resourceType, id and meta first, the other
// members in the client's order, compact.
func (r *Resource) Stamp(id string, versionID int64, lastUpdated time.Time) []byte {
	r.ID = id
	r.Obj.Set("id", id)
	meta := &Object{vals: map[string]json.RawMessage{}}
	if raw, ok := r.Obj.Get("meta"); ok {
		if m, err := ParseObject(raw); err == nil {
			meta = m
		}
	}
	meta.Set("versionId", strconv.FormatInt(versionID, 10))
	meta.Set("lastUpdated", FormatInstant(lastUpdated))
	r.Obj.SetRaw("meta", meta.Bytes())
	r.Obj.lead()
	return r.Obj.Bytes()
}

// FormatInstant formats t as an R4 instant in UTC with millisecond precision.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
