package fhir

import (
	"bytes"
	"encoding/json"
)

// The wire layout is how fhirbell writes JSON, the way HAPI, Medplum, Aidbox
// and Blaze do: compact (no insignificant whitespace), a resource's
// resourceType, id and meta first and its other members in the order the
// client sent them, and no HTML escaping (encoding/json's default writes &
// as \u0026, which is valid JSON but turns every paging link and
// conditional reference into noise). Marshal owns the encoding of the
// values fhirbell builds (Bundles, OperationOutcomes, the
// CapabilityStatement); WireResource owns the layout of stored resources.

// Marshal encodes v as compact JSON without HTML escaping. A json.RawMessage
// inside v is compacted as it is.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// wirePrefix is how every body in the wire layout starts.
var wirePrefix = []byte(`{"resourceType":`)

// WireResource returns the resource body b in the wire layout. Bodies
// written by Stamp already are, and are returned as they are (a prefix
// check, so that reads and searches copy nothing). Anything else is
// re-laid: a body a store kept in its own member order (rows written
// before the Postgres store kept the client's text), or one derived on
// read. A b that is not a JSON object is returned unchanged.
func WireResource(b []byte) []byte {
	if bytes.HasPrefix(b, wirePrefix) {
		return b
	}
	o, err := parseObjectFast(b)
	if err != nil {
		return b
	}
	o.lead()
	out, err := o.MarshalJSON()
	if err != nil {
		return b
	}
	return out
}

// ParseStoredObject is ParseObject without the text checks and the
// duplicate check, for bodies that passed them when they were written
// (stored resources, on the way out).
func ParseStoredObject(b []byte) (*Object, error) { return parseObjectFast(b) }

func parseObjectFast(b []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, Invalid("", "not a JSON object")
	}
	o := &Object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := o.vals[key]; !dup {
			o.keys = append(o.keys, key)
		}
		o.vals[key] = v
	}
	return o, nil
}
