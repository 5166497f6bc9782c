package subhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/shape"
	"github.com/fhirbell/fhirbell/subscription"
)

// checkType validates a resource type taken from a URL.
func checkType(typ string) error {
	if strings.HasPrefix(typ, "$") {
		return &statusError{Status: http.StatusNotFound, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("operation %q is not supported", typ)}
	}
	if !fhir.IsResourceType(typ) {
		return &statusError{Status: http.StatusNotFound, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("unknown resource type %q", typ)}
	}
	return nil
}

// checkID validates a resource id taken from a URL.
func checkID(typ, id string) error {
	if strings.HasPrefix(id, "$") {
		return &statusError{Status: http.StatusNotFound, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("operation %q is not supported on %s", id, typ)}
	}
	if !fhir.ValidID(id) {
		return &statusError{Status: http.StatusBadRequest, Code: fhir.IssueInvalid,
			Msg: fmt.Sprintf("invalid id %q: an id is 1 to 64 of A-Z a-z 0-9 - .", id)}
	}
	return nil
}

func pathType(r *http.Request) (string, error) {
	typ := chi.URLParam(r, "type")
	return typ, checkType(typ)
}

func pathTypeID(r *http.Request) (typ, id string, err error) {
	if typ, err = pathType(r); err != nil {
		return "", "", err
	}
	id = chi.URLParam(r, "id")
	return typ, id, checkID(typ, id)
}

// parseBody parses a resource body that must be of type typ.
func parseBody(body []byte, typ string) (*fhir.Resource, error) {
	res, err := fhir.ParseResource(body)
	if err != nil {
		return nil, err
	}
	if res.Type != typ {
		return nil, fhir.Invalid("resourceType",
			fmt.Sprintf("resource type %q does not match the type %q in the URL", res.Type, typ))
	}
	return res, nil
}

// checkUpdateID requires the body id of an update to equal the URL id, as
// R4 requires of PUT.
func checkUpdateID(res *fhir.Resource, id string) error {
	if res.ID == "" {
		return &fhir.ValidationError{Path: "id", Code: fhir.IssueRequired,
			Msg: fmt.Sprintf("the body has no id; an update of %s/%s needs id %q", res.Type, id, id)}
	}
	if res.ID != id {
		return fhir.Invalid("id", fmt.Sprintf("body id %q does not match the URL id %q", res.ID, id))
	}
	return nil
}

// identify gives a domain error the identity it concerns, keeping
// the sentinel so that Outcome can map it.
func identify(err error, typ, id string) error {
	switch {
	case errors.Is(err, subscription.ErrNotFound):
		return fmt.Errorf("%s/%s: %w", typ, id, subscription.ErrNotFound)
	case errors.Is(err, subscription.ErrGone):
		return fmt.Errorf("%s/%s: %w", typ, id, subscription.ErrGone)
	}
	return err
}

// preconditionError explains a 412: which version the client named and
// which one is current. read reads the current version.
func preconditionError(ctx context.Context, read func(ctx context.Context, typ, id string) (subscription.Resource, error), typ, id string, want int64) error {
	cur, err := read(ctx, typ, id)
	switch {
	case err == nil:
		return fmt.Errorf("%s/%s: %w: If-Match names version %d, the current version is %d",
			typ, id, subscription.ErrPreconditionFailed, want, cur.VersionID)
	case errors.Is(err, subscription.ErrGone):
		return fmt.Errorf("%s/%s: %w: If-Match names version %d, the current version %d is a deletion",
			typ, id, subscription.ErrPreconditionFailed, want, cur.VersionID)
	case errors.Is(err, subscription.ErrNotFound):
		return fmt.Errorf("%s/%s: %w: If-Match names version %d, but the resource does not exist",
			typ, id, subscription.ErrPreconditionFailed, want)
	}
	return fmt.Errorf("%s/%s: %w: If-Match names version %d", typ, id, subscription.ErrPreconditionFailed, want)
}

// writeResource answers one stored version with its ETag and Last-Modified
// (and Location when created). For writes the body follows Prefer: return;
// a read's is shaped by sh (_summary, _elements).
func (a *api) writeResource(w http.ResponseWriter, r *http.Request, status int, res subscription.Resource, kind answerKind, sh shape.Shape) {
	h := w.Header()
	h.Set("ETag", etag(res.VersionID))
	h.Set("Last-Modified", lastModified(res))
	if status == http.StatusCreated {
		h.Set("Location", fhirBase(r)+"/"+location(res))
		websocketTicketLink(r, h, res)
	}
	pref := returnRepresentation
	if kind != answerRead {
		pref = preferReturn(r, returnRepresentation)
	}
	switch pref {
	case returnMinimal:
		w.WriteHeader(status)
	case returnOutcome:
		writeOutcome(w, r, status, writeOutcomeOf(status, res, kind == answerMatch))
	default:
		writeBody(w, r, status, sh.Apply(outBody(r.Context(), res.Type, res.Body)))
	}
}

// answerKind says what produced the version writeResource answers.
type answerKind int

const (
	answerRead  answerKind = iota // a read: Prefer does not apply
	answerWrite                   // a write that stored res
	answerMatch                   // a conditional create that matched res and wrote nothing
)

// writeOutcomeOf is the OperationOutcome that answers a write under
// Prefer: return=OperationOutcome: what happened to which version.
func writeOutcomeOf(status int, res subscription.Resource, matched bool) *fhir.OperationOutcome {
	what := "updated"
	switch {
	case res.Deleted:
		return deletedOutcome(res)
	case matched:
		what = "matched, nothing written:"
	case status == http.StatusCreated:
		what = "created"
	}
	return fhir.NewOutcome("informational", fmt.Sprintf("%s %s/%s (version %d)", what, res.Type, res.ID, res.VersionID))
}

// writeDeleted answers a delete: 200 with an OperationOutcome saying what
// was deleted, or 204 and no body under Prefer: return=minimal (there is
// no representation of a deletion, so return=representation gets the
// OperationOutcome too).
func writeDeleted(w http.ResponseWriter, r *http.Request, oo *fhir.OperationOutcome) {
	if preferReturn(r, returnOutcome) == returnMinimal {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeOutcome(w, r, http.StatusOK, oo)
}

// versionError returns the error of a failed read, after giving a deletion
// (410) the deletion version's ETag, so a client can tell which version it
// saw.
func versionError(w http.ResponseWriter, res subscription.Resource, err error) error {
	if errors.Is(err, subscription.ErrGone) && res.VersionID > 0 {
		w.Header().Set("ETag", etag(res.VersionID))
		w.Header().Set("Last-Modified", lastModified(res))
	}
	return err
}

func (a *api) create(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	res, paths, err := readResource(w, r, typ)
	if err != nil {
		return err
	}
	if cond := r.Header.Get("If-None-Exist"); cond != "" {
		return paths.Error(a.conditionalCreate(w, r, res, cond))
	}
	stored, err := a.svc.Create(r.Context(), res)
	if err != nil {
		return paths.Error(err)
	}
	a.writeResource(w, r, http.StatusCreated, stored, answerWrite, shape.Shape{})
	return nil
}

func (a *api) read(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	sh, err := resourceShape(r.URL.Query())
	if err != nil {
		return err
	}
	res, err := a.svc.Read(r.Context(), typ, id)
	if err != nil {
		return versionError(w, res, identify(err, typ, id))
	}
	if notModified(r, res) {
		w.Header().Set("ETag", etag(res.VersionID))
		w.Header().Set("Last-Modified", lastModified(res))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	a.writeResource(w, r, http.StatusOK, res, answerRead, sh)
	return nil
}

func (a *api) vread(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	raw := chi.URLParam(r, "vid")
	vid, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || vid < 1 {
		return &statusError{Status: http.StatusBadRequest, Code: fhir.IssueInvalid,
			Msg: fmt.Sprintf("invalid version id %q: a version id is a positive integer", raw)}
	}
	sh, err := resourceShape(r.URL.Query())
	if err != nil {
		return err
	}
	res, err := a.svc.VRead(r.Context(), typ, id, vid)
	if err != nil {
		return versionError(w, res, identify(err, typ, id+"/_history/"+raw))
	}
	a.writeResource(w, r, http.StatusOK, res, answerRead, sh)
	return nil
}

func (a *api) update(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	res, paths, err := readResource(w, r, typ)
	if err == nil {
		err = checkUpdateID(res, id)
	}
	if err != nil {
		return err
	}
	stored, created, err := a.svc.Update(r.Context(), res, want)
	if errors.Is(err, subscription.ErrPreconditionFailed) {
		err = preconditionError(r.Context(), a.svc.Read, typ, id, want)
	}
	if err != nil {
		return paths.Error(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	a.writeResource(w, r, status, stored, answerWrite, shape.Shape{})
	return nil
}

func (a *api) delete(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	res, err := a.svc.Delete(r.Context(), typ, id, want)
	if errors.Is(err, subscription.ErrPreconditionFailed) {
		err = preconditionError(r.Context(), a.svc.Read, typ, id, want)
	}
	if err != nil {
		return identify(err, typ, id)
	}
	w.Header().Set("ETag", etag(res.VersionID))
	writeDeleted(w, r, deletedOutcome(res))
	return nil
}

func deletedOutcome(res subscription.Resource) *fhir.OperationOutcome {
	return fhir.NewOutcome("informational", fmt.Sprintf("deleted %s/%s (version %d)", res.Type, res.ID, res.VersionID))
}
