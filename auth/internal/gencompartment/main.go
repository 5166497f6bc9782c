package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
)

// compartmentDefinition is the part of a CompartmentDefinition we read.
type compartmentDefinition struct {
	ResourceType string `json:"resourceType"`
	URL          string `json:"url"`
	Version      string `json:"version"`
	Code         string `json:"code"`
	Resource     []struct {
		Code  string   `json:"code"`
		Param []string `json:"param"`
	} `json:"resource"`
}

func main() {
	in := flag.String("in", "", "compartmentdefinition-patient.json")
	out := flag.String("out", "compartment.json", "output file")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencompartment:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, err := generate(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, b, 0o644)
}

// generate builds compartment.json from the CompartmentDefinition.
func generate(raw []byte) ([]byte, error) {
	var cd compartmentDefinition
	if err := json.Unmarshal(raw, &cd); err != nil {
		return nil, err
	}
	if cd.ResourceType != "CompartmentDefinition" || cd.Code != "Patient" {
		return nil, errors.New("not the Patient CompartmentDefinition")
	}
	table := map[string][]string{}
	for _, r := range cd.Resource {
		if len(r.Param) == 0 {
			continue
		}
		table[r.Code] = slices.Clone(r.Param)
	}
	if !slices.Contains(table["Patient"], "{def}") {
		table["Patient"] = append([]string{"{def}"}, table["Patient"]...)
	}
	types := make([]string, 0, len(table))
	for t := range table {
		types = append(types, t)
	}
	slices.Sort(types)

	var buf bytes.Buffer
	src, _ := json.Marshal(cd.URL + "|" + cd.Version)
	fmt.Fprintf(&buf, "{\n  \"source\": %s,\n  \"resources\": {\n", src)
	for i, t := range types {
		k, _ := json.Marshal(t)
		v, _ := json.Marshal(table[t])
		sep := ","
		if i == len(types)-1 {
			sep = ""
		}
		fmt.Fprintf(&buf, "    %s: %s%s\n", k, strings.ReplaceAll(string(v), ",", ", "), sep)
	}
	buf.WriteString("  }\n}\n")
	return buf.Bytes(), nil
}
