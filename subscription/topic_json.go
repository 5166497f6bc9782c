package subscription

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
)

// This file holds the small JSON walker that ParseSubscription and
// ParseTopic share. The samply structs drop primitive extensions
// (_criteria, _payload), and encoding/json's type errors carry no array
// indices, so both parsers walk the raw JSON and report every problem with
// the FHIRPath-like path of the offending element.

// node is one JSON object being validated, with its path for errors.
type node struct {
	path string
	m    map[string]json.RawMessage
}

// parseNode decodes raw, which must be a JSON object, into a node at path.
func parseNode(raw json.RawMessage, path string) (node, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return node{}, fhir.Invalid(path, "must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return node{}, fhir.Invalid(path, "is not valid JSON: "+err.Error())
	}
	return node{path: path, m: m}, nil
}

// at returns the path of member key.
func (n node) at(key string) string {
	if n.path == "" {
		return key
	}
	return n.path + "." + key
}

// has reports whether member key is present (null counts as present, and
// the typed getters reject it).
func (n node) has(key string) bool {
	_, ok := n.m[key]
	return ok
}

// str returns member key as a string; present is false when it is absent.
func (n node) str(key string) (s string, present bool, err error) {
	raw, ok := n.m[key]
	if !ok {
		return "", false, nil
	}
	if err := decodeString(raw, &s); err != nil {
		return "", true, fhir.Invalid(n.at(key), "must be a string")
	}
	return s, true, nil
}

// requiredStr returns member key, which must be a non-blank string.
func (n node) requiredStr(key string) (string, error) {
	s, present, err := n.str(key)
	if err != nil {
		return "", err
	}
	if !present || strings.TrimSpace(s) == "" {
		return "", &fhir.ValidationError{Path: n.at(key), Msg: "is required", Code: fhir.IssueRequired}
	}
	return s, nil
}

// boolean returns member key as a JSON boolean (false when absent).
func (n node) boolean(key string) (bool, error) {
	raw, ok := n.m[key]
	if !ok {
		return false, nil
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fhir.Invalid(n.at(key), "must be true or false")
}

// obj returns member key as a node; present is false when it is absent.
func (n node) obj(key string) (c node, present bool, err error) {
	raw, ok := n.m[key]
	if !ok {
		return node{}, false, nil
	}
	c, err = parseNode(raw, n.at(key))
	return c, true, err
}

// arr returns member key as the raw elements of a JSON array (nil when
// absent).
func (n node) arr(key string) ([]json.RawMessage, error) {
	raw, ok := n.m[key]
	if !ok {
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	var a []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		return nil, fhir.Invalid(n.at(key), "must be a JSON array")
	}
	return a, nil
}

// objs returns member key as an array of objects, each with its indexed
// path (key[0], key[1], …).
func (n node) objs(key string) ([]node, error) {
	a, err := n.arr(key)
	if err != nil {
		return nil, err
	}
	out := make([]node, 0, len(a))
	for i, raw := range a {
		c, err := parseNode(raw, fmt.Sprintf("%s[%d]", n.at(key), i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// strs returns member key as an array of strings.
func (n node) strs(key string) ([]string, error) {
	a, err := n.arr(key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a))
	for i, raw := range a {
		var s string
		if err := decodeString(raw, &s); err != nil {
			return nil, fhir.Invalid(fmt.Sprintf("%s[%d]", n.at(key), i), "must be a string")
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeString decodes raw into s, refusing null (FHIR JSON has no nulls,
// and encoding/json would silently turn one into "").
func decodeString(raw json.RawMessage, s *string) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("not a string")
	}
	return json.Unmarshal(raw, s)
}

// extension is one element of an extension array.
type extension struct {
	node
	url string
}

// extensions returns the extension array of member key ("extension" or
// "modifierExtension"); every element must have a url.
func (n node) extensions(key string) ([]extension, error) {
	objs, err := n.objs(key)
	if err != nil {
		return nil, err
	}
	out := make([]extension, 0, len(objs))
	for _, o := range objs {
		u, err := o.requiredStr("url")
		if err != nil {
			return nil, err
		}
		out = append(out, extension{node: o, url: u})
	}
	return out, nil
}

// value returns the extension's value, which must be of the value[x] kind
// want (e.g. "valueString"); any other value[x] is an error naming the
// extension.
func (e extension) value(want string) (json.RawMessage, error) {
	if raw, ok := e.m[want]; ok {
		return raw, nil
	}
	for k := range e.m {
		if strings.HasPrefix(k, "value") {
			return nil, fhir.Invalid(e.path, fmt.Sprintf("%s must have %s, not %s", shortURL(e.url), want, k))
		}
	}
	return nil, &fhir.ValidationError{Path: e.path, Msg: fmt.Sprintf("%s must have %s", shortURL(e.url), want), Code: fhir.IssueRequired}
}

// stringValue returns the extension's value of kind want (valueString,
// valueCode, …) as a string.
func (e extension) stringValue(want string) (string, error) {
	raw, err := e.value(want)
	if err != nil {
		return "", err
	}
	var s string
	if err := decodeString(raw, &s); err != nil {
		return "", fhir.Invalid(e.at(want), "must be a string")
	}
	return s, nil
}

// intValue returns the extension's integer value of kind want, which must
// be at least min.
func (e extension) intValue(want string, min int64) (int64, error) {
	raw, err := e.value(want)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 32)
	if err != nil {
		return 0, fhir.Invalid(e.at(want), fmt.Sprintf("must be a JSON integer, not %s", truncate(string(raw), 40)))
	}
	if n < min {
		return 0, fhir.Invalid(e.at(want), fmt.Sprintf("must be at least %d, not %d", min, n))
	}
	return n, nil
}

// shortURL names an extension by the last segment of its URL in messages.
func shortURL(u string) string {
	if i := strings.LastIndexByte(u, '/'); i >= 0 && i < len(u)-1 {
		return u[i+1:]
	}
	return u
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
