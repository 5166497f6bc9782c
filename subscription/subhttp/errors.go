package subhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// statusError is a failure with a precise HTTP status and OperationOutcome
// issue, for the cases no domain error names (415, 413, 405, an unknown
// type).
type statusError struct {
	Status     int      // HTTP status
	Code       string   // issue type code, such as fhir.IssueNotSupported
	Msg        string   // the diagnostics
	Expression []string // optional FHIRPath expressions
}

// Error returns the message.
func (e *statusError) Error() string { return e.Msg }

// retryAfterSeconds is the Retry-After of a 503: long enough for a store
// failover, short enough that a test bench does not stall.
const retryAfterSeconds = 5

// errorOutcome maps an error to the HTTP status and OperationOutcome that
// answer it. It is the one place where errors become statuses:
//
//   - *statusError: its own status and issue;
//   - a Bundle entry's error: the status of the cause, the issue prefixed
//     with Bundle.entry[i];
//   - *fhir.ValidationError: 400 with the error's code and path;
//     fhir.ValidationErrors: 400 with one issue per error;
//   - a patch that cannot be applied (*patch.Error): 422 processing;
//   - subscription.ErrNotFound 404 not-found, ErrGone 410 deleted,
//     ErrConflict 409 conflict, ErrPreconditionFailed 412 conflict,
//     ErrUnavailable and context.DeadlineExceeded 503 transient;
//   - context.Canceled: status 0 and a nil outcome, meaning the client is
//     gone and nothing should be written;
//   - anything else: 500 exception with a generic message, so internals
//     never reach a client.
func errorOutcome(err error) (status int, oo *fhir.OperationOutcome) {
	// An entry's error wraps its cause: locate it before looking inside.
	if e, ok := errors.AsType[*entryError](err); ok {
		return e.outcome()
	}
	if e, ok := errors.AsType[*statusError](err); ok {
		return e.Status, fhir.NewOutcome(e.Code, e.Msg, e.Expression...)
	}
	if es, ok := fhir.AsValidation(err); ok {
		return http.StatusBadRequest, fhir.OutcomeForAll(es)
	}
	if status, oo, ok := patchOutcome(err); ok {
		return status, oo
	}
	if e, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, fhir.NewOutcome(fhir.IssueTooLong,
			fmt.Sprintf("request body exceeds the limit of %d bytes", e.Limit))
	}
	switch {
	case errors.Is(err, subscription.ErrNotFound):
		return http.StatusNotFound, fhir.NewOutcome(fhir.IssueNotFound, err.Error())
	case errors.Is(err, subscription.ErrGone):
		return http.StatusGone, fhir.NewOutcome(fhir.IssueDeleted, err.Error())
	case errors.Is(err, subscription.ErrConflict):
		return http.StatusConflict, fhir.NewOutcome(fhir.IssueConflict, err.Error())
	case errors.Is(err, subscription.ErrPreconditionFailed):
		return http.StatusPreconditionFailed, fhir.NewOutcome(fhir.IssueConflict, err.Error())
	case errors.Is(err, subscription.ErrUnavailable):
		return http.StatusServiceUnavailable, fhir.NewOutcome(fhir.IssueTransient, "the store is unavailable; retry later")
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, fhir.NewOutcome(fhir.IssueForbidden, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, fhir.NewOutcome(fhir.IssueLogin, err.Error())
	case errors.Is(err, auth.ErrAuthUnavailable):
		return http.StatusServiceUnavailable, fhir.NewOutcome(fhir.IssueTransient, "the authorization server is unavailable; retry later")
	case errors.Is(err, subscription.ErrTokenInvalid), errors.Is(err, subscription.ErrTokenExpired):
		return http.StatusUnauthorized, fhir.NewOutcome(fhir.IssueSecurity, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, fhir.NewOutcome(fhir.IssueTransient, "the request timed out; retry later")
	case errors.Is(err, context.Canceled):
		return 0, nil
	}
	return http.StatusInternalServerError, fhir.NewOutcome(fhir.IssueException, "internal server error")
}

// handlerFunc is a route handler that answers a failure by returning it:
// ServeHTTP writes the error as an OperationOutcome (writeError), so that
// no handler writes its own. A handler that returns nil has answered.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h handlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		writeError(w, r, err)
	}
}

// writeError answers err as an OperationOutcome with the status errorOutcome
// gives. Only the 500 case is logged, at Error, with the request logger;
// a cancelled request gets no answer at all.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, oo := errorOutcome(err)
	switch {
	case status == 0:
		info(r).log.Debug("client gone", "err", err)
		return
	case status == http.StatusInternalServerError:
		info(r).log.Error("internal error", "err", err)
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if c := auth.Challenge(auth.DefaultRealm, err); c != "" {
			w.Header().Set("WWW-Authenticate", c)
		}
	}
	writeOutcome(w, r, status, oo)
}

func writeOutcome(w http.ResponseWriter, r *http.Request, status int, oo *fhir.OperationOutcome) {
	writeBody(w, r, status, fhir.MarshalOutcome(oo))
}

// writeJSON answers v, encoded as JSON, with status and the FHIR content
// type; a json.RawMessage or []byte is written as is. With _pretty=true in
// the query the body is indented. It fails, writing nothing, only when v
// cannot be encoded.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	var body []byte
	switch v := v.(type) {
	case json.RawMessage:
		body = v
	case []byte:
		body = v
	case *bundle:
		b, err := v.encode()
		if err != nil {
			return fmt.Errorf("encode response: %w", err)
		}
		body = b
	default:
		b, err := fhir.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode response: %w", err)
		}
		body = b
	}
	writeBody(w, r, status, body)
	return nil
}

func writeBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	if info(r).pretty {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			body = buf.Bytes()
		}
	}
	ct := info(r).contentType
	if ct == "" {
		ct = contentType
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) // an error here means the client is gone; nothing to do
}

// readJSONBody reads a JSON request body under the configured size limit.
// A Content-Type that is not JSON is a 415 *statusError, a body over the
// limit a 413 *statusError, an empty body a *fhir.ValidationError.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBody(w, r, info(r).maxBodyBytes, jsonTypes)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64, types []string) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !slices.Contains(types, mt) {
			return nil, &statusError{Status: http.StatusUnsupportedMediaType, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("Content-Type %q is not supported; send %s", ct, types[0])}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &statusError{Status: http.StatusRequestEntityTooLarge, Code: fhir.IssueTooLong,
				Msg: fmt.Sprintf("request body exceeds the limit of %d bytes", limit)}
		}
		return nil, &statusError{Status: http.StatusBadRequest, Code: fhir.IssueInvalid,
			Msg: "cannot read the request body: " + err.Error()}
	}
	if len(bytes.TrimSpace(b)) == 0 && len(types) > 0 && types[0] != formType {
		return nil, fhir.Invalid("", "request body is empty")
	}
	return b, nil
}

// fhirBase returns the absolute FHIR base URL of the request, such as
// "http://127.0.0.1:8080/fhir".
func fhirBase(r *http.Request) string { return info(r).serverBase + info(r).fhirPath }

// serverBase returns the absolute server base of the request, without
// endpoint.FHIRPath, such as "http://127.0.0.1:8080".
func serverBase(r *http.Request) string { return info(r).serverBase }

// requestLog returns the request's logger, which carries method, path
// and request_id.
func requestLog(r *http.Request) *slog.Logger { return info(r).log }
