package subhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// rewriteRefs copies the JSON document doc, replacing the value of every
// string member named "reference" (at any depth, in any array) by what
// resolve returns for it. resolve gets the member's path (such as
// "subject.reference" or "performer[0].reference") and value, and returns
// the value to write. Member order and every other value are kept; strings
// and numbers are re-encoded equivalently. changed reports whether any
// reference changed.
func rewriteRefs(doc []byte, resolve func(path, ref string) (string, error)) (out []byte, changed bool, err error) {
	return rewriteLinks(doc, resolve, nil)
}

// mayHoldLinks reports whether doc can hold a reference or a narrative
// link that a transaction rewrites: a local URN (urn:uuid:, urn:oid:) or a
// conditional reference (Patient?identifier=…). A string without an
// escape is in doc as it is, so a doc with none of "urn:", "?" and a
// backslash holds neither, and need not be walked token by token (a tenth
// of the CPU of a load of transaction Bundles whose references are all
// literal).
func mayHoldLinks(doc []byte) bool {
	return bytes.Contains(doc, []byte("urn:")) || bytes.ContainsAny(doc, `?\`)
}

// rewriteLinks is rewriteRefs that also rewrites the links of the
// narrative: in every "div" member, each href or src attribute whose value
// is a urn:uuid: or urn:oid: is replaced by what link returns for it (the
// value itself to keep it), as a transaction must (R4 http.html#trules).
func rewriteLinks(doc []byte, resolve func(path, ref string) (string, error), link func(urn string) string) (out []byte, changed bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var buf bytes.Buffer
	rw := &refWriter{dec: dec, buf: &buf, resolve: resolve, link: link}
	if err := rw.value("", ""); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), rw.changed, nil
}

type refWriter struct {
	dec     *json.Decoder
	buf     *bytes.Buffer
	resolve func(path, ref string) (string, error)
	link    func(urn string) string // nil: the narrative is kept as it is
	changed bool
}

// narrativeLink matches an href or src attribute holding a local URN; the
// groups are the attribute up to the quote, the quote, and the URN.
var narrativeLink = regexp.MustCompile(`((?:href|src)\s*=\s*)(["'])(urn:(?:uuid|oid):[^"'<>\s]+)(["'])`)

var errBadJSON = errors.New("malformed JSON")

// value copies one JSON value; key is the member name it is the value of
// (inherited by array elements), path its FHIRPath-like location.
func (rw *refWriter) value(path, key string) error {
	tok, err := rw.dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", errBadJSON, err)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			rw.buf.WriteByte('{')
			for first := true; rw.dec.More(); first = false {
				kt, err := rw.dec.Token()
				if err != nil {
					return fmt.Errorf("%w: %v", errBadJSON, err)
				}
				k, _ := kt.(string) // object keys are always strings
				if !first {
					rw.buf.WriteByte(',')
				}
				rw.writeString(k)
				rw.buf.WriteByte(':')
				sub := k
				if path != "" {
					sub = path + "." + k
				}
				if err := rw.value(sub, k); err != nil {
					return err
				}
			}
			rw.buf.WriteByte('}')
		case '[':
			rw.buf.WriteByte('[')
			for i := 0; rw.dec.More(); i++ {
				if i > 0 {
					rw.buf.WriteByte(',')
				}
				if err := rw.value(path+"["+strconv.Itoa(i)+"]", key); err != nil {
					return err
				}
			}
			rw.buf.WriteByte(']')
		}
		if v == '{' || v == '[' {
			// the closing delimiter
			if _, err := rw.dec.Token(); err != nil {
				return fmt.Errorf("%w: %v", errBadJSON, err)
			}
		}
	case string:
		switch {
		case key == "reference":
			nv, err := rw.resolve(path, v)
			if err != nil {
				return err
			}
			if nv != v {
				rw.changed = true
				v = nv
			}
		case key == "div" && rw.link != nil:
			nv := narrativeLink.ReplaceAllStringFunc(v, func(m string) string {
				g := narrativeLink.FindStringSubmatch(m)
				if g[2] != g[4] {
					return m // mismatched quotes: not an attribute value
				}
				return g[1] + g[2] + rw.link(g[3]) + g[4]
			})
			if nv != v {
				rw.changed = true
				v = nv
			}
		}
		rw.writeString(v)
	case json.Number:
		rw.buf.WriteString(v.String())
	case bool:
		rw.buf.WriteString(strconv.FormatBool(v))
	case nil:
		rw.buf.WriteString("null")
	}
	return nil
}

func (rw *refWriter) writeString(s string) {
	enc := json.NewEncoder(rw.buf)
	enc.SetEscapeHTML(false)          // keep "<div>" narrative readable
	enc.Encode(s)                     // a string always encodes
	rw.buf.Truncate(rw.buf.Len() - 1) // Encode appends a newline
}
