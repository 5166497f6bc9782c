package fhir

// OperationOutcome is the R4 OperationOutcome, reduced to what fhirbell
// emits.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// NewOutcome returns an OperationOutcome with one issue. Severity is "error"
// unless code is "informational".
func NewOutcome(code, diagnostics string, expression ...string) *OperationOutcome {
	sev := "error"
	if code == "informational" {
		sev = "information"
	}
	return &OperationOutcome{
		ResourceType: "OperationOutcome",
		Issue:        []Issue{{Severity: sev, Code: code, Diagnostics: diagnostics, Expression: expression}},
	}
}

// OutcomeFor returns the OperationOutcome describing a validation error.
func OutcomeFor(e *ValidationError) *OperationOutcome {
	if e.Path == "" {
		return NewOutcome(e.IssueCode(), e.Msg)
	}
	return NewOutcome(e.IssueCode(), e.Error(), e.Path)
}

// OutcomeForAll returns the OperationOutcome listing every error of es,
// one issue each.
func OutcomeForAll(es ValidationErrors) *OperationOutcome {
	oo := &OperationOutcome{ResourceType: "OperationOutcome"}
	for _, e := range es {
		oo.Issue = append(oo.Issue, OutcomeFor(e).Issue...)
	}
	return oo
}

// MarshalOutcome encodes an OperationOutcome; it cannot fail.
func MarshalOutcome(o *OperationOutcome) []byte {
	b, _ := Marshal(o)
	return b
}
