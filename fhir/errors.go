package fhir

// Issue type codes (http://hl7.org/fhir/issue-type) used in OperationOutcomes.
const (
	IssueInvalid      = "invalid"
	IssueStructure    = "structure"
	IssueRequired     = "required"
	IssueValue        = "value"
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
