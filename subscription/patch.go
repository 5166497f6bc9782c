package subscription

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbell/fhirbell/fhir"
)

// Patch applies a patch to the current version of typ/id and stores the
// result as the next version, in this transaction: apply gets the stored
// body and returns the patched one. The result must keep the resource's
// type and id, and is validated and matched like any update. ifMatch > 0
// requires the current version to be ifMatch; the write itself requires
// the version that was patched, so a concurrent write cannot be lost.
func (w *Writer) Patch(ctx context.Context, typ, id string, apply func(body []byte) ([]byte, error), ifMatch int64) (Resource, error) {
	cur, err := w.tx.Read(ctx, typ, id)
	if err != nil {
		return Resource{}, fmt.Errorf("patch %s/%s: %w", typ, id, err)
	}
	if ifMatch > 0 && cur.VersionID != ifMatch {
		return Resource{}, ErrPreconditionFailed
	}
	out, err := apply(cur.Body)
	if err != nil {
		return Resource{}, err
	}
	r, err := fhir.ParseResource(out)
	if err != nil {
		var ve *fhir.ValidationError
		if errors.As(err, &ve) && ve.Path == "resourceType" {
			return Resource{}, &fhir.ValidationError{Path: "resourceType", Code: fhir.IssueNotSupported, Msg: "a patch may not change or remove resourceType"}
		}
		return Resource{}, err
	}
	switch {
	case r.Type != typ:
		return Resource{}, &fhir.ValidationError{Path: "resourceType", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("a patch may not change resourceType (%s to %s)", typ, r.Type)}
	case r.ID != id:
		return Resource{}, &fhir.ValidationError{Path: typ + ".id", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("a patch may not change or remove the id (%q to %q)", id, r.ID)}
	}
	res, _, err := w.Update(ctx, r, cur.VersionID)
	return res, err
}

// Patch is Writer.Patch in its own transaction.
func (s *Service) Patch(ctx context.Context, typ, id string, apply func(body []byte) ([]byte, error), ifMatch int64) (res Resource, err error) {
	err = s.Transaction(ctx, func(w *Writer) error {
		res, err = w.Patch(ctx, typ, id, apply, ifMatch)
		return err
	})
	return res, err
}

// ConditionalPatch patches the one resource c matches (ErrNotFound when
// none does, ErrPreconditionFailed when several do).
func (s *Service) ConditionalPatch(ctx context.Context, c Criteria, apply func(body []byte) ([]byte, error), ifMatch int64) (res Resource, err error) {
	err = s.Locked(ctx, []Criteria{c}, func() error {
		id, err := s.ResolvePatch(ctx, c)
		if err != nil {
			return err
		}
		res, err = s.Patch(ctx, c.Type, id, apply, ifMatch)
		return err
	})
	return res, err
}

// ResolvePatch returns the id of the one resource a conditional patch on c
// changes. Call it under Locked.
func (s *Service) ResolvePatch(ctx context.Context, c Criteria) (string, error) {
	found, err := s.Match(ctx, c)
	if err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no %s matches %s: %w", c.Type, c, ErrNotFound)
	case 1:
		return found[0].ID, nil
	}
	return "", tooMany(c, len(found))
}
