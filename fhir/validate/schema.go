package validate

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"

	"github.com/fhirbell/fhirbell/fhir"
)

//go:generate sh -c "gzip -9 -n < ../../testdata/fhir-r4/fhir.schema.json > r4.schema.json.gz"

//go:embed r4.schema.json.gz
var schemaGZ []byte

// schemaURL is the id the R4 JSON schema declares for itself.
const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

// resourceKeyword is the schema keyword that replaces the schema's
// 186-branch ResourceList oneOf: it picks the definition named by the
// instance's resourceType, as the schema's own (OpenAPI-style, unenforced)
// discriminator mapping intends.
const resourceKeyword = "x-fhirbell-resourceType"

// r4 is the schema compiler with a cache of compiled definitions, one per
// R4 resource type, each compiled on first use.
type r4 struct {
	known map[string]bool // the R4 resource types
	defs  map[string]any  // the schema's definitions, read-only after loading

	mu    sync.Mutex // guards c and types
	c     *jsonschema.Compiler
	types map[string]*jsonschema.Schema
}

// compiled loads the embedded schema once per process.
var compiled = sync.OnceValues(loadR4)

func loadR4() (*r4, error) {
	zr, err := gzip.NewReader(bytes.NewReader(schemaGZ))
	if err != nil {
		return nil, fmt.Errorf("read embedded schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(zr)
	if err != nil {
		return nil, fmt.Errorf("read embedded schema: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("read embedded schema: not an object")
	}
	defs, _ := root["definitions"].(map[string]any)
	disc, _ := root["discriminator"].(map[string]any)
	mapping, _ := disc["mapping"].(map[string]any)
	if defs == nil || mapping == nil {
		return nil, errors.New("read embedded schema: no definitions or discriminator mapping")
	}
	r := &r4{known: map[string]bool{}, defs: defs, types: map[string]*jsonschema.Schema{}}
	// The R4 types: the discriminator's names that fhirbell serves, which
	// drops the Medplum-only types the file also defines.
	for name := range mapping {
		if _, ok := defs[name]; ok && fhir.IsResourceType(name) {
			r.known[name] = true
		}
	}
	// Patches, all confined to this in-memory copy:
	//   - ResourceList (Bundle.entry.resource, contained, parameter.resource)
	//     dispatches on resourceType instead of trying every branch. That is
	//     far faster, reports the errors of the matching type only, and lets
	//     each type be compiled when first met: compiling everything at
	//     once takes seconds, as the compiler's work queue is quadratic.
	//   - Resource and integer64 are referenced by Medplum definitions but
	//     not defined; define them so the document is complete.
	//   - The document root, a oneOf over every type, goes: the compiler
	//     compiles a definition's enclosing resource (the root) with it.
	delete(root, "oneOf")
	delete(root, "discriminator")
	defs["ResourceList"] = map[string]any{"type": "object", resourceKeyword: true}
	defs["Resource"] = map[string]any{"$ref": "#/definitions/ResourceList"}
	defs["integer64"] = map[string]any{"type": "string", "pattern": `^-?([0]|([1-9][0-9]*))$`}

	r.c = jsonschema.NewCompiler()
	r.c.UseRegexpEngine(fastRegexp)
	r.c.DefaultDraft(jsonschema.Draft6)
	r.c.RegisterVocabulary(&jsonschema.Vocabulary{
		URL: "https://fhirbell.dev/jsonschema/resource-type",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			if _, ok := obj[resourceKeyword]; !ok {
				return nil, nil
			}
			return resourceSwitch{r}, nil
		},
	})
	if err := r.c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("add schema: %w", err)
	}
	// Compile the Bundle now, so that a broken schema fails the first
	// caller rather than some nested validation.
	if _, err := r.schema("Bundle"); err != nil {
		return nil, err
	}
	return r, nil
}

// schema returns the compiled definition of resource type rt, or nil when
// rt is not an R4 resource type.
func (r *r4) schema(rt string) (*jsonschema.Schema, error) {
	if !r.known[rt] {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.types[rt]; s != nil {
		return s, nil
	}
	s, err := r.c.Compile(schemaURL + "#/definitions/" + rt)
	if err != nil {
		return nil, fmt.Errorf("compile schema for %s: %w", rt, err)
	}
	r.types[rt] = s
	return s, nil
}

// resourceSwitch is the compiled resourceKeyword.
type resourceSwitch struct{ r *r4 }

func (rs resourceSwitch) Validate(ctx *jsonschema.ValidatorContext, v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return // "type": "object" reports it
	}
	rt, _ := obj["resourceType"].(string)
	s, err := rs.r.schema(rt)
	if err != nil {
		ctx.AddError(&resourceError{msg: err.Error()})
		return
	}
	if s == nil {
		if obj["resourceType"] == nil {
			ctx.AddError(&resourceError{msg: "missing resourceType"})
		} else {
			ctx.AddError(&resourceError{msg: fmt.Sprintf("resourceType %v is not an R4 resource type", obj["resourceType"])})
		}
		return
	}
	if err := ctx.Validate(s, v, nil); err != nil {
		ctx.AddErr(err)
	}
}

// resourceError is the error kind of resourceKeyword.
type resourceError struct{ msg string }

func (*resourceError) KeywordPath() []string { return []string{resourceKeyword} }

func (k *resourceError) LocalizedString(*message.Printer) string { return k.msg }

// parse decodes b as one JSON value for the validator: objects as
// map[string]any, arrays as []any, numbers as json.Number. It rejects
// duplicate object keys, which FHIR JSON forbids and encoding/json silently
// resolves, and trailing data. One pass with jsontext's token reader: the
// encoding/json token API it replaces cost half of a validation.
func parse(b []byte) (any, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	v, err := parseValue(dec)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %s", jsonMessage(err))
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errors.New("not valid JSON: data after the top-level value")
	}
	return v, nil
}

// jsonMessage words a jsontext error as FHIR users know it.
func jsonMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "jsontext: ")
	return strings.Replace(msg, "duplicate object member name", "duplicate property", 1)
}

func parseValue(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		obj := map[string]any{}
		for dec.PeekKind() != '}' {
			kt, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			k := kt.String() // before the next read voids the token
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		_, err := dec.ReadToken()
		return obj, err
	case '[':
		arr := []any{}
		for dec.PeekKind() != ']' {
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.ReadToken()
		return arr, err
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}
