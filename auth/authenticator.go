package auth

import (
	"context"
)

// Authenticator turns a bearer token into a Principal.
//
// Authenticate receives the raw token ("" when the request carried none)
// and returns ErrMissingToken for "" (unless the mode needs no token), an
// error wrapping ErrUnauthenticated for any bad token, or one wrapping
// ErrAuthUnavailable when the authorization server could not be asked.
// Implementations are safe for concurrent use and never include the token
// in an error or a log line.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

// maxTokenLen bounds the tokens we spend work on: real access tokens are
// a few KiB at most.
const maxTokenLen = 16 << 10

// None is authentication mode none: every request, with or without a
// token, is the anonymous Principal holding system/*.cruds, which makes it
// an admin (Scopes.IsAdmin). Any token presented is ignored, not checked.
// Use it only for local development; CheckNoneAllowed refuses it on
// non-loopback addresses.
type None struct{}

var (
	_ Authenticator = None{}
	_ Authenticator = (*JWT)(nil)
	_ Authenticator = (*Introspection)(nil)
)

// noneScopes is what the anonymous principal holds.
var noneScopes = ParseScopes("system/*.cruds")

// Authenticate returns AnonymousPrincipal() and never fails.
func (None) Authenticate(context.Context, string) (Principal, error) {
	return AnonymousPrincipal(), nil
}

// AnonymousPrincipal is the Principal of mode none: KindAnonymous, method
// none, subject "anonymous", all scopes, never expiring.
func AnonymousPrincipal() Principal {
	return Principal{Kind: KindAnonymous, Method: MethodNone, Subject: "anonymous", Scopes: noneScopes}
}
