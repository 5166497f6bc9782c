package validate

import "strings"

// Repeats reports whether the element at path under resource type typ
// (element names, such as "name", "given") is a list (max cardinality
// above one), as the R4 schema defines it; known is false when the schema
// has no such element. FHIRPath Patch needs it to add to an element that
// is absent.
func Repeats(typ string, path ...string) (repeats, known bool) {
	s, err := compiled()
	if err != nil || !s.known[typ] || len(path) == 0 {
		return false, false
	}
	def, _ := s.defs[typ].(map[string]any)
	for i, name := range path {
		props, _ := def["properties"].(map[string]any)
		prop, ok := props[name].(map[string]any)
		if !ok {
			return false, false
		}
		repeats = prop["type"] == "array"
		if i == len(path)-1 {
			return repeats, true
		}
		ref, _ := prop["$ref"].(string)
		if items, ok := prop["items"].(map[string]any); ok {
			ref, _ = items["$ref"].(string)
		}
		def, _ = s.defs[strings.TrimPrefix(ref, "#/definitions/")].(map[string]any)
		if def == nil {
			return false, false
		}
	}
	return repeats, true
}
