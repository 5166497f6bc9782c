package subhttp

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/shape"
	"github.com/fhirbell/fhirbell/subscription"
)

// conditionalCreate answers POST [type] with If-None-Exist: 201 when
// nothing matched and res was created, 200 with the existing resource
// when one did (nothing is written), 412 when several did.
func (a *api) conditionalCreate(w http.ResponseWriter, r *http.Request, res *fhir.Resource, cond string) error {
	crit, err := subscription.ParseCriteria(res.Type, cond)
	if err != nil {
		return headerErr("If-None-Exist", err)
	}
	stored, created, err := a.svc.ConditionalCreate(r.Context(), res, crit)
	if err != nil {
		return err
	}
	if !created {
		a.writeResource(w, r, http.StatusOK, stored, answerMatch, shape.Shape{})
		return nil
	}
	a.writeResource(w, r, http.StatusCreated, stored, answerWrite, shape.Shape{})
	return nil
}

// headerErr locates a criteria error at the header that carried it.
func headerErr(header string, err error) error {
	if ve, ok := err.(*fhir.ValidationError); ok && ve.Path == "" {
		return &statusError{Status: http.StatusBadRequest, Code: ve.IssueCode(), Msg: header + ": " + ve.Msg, Expression: []string{header}}
	}
	return err
}

// queryCriteria reads the criteria of PUT or DELETE [type]?query.
func queryCriteria(r *http.Request, typ string) (subscription.Criteria, error) {
	if r.URL.RawQuery == "" {
		return subscription.Criteria{}, &statusError{Status: http.StatusBadRequest, Code: fhir.IssueRequired,
			Msg: fmt.Sprintf("%s %s needs search criteria (a conditional %s): %s %s?identifier=…", r.Method, typ, strings.ToLower(methodName(r.Method)), r.Method, typ)}
	}
	return subscription.ParseCriteria(typ, r.URL.RawQuery)
}

func methodName(m string) string {
	if m == http.MethodPut {
		return "update"
	}
	return "delete"
}

// conditionalUpdate answers PUT [type]?query: the one match is updated
// (200), no match creates (201), several are 412.
func (a *api) conditionalUpdate(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	crit, err := queryCriteria(r, typ)
	if err != nil {
		return err
	}
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	res, paths, err := readResource(w, r, typ)
	if err != nil {
		return err
	}
	stored, created, err := a.svc.ConditionalUpdate(r.Context(), res, crit, want)
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

// conditionalDelete answers DELETE [type]?query: every match is deleted
// in one transaction, up to Config.MaxConditionalDeletes (more are 412);
// 200 with an OperationOutcome saying what was deleted, also when nothing
// matched (as a delete of something already gone is).
func (a *api) conditionalDelete(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	crit, err := queryCriteria(r, typ)
	if err != nil {
		return err
	}
	deleted, err := a.svc.ConditionalDelete(r.Context(), crit, a.cfg.MaxConditionalDeletes)
	if err != nil {
		return err
	}
	if len(deleted) == 1 {
		w.Header().Set("ETag", etag(deleted[0].VersionID))
	}
	writeDeleted(w, r, conditionalDeleteOutcome(crit, deleted))
	return nil
}

func conditionalDeleteOutcome(crit subscription.Criteria, deleted []subscription.Resource) *fhir.OperationOutcome {
	if len(deleted) == 0 {
		return fhir.NewOutcome("informational", fmt.Sprintf("no %s matches %s; nothing deleted", crit.Type, crit))
	}
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome"}
	for _, d := range deleted {
		oo.Issue = append(oo.Issue, deletedOutcome(d).Issue...)
	}
	return oo
}

// notModified reports whether a read's If-None-Match names the current
// version, or its If-Modified-Since is not before the last update (HTTP
// compares whole seconds). If-None-Match wins when both are sent
// (RFC 9110 §13.1.3).
func notModified(r *http.Request, res subscription.Resource) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for part := range strings.SplitSeq(inm, ",") {
			part = strings.TrimSpace(part)
			if part == "*" {
				return true
			}
			if v, err := parseETag(part); err == nil && v == res.VersionID {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		if err != nil {
			return false // an unreadable date is ignored, as RFC 9110 asks
		}
		return !res.LastUpdated.Truncate(time.Second).After(t)
	}
	return false
}
