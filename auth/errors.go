package auth

import (
	"errors"
	"fmt"
)

// ErrUnauthenticated means the request carries no usable credentials: the
// bearer token is missing, malformed, badly signed, expired, not yet
// valid, issued by or for someone else, or reported inactive by the
// introspection endpoint. HTTP maps it to 401 with a WWW-Authenticate
// challenge (see Challenge) and the OperationOutcome issue type "login".
var ErrUnauthenticated = errors.New("unauthenticated")

// ErrMissingToken is the ErrUnauthenticated returned when no token was
// presented at all. RFC 6750 §3.1 says the challenge then carries no error
// attribute, so Challenge tells the two apart with errors.Is.
var ErrMissingToken = fmt.Errorf("%w: no bearer token", ErrUnauthenticated)

// ErrForbidden means the caller is authenticated but its scopes (or its
// patient context, or ownership rules applied by callers) do not allow the
// interaction. HTTP maps it to 403 with the issue type "forbidden".
var ErrForbidden = errors.New("forbidden")

// ErrAuthUnavailable means the token could not be checked because the
// authorization server (the introspection endpoint) failed or timed out.
// HTTP maps it to 503: the token may well be valid, and answering 401 would
// make clients throw away good tokens during an outage.
var ErrAuthUnavailable = errors.New("authorization server unavailable")

// ErrInsecureListen is returned by CheckNoneAllowed when authentication
// mode none is requested on an address other than loopback without the
// explicit insecure override.
var ErrInsecureListen = errors.New("auth mode none on a non-loopback address")

// unauthenticated returns ErrUnauthenticated with a fixed reason. The
// reason is always one of a few constant strings chosen by this package,
// never text derived from the token, so it is safe to log and to send as
// an RFC 6750 error_description.
func unauthenticated(reason string) error {
	return &authError{kind: ErrUnauthenticated, reason: reason}
}
