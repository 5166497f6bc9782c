package validate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/fhirbell/fhirbell/fhir"
)

// Covered reports whether resource type rt has an R4 schema definition
// that Resource validates against.
func Covered(rt string) bool {
	s, err := compiled()
	return err == nil && s.known[rt]
}

// Resource validates b, one resource in R4 JSON, against the R4 schema
// definition of its resourceType, nested resources (contained, Bundle
// entries, Parameters) against their own. It returns nil, or a
// fhir.ValidationErrors listing every violation with its FHIRPath
// location, or an internal error if the embedded schema cannot be loaded.
// A resource type the schema does not cover (see Covered) is an error too:
// callers decide whether to skip it.
func Resource(b []byte) error {
	v, err := parse(b)
	if err != nil {
		return fhir.ValidationErrors{{Msg: err.Error(), Code: fhir.IssueStructure}}
	}
	return Value(v)
}

// Value is Resource for a document already decoded by
// jsonschema.UnmarshalJSON (numbers as json.Number).
func Value(v any) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fhir.ValidationErrors{{Msg: "not a JSON object: a resource is one", Code: fhir.IssueStructure}}
	}
	rt, _ := obj["resourceType"].(string)
	sch, err := s.schema(rt)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if sch == nil {
		return fhir.ValidationErrors{{Path: "resourceType", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("%v is not an R4 resource type this server validates", obj["resourceType"])}}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := errors.AsType[*jsonschema.ValidationError](err)
	if !ok {
		return fmt.Errorf("validate %s: %w", rt, err)
	}
	var out fhir.ValidationErrors
	collect(rt, ve, &out)
	if len(out) == 0 { // a group with no leaf: cannot happen, but never pass it as valid
		out = append(out, &fhir.ValidationError{Path: rt, Msg: ve.Error(), Code: fhir.IssueStructure})
	}
	slices.SortStableFunc(out, func(a, b *fhir.ValidationError) int { return strings.Compare(a.Path, b.Path) })
	return slices.CompactFunc(out, func(a, b *fhir.ValidationError) bool { return *a == *b })
}

var printer = message.NewPrinter(language.English)

// collect appends the leaves of ve's cause tree as fhir errors.
func collect(rt string, ve *jsonschema.ValidationError, out *fhir.ValidationErrors) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collect(rt, c, out)
		}
		return
	}
	at := expression(rt, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, &fhir.ValidationError{Path: at + "." + p, Code: fhir.IssueStructure,
				Msg: fmt.Sprintf("unknown element %q", p)})
		}
	case *kind.Required:
		for _, p := range k.Missing {
			*out = append(*out, &fhir.ValidationError{Path: at + "." + p, Code: fhir.IssueRequired,
				Msg: fmt.Sprintf("required element %q is missing", p)})
		}
	case *kind.Enum:
		*out = append(*out, &fhir.ValidationError{Path: at, Code: fhir.IssueCodeInvalid,
			Msg: fmt.Sprintf("%s is not a code of the required value set (%s)", quote(k.Got), codes(k.Want))})
	case *kind.Const:
		*out = append(*out, &fhir.ValidationError{Path: at, Code: fhir.IssueValue,
			Msg: fmt.Sprintf("%s must be %s", quote(k.Got), quote(k.Want))})
	case *kind.Type:
		*out = append(*out, &fhir.ValidationError{Path: at, Code: fhir.IssueStructure,
			Msg: fmt.Sprintf("wrong type: %s where %s is expected", k.Got, jsonTypes(k.Want))})
	case *kind.Pattern:
		*out = append(*out, &fhir.ValidationError{Path: at, Code: fhir.IssueValue,
			Msg: fmt.Sprintf("%q is not a valid %s", k.Got, primitiveName(ve.SchemaURL))})
	default:
		*out = append(*out, &fhir.ValidationError{Path: at, Code: fhir.IssueInvalid,
			Msg: ve.ErrorKind.LocalizedString(printer)})
	}
}

// expression turns a JSON pointer's tokens into a FHIRPath expression:
// ["name","0","given"] under Patient is Patient.name[0].given.
func expression(rt string, loc []string) string {
	var b strings.Builder
	b.WriteString(rt)
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		b.WriteString("." + tok)
	}
	return b.String()
}

// primitiveName names the FHIR primitive whose definition a pattern
// belongs to, from the schema location ".../definitions/date/pattern".
func primitiveName(schemaURL string) string {
	_, frag, _ := strings.Cut(schemaURL, "#/definitions/")
	name, _, _ := strings.Cut(frag, "/")
	if name == "" {
		return "value"
	}
	return name
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

func codes(want []any) string {
	parts := make([]string, len(want))
	for i, w := range want {
		parts[i] = fmt.Sprint(w)
	}
	return strings.Join(parts, " | ")
}

func jsonTypes(want []string) string { return strings.Join(want, " or ") }
