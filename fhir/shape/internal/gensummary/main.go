package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// structureDefinition is the part of a StructureDefinition we read.
type structureDefinition struct {
	ResourceType string `json:"resourceType"`
	Kind         string `json:"kind"`
	Abstract     bool   `json:"abstract"`
	Type         string `json:"type"`
	Derivation   string `json:"derivation"`
	Snapshot     struct {
		Element []struct {
			Path             string `json:"path"`
			Min              int    `json:"min"`
			IsSummary        bool   `json:"isSummary"`
			ContentReference string `json:"contentReference"`
			Type             []struct {
				Code string `json:"code"`
			} `json:"type"`
		} `json:"element"`
	} `json:"snapshot"`
}

// element is one row of the generated table. Keep in sync with
// shape.tableElement.
type element struct {
	Path     string `json:"p"`
	Summary  bool   `json:"s,omitempty"`
	Required bool   `json:"m,omitempty"`
	Backbone bool   `json:"b,omitempty"`
	Ref      string `json:"r,omitempty"`
}

func main() {
	in := flag.String("in", "", "profiles-resources.json or .json.gz (a Bundle of R4 StructureDefinitions)")
	out := flag.String("out", "elements.json", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gensummary:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(in, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		r = gz
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read %s: %w", in, err)
	}
	b, err := generate(raw)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

func generate(raw []byte) ([]byte, error) {
	var bdl struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &bdl); err != nil {
		return nil, fmt.Errorf("decode the bundle: %w", err)
	}
	table := map[string][]element{}
	for _, e := range bdl.Entry {
		// Other resources (OperationDefinition…) use "type" differently:
		// look at the resourceType before decoding the rest.
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(e.Resource, &head) != nil || head.ResourceType != "StructureDefinition" {
			continue
		}
		var sd structureDefinition
		if err := json.Unmarshal(e.Resource, &sd); err != nil {
			return nil, fmt.Errorf("decode a StructureDefinition: %w", err)
		}
		if sd.Kind != "resource" || sd.Abstract || sd.Derivation != "specialization" {
			continue
		}
		var rows []element
		for _, el := range sd.Snapshot.Element {
			rel, ok := strings.CutPrefix(el.Path, sd.Type+".")
			if !ok {
				continue // the root
			}
			row := element{Path: rel, Summary: el.IsSummary, Required: el.Min >= 1}
			if ref, ok := strings.CutPrefix(el.ContentReference, "#"+sd.Type+"."); ok {
				row.Ref = ref
			}
			for _, t := range el.Type {
				if t.Code == "BackboneElement" {
					row.Backbone = true
				}
			}
			if row.Summary || row.Required || row.Backbone || row.Ref != "" {
				rows = append(rows, row)
			}
		}
		table[sd.Type] = rows
	}
	if len(table) == 0 {
		return nil, errors.New("no resource StructureDefinitions in the input")
	}
	types := make([]string, 0, len(table))
	for t := range table {
		types = append(types, t)
	}
	slices.Sort(types)
	var buf bytes.Buffer
	buf.WriteString("{\n")
	for i, t := range types {
		rows, err := json.Marshal(table[t])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&buf, "%q:%s", t, rows)
		if i < len(types)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}
