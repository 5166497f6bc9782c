package fhir

import (
	"errors"
	"strings"
)

// Issue type codes (http://hl7.org/fhir/issue-type) used in OperationOutcomes.
const (
	IssueInvalid      = "invalid"
	IssueStructure    = "structure"
	IssueRequired     = "required"
	IssueValue        = "value"
	IssueCodeInvalid  = "code-invalid"
	IssueNotSupported = "not-supported"
	IssueNotFound     = "not-found"
	IssueDeleted      = "deleted"
	IssueConflict     = "conflict"
	IssueTooLong      = "too-long"
	IssueSecurity     = "security"
	IssueLogin        = "login"
	IssueForbidden    = "forbidden"
	IssueException    = "exception"
	IssueTransient    = "transient"
	IssueProcessing   = "processing"
	IssueThrottled    = "throttled"
)

// ValidationError reports input that a client got wrong. Path is a FHIRPath
// expression naming the offending element (it becomes
// OperationOutcome.issue.expression) and may be empty. Code is an issue type
// code; empty means IssueInvalid.
type ValidationError struct {
	Path string
	Msg  string
	Code string
}

// Error returns the message, prefixed by the path when there is one.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// IssueCode returns the issue type code of the error, IssueInvalid by default.
func (e *ValidationError) IssueCode() string {
	if e.Code == "" {
		return IssueInvalid
	}
	return e.Code
}

// Invalid returns a *ValidationError with code IssueInvalid.
func Invalid(path, msg string) *ValidationError {
	return &ValidationError{Path: path, Msg: msg}
}

// ValidationErrors is several client errors found in one input, such as
// every schema violation of a resource; each becomes one
// OperationOutcome.issue. It is never empty when returned as an error.
type ValidationErrors []*ValidationError

// Error joins the errors' messages.
func (es ValidationErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// AsValidation returns the client errors err holds: a ValidationErrors, or
// a single *ValidationError as a list of one; ok is false when err is
// neither.
func AsValidation(err error) (es ValidationErrors, ok bool) {
	if es, ok := errors.AsType[ValidationErrors](err); ok {
		return es, true
	}
	if e, ok := errors.AsType[*ValidationError](err); ok {
		return ValidationErrors{e}, true
	}
	return nil, false
}
