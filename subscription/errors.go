package subscription

import (
	"errors"

	"github.com/fhirbell/fhirbell/fhir"
)

// Domain errors. Stores translate driver errors into these at their
// boundary; subhttp maps them to HTTP statuses in one function.
var (
	// ErrNotFound: the resource (or version) never existed. HTTP 404.
	ErrNotFound = errors.New("not found")
	// ErrGone: the resource's current version is a deletion. HTTP 410.
	ErrGone = errors.New("resource deleted")
	// ErrConflict: the write clashes with existing state (an id taken, a
	// concurrent transaction). HTTP 409.
	ErrConflict = errors.New("conflict")
	// ErrPreconditionFailed: If-Match named a version that is not the
	// current one. HTTP 412.
	ErrPreconditionFailed = errors.New("version mismatch")
	// ErrUnavailable: the store cannot be reached right now; the client may
	// retry. HTTP 503.
	ErrUnavailable = errors.New("store unavailable")
)

// ValidationError is input a client got wrong; see fhir.ValidationError.
// HTTP 400.
type ValidationError = fhir.ValidationError
